"""File-system helpers shared by the commands."""
from __future__ import annotations

import fcntl
import os
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import UserError

# The lock file of an output directory while a run writes there.
LOCK_NAME = ".esso-ngs.lock"

# Temp files of atomic writes under way and lock files held: a hard exit on Ctrl-C
# (interrupts.hard_exit) removes them.
_IN_FLIGHT: set[str] = set()
_IN_FLIGHT_LOCK = threading.Lock()


def in_flight() -> list[str]:
    with _IN_FLIGHT_LOCK:
        return sorted(_IN_FLIGHT)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8") -> Path:
    """Write `text` to `path` so readers see the old file or the new one, never half.

    Writes a temp file in the same directory (same file system, so `os.replace`
    is atomic), fsyncs it, then renames it over `path`. Parent dirs are created.
    """
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(tmp)
    try:
        with os.fdopen(fd, "w", encoding=encoding, newline="") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        # mkstemp makes the file private (0600); give it the mode a plain open would.
        os.chmod(tmp, _mode_for(target))
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(tmp)
    _fsync_dir(target.parent)
    return target


def _mode_for(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o777
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def _fsync_dir(directory: Path) -> None:
    """Make the rename durable; not possible everywhere (e.g. Windows): best effort."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def output_dir(path: str | Path, option: str = "--output") -> Path:
    """`path` as an output directory (created), or a one-line UserError before any work is done."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise UserError(f"{option} {p}: exists and is not a directory")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserError(f"{option} {p}: cannot create the directory: {exc.strerror or exc}") from None
    return p


def output_file(path: str | Path, option: str = "--output") -> Path:
    """`path` as an output file: refused before any work when it is a directory or its
    parent cannot be a directory."""
    p = Path(path)
    if p.is_dir():
        raise UserError(f"{option} {p}: is a directory, expected a file name")
    output_dir(p.parent, option)
    return p


@contextmanager
def locked_output_dir(path: str | Path, option: str = "--output") -> Iterator[Path]:
    """Hold `path` (created) for this run: a second run into it fails at once with a
    clear message instead of overwriting the first one's files (flock: released by
    the kernel even when the process dies)."""
    created = not Path(path).exists()
    directory = output_dir(path, option)
    lock = directory / LOCK_NAME
    for _ in range(3):
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise UserError(f"{option} {directory}: another esso-ngs run (pid {holder}) is writing there; "
                            "wait for it to finish or choose another directory") from None
        try:
            same = os.fstat(fd).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(fd)  # we locked a file its last holder had just removed: take the new one
    else:
        raise UserError(f"{option} {directory}: cannot lock {LOCK_NAME}")
    with _IN_FLIGHT_LOCK:
        _IN_FLIGHT.add(str(lock))
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield directory
    finally:
        with _IN_FLIGHT_LOCK:
            _IN_FLIGHT.discard(str(lock))
        try:
            os.unlink(lock)
            if created:
                directory.rmdir()  # a run that wrote nothing leaves no directory behind
        except OSError:
            pass
        os.close(fd)
