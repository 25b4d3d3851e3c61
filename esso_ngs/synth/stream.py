"""Hints for one hole that arrive while the synthesizer runs.

A producer (a model generating hints in a background thread, or a hints file read
at once) `put`s ranked hints and `close`s the stream when it has no more; the
synthesizer reads what is new between enumeration levels (each reader keeps its
own position: a hole solved again in a joint search reads the stream again) and `cancel`s the
stream once hints can no longer help (the hole is solved and proven minimal), so
that the producer can stop early. Thread-safe; never blocks.
"""
from __future__ import annotations

import threading
from typing import Iterable, Sequence

from .guidance import Hint


class HintStream:
    def __init__(self, hints: Iterable[Hint] = (), closed: bool = False) -> None:
        self._lock = threading.Lock()
        self._hints: list[Hint] = list(hints)
        self._closed = threading.Event()
        if closed:
            self._closed.set()
        self._cancelled = threading.Event()

    @classmethod
    def of(cls, hints: Sequence[Hint] | HintStream | None) -> HintStream:
        """A stream as given, or a closed one holding `hints` (all known up front)."""
        return hints if isinstance(hints, HintStream) else cls(hints or (), closed=True)

    def put(self, hints: Iterable[Hint]) -> None:
        """Append hints (ranked after those already put)."""
        with self._lock:
            self._hints.extend(hints)

    def close(self) -> None:
        self._closed.set()

    def wait_closed(self, timeout_s: float | None = None) -> bool:
        """Block until the producer is done (or `timeout_s` passes); True if it is."""
        return self._closed.wait(timeout_s)

    def since(self, seen: int) -> list[Hint]:
        """The hints after the first `seen`, in rank order."""
        with self._lock:
            return self._hints[seen:]

    @property
    def closed(self) -> bool:
        """No more hints will come."""
        return self._closed.is_set()

    def cancel(self) -> None:
        """The consumer needs no more hints: a producer should stop generating."""
        self._cancelled.set()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()
