"""Reading SyGuS-IF: each supported form, and malformed files as one-line errors (exit 2)."""
from __future__ import annotations

from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.lang.expr import Const, Ite, Op, Var
from esso_ngs.lang.sexpr import to_sexpr
from esso_ngs.sygus import SygusError, load_problem, parse_problem

DATA = Path(__file__).parent / "data"
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sygus"

MAX2 = """
(set-logic LIA)
(synth-fun max2 ((x Int) (y Int)) Int)
(declare-var x Int)
(declare-var y Int)
(constraint (>= (max2 x y) x))
(constraint (>= (max2 x y) y))
(constraint (or (= x (max2 x y)) (= y (max2 x y))))
(check-synth)
"""


def test_default_grammar_and_one_shared_application() -> None:
    p = parse_problem(MAX2, "max2.sl")
    f = p.funs[0]
    assert f.default_grammar and f.sort == "Int" and f.params == ("x", "y")
    assert len(p.apps) == 1 and p.apps[0].args == (Var("x"), Var("y"))  # the same f(x, y) three times
    rules = dict(f.grammar.productions)[f.grammar.start]
    assert {"x", "y", "0", "1"} <= set(rules) and any(r.startswith("(ite") for r in rules)


def test_grammar_2_1_with_predeclared_nonterminals() -> None:
    p = load_problem(BENCH / "max3_grammar.sl")
    g = p.funs[0].grammar
    assert not p.funs[0].default_grammar
    assert [nt for nt, _ in g.productions] == ["N'Start", "N'B"] and g.start == "N'Start"
    assert "(ite N'B N'Start N'Start)" in dict(g.productions)["N'Start"]


def test_grammar_2_0_without_predeclaration() -> None:
    p = load_problem(DATA / "min3_v20.sl")
    assert dict(p.funs[0].grammar.productions)["N'Start"] == ("x", "y", "z", "(ite N'B N'Start N'Start)")


def test_constant_and_variable_in_grammar() -> None:
    p = parse_problem("""(set-logic LIA)
        (synth-fun f ((x Int) (b Bool)) Int ((S Int) (B Bool))
          ((S Int ((Constant Int) (Variable Int) (+ S S))) (B Bool ((Variable Bool)))))
        (declare-var x Int) (declare-var b Bool)
        (constraint (= (f x b) (+ x 7)))""")
    f = p.funs[0]
    assert f.approximate  # (Constant Int) stood for the literals of the problem
    assert set(dict(f.grammar.productions)["N'S"]) == {"0", "1", "7", "x", "(+ N'S N'S)"}
    assert dict(f.grammar.productions)["N'B"] == ("b",)


def test_define_fun_is_inlined_and_esso_operators_recognised() -> None:
    p = parse_problem("""(set-logic NIA)
        (define-fun safe_div ((a Int) (b Int)) Int (ite (= b 0) 0 (div a b)))
        (define-fun lo ((a Int) (b Int)) Int (ite (<= a b) a b))
        (define-fun double ((a Int)) Int (+ a a))
        (synth-fun f ((x Int) (y Int)) Int ((S Int)) ((S Int (x y (safe_div S S) (lo S S)))))
        (declare-var x Int) (declare-var y Int)
        (constraint (= (f x y) (double (safe_div x y))))""")
    assert p.constraints[0] == Op("=", (Var("?app0"), Op("+", (Op("safe_div", (Var("x"), Var("y"))),) * 2)))
    assert dict(p.funs[0].grammar.productions)["N'S"] == ("x", "y", "(safe_div N'S N'S)", "(min N'S N'S)")
    # `double` repeats its parameter: it is also an operator of its own, printed by its name
    (op,) = [k for k in p.aliases if k not in ("safe_div", "min")]
    assert p.aliases == {"safe_div": "safe_div", "min": "lo", op: "double"} and op.startswith("double'")


def test_let_distinct_chains_abs_and_negative_literals() -> None:
    p = parse_problem("""(set-logic LIA)
        (synth-fun f ((x Int)) Int)
        (declare-var x Int) (declare-var y Int)
        (constraint (let ((z (+ x 1))) (distinct z y (- 3))))
        (constraint (< 0 x (abs y)))
        (constraint (=> (> x 0) (> y 0) (= (f x) x)))""")
    c0, c1, c2 = p.constraints
    assert to_sexpr(c0) == "(and (!= (+ x 1) y) (!= (+ x 1) -3) (!= y -3))"
    assert c1 == Op("and", (Op("<", (Const(0), Var("x"))),
                            Op("<", (Var("x"), Ite(Op("<", (Var("y"), Const(0))), Op("-", (Var("y"),)), Var("y"))))))
    assert to_sexpr(c2) == "(=> (> x 0) (=> (> y 0) (= ?app0 x)))"  # => is right-associative


