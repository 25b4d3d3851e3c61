"""Membership and explanations, on hand-made and benchmark grammars."""
from __future__ import annotations

import time

import pytest

from esso_ngs.grammar import Membership, check_term, in_language
from esso_ngs.lang.expr import Op, Path, Var, replace_at, walk
from esso_ngs.lang.sexpr import TermSyntaxError, parse_term, to_sexpr

from .helpers import (
    AMBIGUOUS,
    FEE,
    FEE_STYLE,
    UNIT_CYCLE,
    bench_grammar,
    bench_holes,
    make,
)

HOLES = bench_holes()


def fee():
    return make(FEE, "Expr", FEE_STYLE, ["amount", "bps", "reserve"])


def test_accepts_and_derivation():
    m = check_term(fee(), "(safe_div (* amount bps) 10000)")
    assert m.ok and m.canonical == "(safe_div (* amount bps) 10000)"
    assert m.derivation is not None
    assert m.derivation.rule.text == "(safe_div Term Const)"
    assert [c.rule.text for c in m.derivation.children] == ["(* amount bps)", "10000"]
    assert m.style is not None and m.style.nodes == 5 and m.style.cost == 5 and m.style.fits


def test_whitespace_and_redundant_parentheses_are_ignored():
    g = fee()
    for text in ["(safe_div  (*  amount bps)\n 10000 )", "((safe_div ((* amount bps)) 10000))",
                 " ( ite (<= amount bps) (amount) bps ) "]:
        m = check_term(g, text)
        assert m.ok, m.explanation
        assert m.canonical == to_sexpr(parse_term(text))


def test_unit_rule_derivation_chain():
    m = check_term(fee(), "amount")
    assert m.ok
    assert m.derivation.via == ("Expr", "Term")


def test_swapped_arguments_named():
    m = check_term(fee(), "(safe_div (* bps amount) 10000)")
    assert not m.ok
    assert m.failing_subterm == "(* bps amount)"
    assert m.expected == "Term"
    assert m.path == (0,)
    assert "(* amount bps)" in m.nearest_rules
    assert "argument order matters" in m.explanation


def test_issue_example_wording():
    g = make({"Term": ["amount_in", "fee_bps", "(* amount_in fee_bps)"],
              "Expr": ["(safe_div Term 10000)"]}, "Expr")
    m = check_term(g, "(safe_div (* fee_bps amount_in) 10000)")
    assert not m.ok
    assert m.explanation.startswith("`(* fee_bps amount_in)` is not a Term: Term allows `(* amount_in fee_bps)`")
    assert "argument order matters" in m.explanation


def test_literal_not_in_grammar():
    m = check_term(fee(), "(safe_div amount 7)")
    assert not m.ok and m.failing_subterm == "7" and m.expected == "Const"
    assert "literal 7" in m.explanation


def test_wrong_operator():
    m = check_term(fee(), "(+ amount bps)")
    assert not m.ok and m.failing_subterm == "(+ amount bps)"
    assert "`*`" in m.explanation and "operator `+`" in m.explanation


def test_unknown_and_unused_variables():
    g = fee()
    m = check_term(g, "(safe_div foo 100)")
    assert not m.ok and m.failing_subterm == "foo" and m.expected == "Term"
    assert "`foo` is not a variable of the hole's action(s)" in m.explanation
    m = check_term(g, "reserve")
    assert "`reserve` is a variable of the action, but no rule of the grammar uses it" in m.explanation
    m = check_term(make(FEE, "Expr"), "amout")  # no variables known
    assert "no rule of the grammar mentions `amout`" in m.explanation and "did you mean `amount`" in m.explanation


def test_wrong_sort_and_arity():
    g = make(AMBIGUOUS, "Expr")
    m = check_term(g, "(ite amount amount 1)")
    assert not m.ok and m.failing_subterm == "amount" and m.expected == "Cond"
    assert "Cond is Bool" in m.explanation
    m = check_term(g, "(+ amount 1 1)")
    assert not m.ok and "`+` takes 2 arguments here, not 3" in m.explanation


def test_nonterminal_name_as_term():
    m = check_term(fee(), "(safe_div Term 100)")
    assert not m.ok and "`Term` is a nonterminal name" in m.explanation


def test_style_reported_separately():
    m = check_term(fee(), "(ite (<= amount bps) (ite (<= amount bps) amount bps) bps)")
    assert m.ok  # in the language...
    assert m.style is not None and not m.style.fits  # ...but over the profile
    assert "over the style profile" in m.explanation and "max_ast_nodes 8" in m.explanation


def test_syntax_error():
    m = check_term(fee(), "(safe_div amount")
    assert not m.ok and m.syntax_error and m.term is None
    assert check_term(fee(), "(frobnicate amount)").syntax_error


