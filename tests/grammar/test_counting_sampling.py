"""Exact counts by size against brute force; uniform sampling."""
from __future__ import annotations

from collections import Counter

import pytest

from esso_ngs.grammar import check_term, count_by_size, lark_text, sample_terms
from esso_ngs.grammar.counting import term_counter
from esso_ngs.lang.expr import node_count
from esso_ngs.lang.sexpr import to_sexpr

from .helpers import (
    AMBIGUOUS,
    FEE,
    FEE_STYLE,
    UNIT_CYCLE,
    bench_grammar,
    bench_holes,
    enumerate_terms,
    make,
)

HOLES = bench_holes()
SMALL = {"fee": (FEE, "Expr"), "ambiguous": (AMBIGUOUS, "Expr"), "unit_cycle": (UNIT_CYCLE, "A"),
         "bool": ({"B": ["(and B B)", "(not B)", "(< E E)", "true"], "E": ["x", "(+ E 1)"]}, "B")}


def _agree(g, max_size: int) -> None:
    brute = enumerate_terms(g, max_size)
    counts = count_by_size(g, max_size)
    assert counts[0] == 0 and len(counts) == max_size + 1
    for size, terms in brute.items():
        assert counts[size] == len(terms), (size, counts, {s: len(t) for s, t in brute.items()})
        for t in list(terms)[:50]:  # and enumerated terms are members
            assert check_term(g, t).ok, to_sexpr(t)


@pytest.mark.parametrize("name", sorted(SMALL))
def test_counts_match_brute_force_small(name):
    prods, start = SMALL[name]
    _agree(make(prods, start), 9)


def test_ambiguous_grammar_counts_distinct_terms():
    g = make(AMBIGUOUS, "Expr")
    # size 1: amount, 1 (amount derives two ways, counted once)
    assert count_by_size(g, 1) == [0, 2]


@pytest.mark.skipif(not HOLES, reason="benchmarks/specs not present")
@pytest.mark.parametrize("h", HOLES, ids=[h.id for h in HOLES])
def test_counts_match_brute_force_benchmarks(h):
    g = bench_grammar(h)
    limit = min(g.style.max_ast_nodes or 8, 9) if g.style else 8
    _agree(g, limit)


@pytest.mark.skipif(not HOLES, reason="benchmarks/specs not present")
@pytest.mark.parametrize("h", HOLES, ids=[h.id for h in HOLES])
def test_samples_are_members_and_parse(h):
    from .engines import lark_accepts
    g = bench_grammar(h)
    terms = sample_terms(g, 15, seed=3)
    assert terms
    text = lark_text(g)
    for t in terms:
        assert check_term(g, t).ok, to_sexpr(t)
        assert lark_accepts(text, to_sexpr(t)), to_sexpr(t)
        assert node_count(t) <= (g.style.max_ast_nodes or 10)


def test_sampling_is_deterministic_and_bounded():
    g = make(FEE, "Expr", FEE_STYLE)
    a = [to_sexpr(t) for t in sample_terms(g, 20, seed=7)]
    b = [to_sexpr(t) for t in sample_terms(g, 20, seed=7)]
    assert a == b
    assert a != [to_sexpr(t) for t in sample_terms(g, 20, seed=8)]
    assert all(node_count(t) <= 5 for t in sample_terms(g, 30, seed=1, max_size=5))


def test_sampling_is_uniform_within_a_size():
    g = make(FEE, "Expr")
    # size 3 has 9 terms: draw many of that size only and look at the spread
    import random
    rng = random.Random(0)
    draws = Counter(to_sexpr(term_counter(g).sample_term(rng, 3)) for _ in range(2700))
    assert len(draws) == 9
    assert min(draws.values()) > 200 and max(draws.values()) < 400  # expected 300 each


def test_sampling_picks_sizes_uniformly():
    g = make(FEE, "Expr", FEE_STYLE)  # sizes with terms up to 8: 1, 3, 5, 6, 8
    sizes = Counter(node_count(t) for t in sample_terms(g, 1000, seed=0))
    assert set(sizes) == {1, 3, 5, 6, 8}
    assert min(sizes.values()) > 150


def test_empty_language_counts_and_samples():
    g = make({"S": ["(+ S S)"]}, "S")
    assert count_by_size(g, 5) == [0] * 6
    assert sample_terms(g, 5) == []
