"""Ctrl-C: the process stops within a second with status 130 and leaves nothing half-written.

Python turns SIGINT into KeyboardInterrupt only between bytecodes of the main
thread, so a long call into C (a Z3 query above all) would hold it back; and Z3,
left alone, catches SIGINT itself and answers `unknown` (the search then carries on).
So `install()`:

- turns off Z3's own SIGINT handling (`lang/z3enc.py` sets `ctrl_c` false as it loads z3);
- routes SIGINT through a wake-up socket to a watcher thread, which interrupts the
  running Z3 query (`Z3_interrupt` is made to be called from another thread): the
  query returns and the main thread raises KeyboardInterrupt at once;
- if the main thread is still running `GRACE_S` later (stuck in other C code), the
  watcher removes the temp files of writes in flight (`fsutil`) and ends the process
  with status 130.

`critical()` marks a few lines that must not be cut (committing a set of output
files, appending records): an interrupt inside it is raised when it ends.
"""
from __future__ import annotations

import os
import signal
import socket
import sys
import threading
import time
from contextlib import contextmanager
from typing import Any, Iterator

from .limits import EXIT_INTERRUPTED

GRACE_S = 0.7
MESSAGE = b"esso-ngs: interrupted\n"

_lock = threading.Lock()
_installed = False
_wakeup: tuple[socket.socket, socket.socket] | None = None  # kept open while the process runs
_handled = threading.Event()  # the main thread caught the interrupt and is on its way out
_critical = 0
_pending = False
_budgets: list["Budget"] = []  # Budgets running now (main thread)
_received = False  # a SIGINT arrived (Python may wrap the KeyboardInterrupt in another error)


def install() -> None:
    """Route SIGINT as described above; idempotent, and a no-op outside the main thread."""
    global _installed, _wakeup
    with _lock:
        if _installed or threading.current_thread() is not threading.main_thread():
            return
        if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
            return  # started with SIGINT ignored (nohup, a background job): keep it so
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        signal.signal(signal.SIGINT, _on_sigint)
        sys.unraisablehook = _on_unraisable
        _wakeup = (reader, writer)
        threading.Thread(target=_watch, args=(reader,), name="esso-ngs-sigint", daemon=True).start()
        _installed = True


def was_interrupted() -> bool:
    """Whether Ctrl-C was pressed: an error raised after it is its echo, not a bug
    (class creation during an import turns KeyboardInterrupt into RuntimeError)."""
    return _received


def _on_sigint(signum: int, frame: Any) -> None:  # runs in the main thread
    global _pending, _received
    _received = True
    if _critical:
        _pending = True
        return
    raise KeyboardInterrupt


def handled() -> None:
    """The main thread caught KeyboardInterrupt and is exiting: no second message."""
    _handled.set()


def _on_unraisable(unraisable: Any) -> None:
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        # Ctrl-C landed where Python cannot raise it (a callback of the import
        # machinery, a __del__) and would be printed and dropped: send it again, from
        # another thread, so that it lands in ordinary code of the main thread.
        if not _handled.is_set():
            threading.Timer(0.01, os.kill, (os.getpid(), signal.SIGINT)).start()
        return
    if _handled.is_set() and getattr(unraisable.object, "__module__", "").startswith("z3"):
        # A Z3 object whose constructor the interrupt cut short fails in its __del__ when
        # the interpreter tears down; that echo of the Ctrl-C is not worth a traceback.
        return
    sys.__unraisablehook__(unraisable)


def _watch(reader: socket.socket) -> None:
    while True:
        try:
            data = reader.recv(64)
        except OSError:
            return
        if signal.SIGALRM in data and _budgets:
            _interrupt_z3()  # a Budget ran out: its BudgetExceeded must not wait for Z3
        if signal.SIGINT not in data:
            continue
        _interrupt_z3()
        deadline = time.monotonic() + GRACE_S
        while time.monotonic() < deadline or _critical:
            time.sleep(0.02)
        hard_exit()


def _interrupt_z3() -> None:
    z3 = sys.modules.get("z3")
    if z3 is None:
        return
    try:
        z3.main_ctx().interrupt()
    except Exception:  # the context may be gone at exit: nothing to interrupt then
        pass


def hard_exit() -> None:
    """End the process now (status 130), removing the temp files of unfinished writes."""
    from .fsutil import in_flight

    if _handled.is_set():
        os._exit(EXIT_INTERRUPTED)
    for path in in_flight():
        try:
            os.unlink(path)
        except OSError:
            pass
    try:
        os.write(2, MESSAGE)
    finally:
        os._exit(EXIT_INTERRUPTED)


@contextmanager
def critical() -> Iterator[None]:
    """Defer Ctrl-C until the block ends (keep it short: a few file writes)."""
    global _critical, _pending
    _critical += 1
    try:
        yield
    finally:
        _critical -= 1
        if not _critical and _pending:
            _pending = False
            raise KeyboardInterrupt


class BudgetExceeded(BaseException):
    """The wall-clock budget of a command ran out; `where` says what it was doing.

    A BaseException, like KeyboardInterrupt: it can fire anywhere, and code that
    catches `Exception` to report a failure (a verifier bug, say) must not swallow it."""

    def __init__(self, seconds: float, where: str) -> None:
        self.seconds, self.where = seconds, where
        super().__init__(f"stopped at the {seconds:g} s budget while {where}")


class Budget:
    """A wall-clock budget for work without a budget of its own (grammar tools):
    SIGALRM raises BudgetExceeded in the main thread; `phase` names the step under way
    so the message says where it stopped."""

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds
        self.phase = "starting"

    def __enter__(self) -> "Budget":
        self._armed = bool(self.seconds) and threading.current_thread() is threading.main_thread()
        if self._armed:
            self._old = signal.signal(signal.SIGALRM, self._expired)
            self._old_timer = signal.setitimer(signal.ITIMER_REAL, self.seconds or 0)[0]
            self._start = time.monotonic()
            _budgets.append(self)
        return self

    def _expired(self, signum: int, frame: Any) -> None:
        raise BudgetExceeded(self.seconds or 0, self.phase)

    def __exit__(self, *exc: Any) -> None:
        if self._armed:
            _budgets.remove(self)
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, self._old)
            if self._old_timer:  # an outer timer keeps what is left of its time
                left = self._old_timer - (time.monotonic() - self._start)
                signal.setitimer(signal.ITIMER_REAL, max(left, 0.001))
