"""Compilation (rules, sorts, caching) and `grammar check` diagnostics."""
from __future__ import annotations

import pytest

from esso_ngs.grammar import check_term, compile_grammar, diagnose, style_metrics
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats.model import GrammarSpec, Penalties, StyleProfile

from .helpers import AMBIGUOUS, FEE, FEE_STYLE, bench_grammar, bench_holes, make

HOLES = bench_holes()


def codes(g, hole_sort=None) -> dict[str, list]:
    out: dict[str, list] = {}
    for d in diagnose(g, hole_sort):
        out.setdefault(d.code, []).append(d)
    return out


def test_rules_and_slots():
    g = make(FEE, "Expr", FEE_STYLE)
    assert g.start == "Expr" and g.nonterminals == ("Const", "Term", "Expr")
    ite = g.rules["Expr"][2]
    assert ite.text == "(ite (<= Term Term) Expr Expr)"
    assert ite.slots == (((0, 0), "Term"), ((0, 1), "Term"), ((1,), "Expr"), ((2,), "Expr"))
    assert ite.template == parse_term("(ite (<= Term Term) Expr Expr)")
    assert g.rules["Expr"][0].is_unit and not ite.is_unit
    assert ite.own_nodes == 2 and ite.own_ites == 1
    filled = ite.instantiate([parse_term("amount"), parse_term("bps"), parse_term("1"), parse_term("0")])
    assert filled == parse_term("(ite (<= amount bps) 1 0)")


def test_sorts():
    g = make(AMBIGUOUS, "Expr")
    assert dict(g.sorts) == {"Expr": "Int", "Term": "Int", "Cond": "Bool"}
    g = make({"B": ["flag", "(not B)"]}, "B", variables={"flag": "Bool"})
    assert g.sorts["B"] == "Bool"
    # a unit-only nonterminal takes the sort of what it reaches
    g = make({"A": ["B"], "B": ["(< x 1)"]}, "A")
    assert g.sorts["A"] == "Bool"


def test_compile_is_cached():
    spec = GrammarSpec("G", "E", (("E", ("x", "(+ E E)")),))
    assert compile_grammar(spec, None, ["x"]) is compile_grammar(spec, None, ("x",))
    assert compile_grammar(spec) is not compile_grammar(spec, None, ["x"])


def test_clean_grammar_has_no_errors_or_warnings():
    found = codes(make(FEE, "Expr", FEE_STYLE, ["amount", "bps"]), "Int")
    assert set(found) <= {"counts", "finiteness"}
    assert "1:2, 2:0, 3:9" in found["counts"][0].message


def test_broken_grammar_diagnostics():
    g = make({
        "Expr": ["Term", "(+ Cond 1)", "(ite Term Expr Expr)", "Foo", "(+ Expr Dead)", "ghost",
                 "(* Term Term Term Term Term Term Term Term Term)"],
        "Term": ["amount", "bps"],
        "Cond": ["(< Term Term)"],
        "Dead": ["(+ Dead Dead)"],
        "Orphan": ["amount"],
        "Bad": ["(frob amount)"],
    }, "Expr", StyleProfile(max_nesting=0, max_branches=None, max_ast_nodes=8), ["amount", "bps"])
    found = codes(g, "Int")
    assert any("`Foo`" in d.message for d in found["undefined-nonterminal"])
    assert any("`ghost`" in d.message for d in found["unknown-variable"])
    assert any(d.nonterminal == "Orphan" for d in found["unreachable"])
    assert any(d.nonterminal == "Dead" for d in found["unproductive"])
    assert any(d.rule == "(+ Expr Dead)" for d in found["dead-rule"])
    types = " ".join(d.message for d in found["type-error"])
    assert "argument of + must be Int" in types and "ite condition must be Bool" in types
    assert any("frob" in d.message for d in found["rule-syntax"])
    fits = {d.rule: d.message for d in found["rule-never-fits"]}
    assert "(* Term Term Term Term Term Term Term Term Term)" in fits
    assert "(ite Term Expr Expr)" in fits and "max_nesting 0" in fits["(ite Term Expr Expr)"]
    assert "Term" not in fits


def test_rule_never_fits_counts_the_context():
    # Leaf rules of Inner are small, but Inner only occurs under a 7-node wrapper.
    g = make({"E": ["(+ x (+ x (+ x Inner)))"], "Inner": ["y", "(* y y)"]}, "E",
             StyleProfile(max_ast_nodes=7))
    fits = {d.rule for d in diagnose(g) if d.code == "rule-never-fits"}
    assert fits == {"(* y y)"}


def test_hole_sort_mismatch_and_shadowing():
    g = make({"E": ["(< x 1)"]}, "E", variables=["x", "E"])
    found = codes(g, "Int")
    assert "hole-sort" in found and "nonterminal-shadows-variable" in found


def test_empty_and_useless_languages():
    assert "empty-language" in codes(make({"S": ["(+ S S)"]}, "S"))
    assert "undefined-start" in codes(make({"S": ["x"]}, "T"))
    useless = codes(make({"S": ["(+ x (+ x (+ x S)))", "(- x (- x (- x x)))"]}, "S",
                         StyleProfile(max_ast_nodes=5)))
    assert "infinite-but-useless" in useless
    finite = codes(make({"S": ["(+ x (+ x (+ x x)))"]}, "S", StyleProfile(max_ast_nodes=5)))
    assert "no-term-fits" in finite
    assert "finite" in finite["finiteness"][0].message


def test_unit_cycle_is_an_info_and_harmless():
    g = make({"A": ["B", "x"], "B": ["A", "(+ A A)"]}, "A")
    assert "unit-cycle" in codes(g)
    assert check_term(g, "(+ x (+ x x))").ok


def test_style_metrics():
    p = StyleProfile(max_nesting=1, max_branches=1, max_ast_nodes=8, penalties=Penalties(5, 10, 1))
    s = style_metrics(parse_term("(ite (< a b) (ite (< a 1) a b) b)"), p)
    assert (s.nodes, s.nesting, s.branches) == (11, 2, 2)
    assert s.cost == 5 * 2 + 10 * 2 + 11
    assert not s.fits and len(s.violations) == 3
    assert style_metrics(parse_term("(+ a b)"), p).fits


@pytest.mark.skipif(not HOLES, reason="benchmarks/specs not present")
@pytest.mark.parametrize("h", HOLES, ids=[h.id for h in HOLES])
def test_benchmark_grammars_have_no_errors(h):
    from .helpers import load_bench_spec
    g = bench_grammar(h)
    hole_type = load_bench_spec(h.prefix).hole(h.hole_id).type  # type: ignore[attr-defined]
    errors = [d.render() for d in diagnose(g, hole_type) if d.severity == "error"]
    assert errors == []