def test_unit_cycle_grammar():
    g = make(UNIT_CYCLE, "A")
    for t in ["x", "y", "(+ x y)", "(- x 1)", "(+ (- y 1) (+ x x))"]:
        assert check_term(g, t).ok, t
    assert not check_term(g, "(- 1 x)").ok


def test_expr_input_and_fast_path():
    g = fee()
    e = parse_term("(ite (<= amount bps) amount (safe_div bps 100))")
    assert check_term(g, e).ok and in_language(g, e)
    assert not in_language(g, parse_term("(+ amount bps)"))


def test_check_is_fast():
    g = fee()
    terms = ["(ite (<= amount bps) amount (safe_div bps 100))", "(safe_div (* bps amount) 10000)",
             "(safe_div (* amount bps) 10000)", "amount"]
    exprs = [parse_term(t) for t in terms]
    n = 500
    t0 = time.perf_counter()
    for _ in range(n):
        for e in exprs:
            check_term(g, e)
    per = (time.perf_counter() - t0) / (n * len(exprs))
    assert per < 1e-3, f"{per * 1e6:.0f} us per check"


# ---------------------------------------------------------------- benchmark specs
pytestmark_bench = pytest.mark.skipif(not HOLES, reason="benchmarks/specs not present")


def _terms(values) -> list[str]:
    # manifest lists may carry prose notes; keep the terms
    out = []
    for v in values or ():
        try:
            parse_term(v)
            out.append(v)
        except TermSyntaxError:
            pass
    return out


@pytestmark_bench
@pytest.mark.parametrize("h", HOLES, ids=[h.id for h in HOLES])
def test_intended_and_listed_terms(h):
    g = bench_grammar(h)
    m = check_term(g, h.entry["intended"])
    assert m.ok, m.explanation
    assert m.style is not None and m.style.fits, m.style
    if "cost" in h.entry:
        assert m.style.cost == h.entry["cost"]
    if "ast_nodes" in h.entry:
        assert m.style.nodes == h.entry["ast_nodes"]
    for e in _terms(h.entry.get("equivalents")):
        assert check_term(g, e).ok, e
    not_in = set(h.entry.get("wrong_not_in_grammar", ()))
    for w in _terms(h.entry.get("wrong")):
        m = check_term(g, w)
        assert m.ok == (w not in not_in), (w, m.explanation)
        if not m.ok:
            assert m.failing_subterm and f"`{m.failing_subterm}`" in m.explanation


def _mutations(term):
    """(kind, mutated term, path of the mutation) for single-point mutations."""
    ops = {"+": "-", "-": "+", "*": "+", "safe_div": "safe_mod", "safe_mod": "safe_div",
           "div": "mod", "mod": "div", "<=": "<", "<": "<=", ">=": ">", ">": ">=", "min": "max",
           "max": "min", "and": "or", "or": "and", "=": "!=", "!=": "="}
    for p, node in walk(term):
        if isinstance(node, Op) and len(node.args) == 2 and node.args[0] != node.args[1]:
            yield "swap", replace_at(term, p, Op(node.op, node.args[::-1])), p
        if isinstance(node, Op) and node.op in ops:
            yield "operator", replace_at(term, p, Op(ops[node.op], node.args)), p
        if isinstance(node, Var):
            yield "variable", replace_at(term, p, Var("not_a_var")), p


def _is_prefix(a: Path, b: Path) -> bool:
    return b[: len(a)] == a


@pytestmark_bench
@pytest.mark.parametrize("h", HOLES, ids=[h.id for h in HOLES])
def test_mutations_rejected_with_the_right_subterm(h):
    g = bench_grammar(h)
    intended = parse_term(h.entry["intended"])
    seen = 0
    for kind, mutant, p in _mutations(intended):
        m: Membership = check_term(g, mutant)
        if m.ok:
            continue  # e.g. swapped arguments the grammar also allows
        seen += 1
        assert m.failing_subterm and m.path is not None and m.expected
        assert f"`{m.failing_subterm}`" in m.explanation
        # The blamed subterm contains the mutation (or, for a swap, is one of the
        # moved arguments): never an unrelated part of the term.
        if kind == "swap":
            assert _is_prefix(m.path, p) or (len(m.path) == len(p) + 1 and _is_prefix(p, m.path)), (mutant, m)
        else:
            assert _is_prefix(m.path, p), (to_sexpr(mutant), m.path, p, m.explanation)
        if kind == "variable":
            assert "`not_a_var` is not a variable of the hole's action(s)" in m.explanation
        if kind == "swap" and _is_prefix(m.path, p):
            assert "argument order matters" in m.explanation, m.explanation
        if kind == "operator" and m.path == p:
            assert "operator" in m.explanation or "no rule" in m.explanation, m.explanation
    assert seen > 0
