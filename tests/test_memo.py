"""The identity-keyed cache: hits only for the very owner objects, evicts least recently used."""
from __future__ import annotations

from esso_ngs.memo import IdentityCache


class _Owner:
    pass


def test_hits_only_the_same_objects_and_evicts_the_oldest() -> None:
    cache: IdentityCache[int] = IdentityCache(2)
    a, b, c = _Owner(), _Owner(), _Owner()
    cache.put((a,), "k", 1)
    cache.put((b,), "k", 2)
    assert cache.get((a,), "k") == 1  # a is now the most recent
    assert cache.get((a,), "other") is None and cache.get((c,), "k") is None
    cache.put((c,), "k", 3)  # evicts b, the least recently used, and nothing else
    assert len(cache) == 2
    assert cache.get((b,), "k") is None and cache.get((a,), "k") == 1 and cache.get((c,), "k") == 3
