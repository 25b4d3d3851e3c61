"""Lark text: accepted by lark and llguidance, and meaning what `check` means."""
from __future__ import annotations

import pytest

from esso_ngs.grammar import EmptyLanguageError, bounded_lark_text, check_term, lark_text, sample_terms
from esso_ngs.grammar.lark_text import lark_name
from .engines import lark_accepts, lark_parser
from esso_ngs.lang.expr import ite_depth, node_count
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


def _llg():
    return pytest.importorskip("llguidance")


def _height(e) -> int:
    from esso_ngs.lang.expr import children
    return 1 + max((_height(k) for k in children(e)), default=0)


def _probe_terms(g, n: int = 20) -> list[str]:
    """Members (samples) and near misses (their mutations) in canonical form."""
    from .test_membership import _mutations
    out = []
    for t in sample_terms(g, n, seed=11):
        out.append(to_sexpr(t))
        out += [to_sexpr(m) for _, m, _ in list(_mutations(t))[:2]]
    return list(dict.fromkeys(out))


def test_text_shape():
    g = make(FEE, "Expr", FEE_STYLE)
    text = lark_text(g)
    assert "start: nt_expr" in text
    assert '"(" "safe_div" " " nt_term " " nt_const ")"' in text
    assert "%import" not in text and "%ignore" not in text


def test_rule_names_are_safe_and_distinct():
    g = make({"Expr": ["E", "x"], "E": ["EXPR", "y"], "EXPR": ["z"], "start": ["Expr"]}, "start")
    names = {lark_name(g, nt) for nt in g.nonterminals}
    assert len(names) == 4 and all(n.startswith("nt_") and n == n.lower() for n in names)
    lark_parser(lark_text(g))


@pytest.mark.parametrize("prods,start", [(FEE, "Expr"), (AMBIGUOUS, "Expr"), (UNIT_CYCLE, "A")])
def test_lark_agrees_with_check(prods, start):
    g = make(prods, start)
    text = lark_text(g)
    for t in _probe_terms(g):
        assert lark_accepts(text, t) == check_term(g, t).ok, t


def test_dead_parts_are_left_out():
    g = make({"S": ["x", "(+ S U)", "(- S S)"], "U": ["(+ U U)"], "Z": ["z"]}, "S")
    text = lark_text(g)
    assert "nt_u" not in text and "nt_z" not in text and "S U" not in text
    lark_parser(text)


def test_empty_language_raises():
    with pytest.raises(EmptyLanguageError):
        lark_text(make({"S": ["(+ S S)"]}, "S"))


def test_bounded_is_exactly_height_and_nesting():
    g = make(FEE, "Expr", FEE_STYLE)
    text = bounded_lark_text(g, max_nodes=8, max_nesting=1)
    assert "height <= 4" in text
    brute = enumerate_terms(g, 9)
    for terms in brute.values():
        for t in terms:
            want = _height(t) <= 4 and ite_depth(t) <= 1
            assert lark_accepts(text, to_sexpr(t)) == want, to_sexpr(t)
            if node_count(t) <= 8 and ite_depth(t) <= 1:
                assert want  # nothing within the limits is lost


def test_bounded_defaults_from_style_and_is_finite():
    g = make(AMBIGUOUS, "Expr", FEE_STYLE)
    text = bounded_lark_text(g)
    lark_parser(text)
    # finite: no bounded rule refers to itself or to a rule of the same height
    import re
    for line in text.splitlines():
        m = re.match(r"(nt_\w+?)__h(\d+)", line)
        if m:
            for ref in re.findall(r"(nt_\w+?)__h(\d+)", line.split(":", 1)[1]):
                assert int(ref[1]) <= int(m.group(2))
    with pytest.raises(EmptyLanguageError):
        bounded_lark_text(g, max_nodes=0)


@pytest.mark.skipif(not HOLES, reason="benchmarks/specs not present")
@pytest.mark.parametrize("h", HOLES, ids=[h.id for h in HOLES])
def test_benchmark_text_accepted_by_both_engines(h):
    from .engines import llguidance_accepts, llguidance_errors
    g = bench_grammar(h)
    full, bounded = lark_text(g), bounded_lark_text(g)
    lark_parser(full)
    lark_parser(bounded)
    _llg()
    assert llguidance_errors(full) == []
    assert llguidance_errors(bounded) == []
    intended = h.entry["intended"]
    for text in (full, bounded):
        assert lark_accepts(text, intended)
        assert llguidance_accepts(text, intended)
    for t in _probe_terms(g, 8):
        ok = check_term(g, t).ok
        assert lark_accepts(full, t) == ok, t
        assert llguidance_accepts(full, t) == ok, t
        if llguidance_accepts(bounded, t):  # constrained output always checks
            assert ok, t


def test_llguidance_prefix_hazard_avoided():
    """A rule atom that is a prefix of a longer rule text must still lex: the
    one-literal-per-word layout keeps llguidance's greedy lexer right."""
    _llg()
    from .engines import llguidance_accepts
    g = make({"E": ["(* amount bps)", "(* E E)", "amount", "amount_in", "fee", "1", "10", "-1"]}, "E")
    text = lark_text(g)
    for t in ["(* amount fee)", "(* amount bps)", "(* amount_in amount)", "(* 10 -1)", "(* 1 10)"]:
        assert llguidance_accepts(text, t), t
        assert lark_accepts(text, t), t
    for t in ["(* amount  fee)", "(* amountx fee)", "(*  1 10)", "(* 100 1)"]:
        assert not llguidance_accepts(text, t), t
