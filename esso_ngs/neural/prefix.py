"""The prompt's static head (system message + few-shot examples) paid for once: its KV cache on disk.

Every hole's prompt starts with the same ~700 tokens; prefilling them costs
seconds on a CPU. The first process that prefills them writes their KV cache to
`$ESSO_NGS_CACHE/prefix-kv/`, keyed by the backend and framework version, the
model's hash and the exact token ids; every later process (and every batch
worker) loads it in milliseconds and prefills only the hole's own part.

Backends always prefill in the same two pieces (head, then the rest), whether
the head came from disk or not, so the samples are the same either way.
Writes are atomic; an unreadable entry is a miss (and is rewritten).
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

from .models import cache_dir

T = TypeVar("T")
_DISABLE_ENV = "ESSO_NGS_PREFIX_CACHE"  # "0": never read or write prefix caches


def prefix_cache_enabled() -> bool:
    return os.environ.get(_DISABLE_ENV, "1") != "0"


class PrefixStore:
    """One file per (backend, framework version, model hash, token ids)."""

    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "prefix-kv"

    def path(self, runtime: str, model_hash: str, ids: Sequence[int], suffix: str) -> Path:
        material = json.dumps({"runtime": runtime, "model": model_hash, "ids": [int(i) for i in ids]},
                              separators=(",", ":"))
        key = hashlib.sha256(material.encode()).hexdigest()[:32]
        return self.root / f"{runtime.split('-')[0]}-{key}{suffix}"

    def load(self, path: Path, read: Callable[[Path], T]) -> T | None:
        if not path.is_file():
            return None
        try:
            return read(path)
        except Exception:  # a torn or foreign file: recompute and overwrite
            return None

    def save(self, path: Path, write: Callable[[Path], None]) -> None:
        """Write through a temporary file in the same folder, then rename (atomic)."""
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=path.suffix)
            os.close(fd)
            try:
                write(Path(tmp))
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.unlink(tmp)
        except OSError:
            pass  # a read-only cache only costs the prefill next time


def cached_prefix(store: PrefixStore | None, path: Path | None, read: Callable[[Path], T],
                  compute: Callable[[], T], write: Callable[[Path, T], None]) -> tuple[T, bool]:
    """(the head's cache, whether it came from disk): loaded, or computed and saved."""
    if store is not None and path is not None:
        hit = store.load(path, read)
        if hit is not None:
            return hit, True
    value = compute()
    if store is not None and path is not None:
        store.save(path, lambda p: write(p, value))
    return value, False


def runtime_label(framework: str, *parts: Any) -> str:
    """`mlx-0.32.4-...`: a cache made by one framework version is not read by another."""
    from importlib.metadata import PackageNotFoundError, version
    try:
        v = version(framework)
    except PackageNotFoundError:
        v = "?"
    return "-".join([framework, v, *(str(p) for p in parts)])