def test_several_synth_funs_and_nested_applications() -> None:
    p = parse_problem("""(set-logic LIA)
        (synth-fun f ((x Int)) Int) (synth-fun g ((x Int)) Int)
        (declare-var x Int)
        (constraint (= (f (g x)) x))""")
    assert [f.name for f in p.funs] == ["f", "g"]
    inner, outer = p.apps
    assert inner.fun == "g" and not inner.nested and outer.fun == "f" and outer.nested


def test_invariant_form_2_1() -> None:
    p = load_problem(BENCH / "inv_counter.sl")
    (task,) = p.invs
    assert p.funs[0].is_inv and p.funs[0].sort == "Bool"
    assert task.state == ("x",) and task.primed == ("x'",) and p.names.external("x'") == "x!"
    assert to_sexpr(task.trans) == "(and (< x 100) (= x' (+ x 1)))"
    assert len(p.constraints) == 3  # pre => inv, inv & trans => inv', inv => post


def test_invariant_form_2_0_with_declare_primed_var() -> None:
    p = load_problem(DATA / "inv_countdown_v20.sl")
    assert dict(p.variables) == {"x": "Int", "x'": "Int"} and len(p.invs) == 1


def test_symbols_outside_our_syntax_are_renamed_and_printed_back() -> None:
    p = parse_problem("""(set-logic LIA)
        (synth-fun min ((a-b Int)) Int)
        (declare-var x!1 Int)
        (constraint (= (min x!1) (+ x!1 1)))""")
    f = p.funs[0]
    assert f.params[0] != "a-b" and p.names.external(f.params[0]) == "a-b"
    from esso_ngs.sygus import format_solution
    text = format_solution(p, {"min": Op("+", (Var(f.params[0]), Const(1)))})
    assert "(define-fun min ((a-b Int)) Int (+ a-b 1))" in text


MALFORMED = {
    "unclosed": ("(set-logic LIA)\n(synth-fun f ((x Int)) Int\n(declare-var x Int)\n", ":2:", "never closed"),
    "extra_paren": ("(set-logic LIA))\n", ":1:", "')' without a matching '('"),
    "bitvec": ("(set-logic LIA)\n(synth-fun f ((x (_ BitVec 32))) (_ BitVec 32))\n", ":2:",
               "unsupported sort (_ BitVec 32)"),
    "unsupported_command": ("(declare-fun g (Int) Int)\n", ":1:", "unsupported command 'declare-fun'"),
    "unknown_command": ("(frobnicate)\n", ":1:", "unknown command 'frobnicate'"),
    "unknown_function": ("(synth-fun f ((x Int)) Int)\n(declare-var x Int)\n(constraint (= (f x) (g x)))\n",
                         ":3:", "unknown or unsupported function 'g'"),
    "unknown_symbol": ("(synth-fun f ((x Int)) Int)\n(constraint (= (f y) 0))\n", ":2:", "unknown symbol 'y'"),
    "bad_logic": ("(set-logic BV)\n(synth-fun f ((x Int)) Int)\n", ":1:", "unsupported logic BV"),
    "real_literal": ("(synth-fun f ((x Int)) Int)\n(declare-var x Int)\n(constraint (= (f x) 1.5))\n",
                     ":3:", "real literal"),
    "ill_sorted": ("(synth-fun f ((x Int)) Int)\n(declare-var x Int)\n(constraint (and (f x) true))\n",
                   ":3:", "must be Bool"),
    "no_synth_fun": ("(set-logic LIA)\n(declare-var x Int)\n", "", "nothing to synthesize"),
    "stray_text": ("(set-logic LIA)\nhello\n", ":2:", "text outside any command"),
    "grammar_sort": ("(synth-fun f ((x Int)) Int ((S Bool)) ((S Bool (true))))\n", ":1:", "returns Int"),
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_file_is_one_line_error_exit_2(name: str, tmp_path: Path, capsys) -> None:
    text, where, what = MALFORMED[name]
    path = tmp_path / f"{name}.sl"
    path.write_text(text)
    with pytest.raises(SygusError):
        load_problem(path)
    rc = main(["synth", str(path)])
    err = capsys.readouterr().err.strip()
    assert rc == 2
    assert len(err.splitlines()) == 1, err
    assert str(path) + where in err and what in err, err


def test_missing_file_is_an_error(tmp_path: Path, capsys) -> None:
    assert main(["synth", str(tmp_path / "nope.sl")]) == 2
    assert "cannot read" in capsys.readouterr().err
