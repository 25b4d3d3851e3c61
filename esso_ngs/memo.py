"""One bounded cache keyed by objects' identity: for values derived from big frozen
objects (a Spec, a kernel) whose hashing by value would cost more than the lookup saves.

An entry holds its owner objects, so their ids cannot be reused while it lives, and
is a hit only for those very objects. When full, the least recently used entry goes
(not the whole cache: a long batch keeps its hot entries).
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityCache(Generic[V]):
    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._data: OrderedDict[Hashable, tuple[tuple[object, ...], V]] = OrderedDict()

    @staticmethod
    def _key(owners: tuple[object, ...], extra: Hashable) -> Hashable:
        return (tuple(id(o) for o in owners), extra)

    def get(self, owners: tuple[object, ...], extra: Hashable = ()) -> V | None:
        """The value stored for these very `owners` (and `extra`), or None."""
        key = self._key(owners, extra)
        hit = self._data.get(key)
        if hit is None or any(a is not b for a, b in zip(hit[0], owners)):
            return None
        self._data.move_to_end(key)
        return hit[1]

    def put(self, owners: tuple[object, ...], extra: Hashable, value: V) -> V:
        key = self._key(owners, extra)
        self._data[key] = (owners, value)
        self._data.move_to_end(key)
        while len(self._data) > self.maxsize:
            self._data.popitem(last=False)
        return value

    def __len__(self) -> int:
        return len(self._data)
