"""Random terms of a grammar, uniform by size, for authors to see what it allows.

"Uniform by size": first a size uniformly among 1..max_size that have terms
(so the few small terms are not drowned by the many large ones), then a term
uniformly among the distinct terms of that size (exact counts, see counting.py).
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING

from ..lang.expr import Expr
from .counting import count_by_size, term_counter

if TYPE_CHECKING:
    from .compile import CompiledGrammar

DEFAULT_MAX_SIZE = 10


def sample_terms(g: CompiledGrammar, n: int, seed: int = 0, max_size: int | None = None) -> list[Expr]:
    """`n` random terms, uniform by size: a size is drawn uniformly among the sizes
    1..max_size that have terms, then a term uniformly among those of that size."""
    if max_size is None:
        max_size = (g.style.max_ast_nodes if g.style is not None and g.style.max_ast_nodes
                    else DEFAULT_MAX_SIZE)
    counts = count_by_size(g, max_size)
    sizes = [s for s in range(1, max_size + 1) if counts[s] > 0]
    if not sizes or n <= 0:
        return []
    rng = random.Random(seed)
    out: list[Expr] = []
    for _ in range(n):
        size = rng.choice(sizes)
        term = term_counter(g).sample_term(rng, size)
        assert term is not None  # counts[size] > 0
        out.append(term)
    return out
