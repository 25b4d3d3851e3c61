"""Solving SyGuS problems: each supported form end to end, verdicts and the CLI's output."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.lang.sexpr import to_sexpr
from esso_ngs.sygus import SolveOptions, check, load_problem, parse_problem, read_solutions, solve

DATA = Path(__file__).parent / "data"
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sygus"
FAST = SolveOptions(timeout_s=20)


def solved(path_or_text: str | Path) -> dict[str, str]:
    p = load_problem(path_or_text) if isinstance(path_or_text, Path) else parse_problem(path_or_text)
    r = solve(p, FAST)
    assert r.status == "solved", r.reason
    assert check(p, r.terms).ok  # an independent Z3 check of the answer
    return {k: to_sexpr(v) for k, v in r.terms.items()}


@pytest.mark.parametrize("name", ["max2", "max3", "max3_grammar", "min3", "clamp", "array_search2",
                                  "fee_allowance", "pbe_linear", "define_fun_double"])
def test_linear_functions(name: str) -> None:
    assert solved(BENCH / f"{name}.sl")


def test_affine_template_for_functions_without_grammar() -> None:
    p = load_problem(BENCH / "big_coeff.sl")  # f(0), f(1), f(x) - f(x - 1): several applications
    r = solve(p, FAST)
    assert r.methods == {"f": "affine"} and to_sexpr(r.terms["f"]) == "(+ (* 1000 x) 12345)"
    assert solved(BENCH / "linear_coeffs.sl") == {"f": "(+ (* 3 x) (* -2 y) 7)"}


def test_default_grammar_scales_divides_and_returns_bool() -> None:
    assert solved(BENCH / "parity.sl")["parity"] == "(mod x 2)"
    assert solved(BENCH / "in_range.sl")
    assert solved(BENCH / "nia_poly.sl")


def test_grammar_2_0() -> None:
    assert solved(DATA / "min3_v20.sl")["min3"].startswith("(ite")


def test_dex_formulas_nonlinear() -> None:
    assert solved(BENCH / "fee_bps.sl") == {"fee": "(div (* amount bps) 10000)"}
    assert solved(BENCH / "swap_out_safe_div.sl") == {"out": "(safe_div (* rb ain) (+ ra ain))"}
    assert solved(BENCH / "round_up_div.sl") == {"up": "(div (+ a (- b 1)) b)"}


def test_two_coupled_functions() -> None:
    assert solved(BENCH / "two_funs.sl") == {"f": "(+ x 1)", "g": "(- x 1)"}  # affine, together
    p = parse_problem("""(set-logic LIA)
        (synth-fun f ((x Int)) Int ((S Int)) ((S Int (x 1 (+ S S) (- S S)))))
        (synth-fun g ((x Int)) Int ((S Int)) ((S Int (x 1 (+ S S) (- S S)))))
        (declare-var x Int)
        (constraint (= (+ (f x) (g x)) (+ x x)))
        (constraint (= (- (f x) (g x)) 2))""")
    r = solve(p, FAST)
    assert r.methods == {"f": "cegis-product", "g": "cegis-product"}
    assert {k: to_sexpr(v) for k, v in r.terms.items()} == {"f": "(+ x 1)", "g": "(- x 1)"}


def test_nested_applications() -> None:
    terms = solved("""(set-logic LIA)
        (synth-fun f ((x Int)) Int ((S Int)) ((S Int (x 1 (+ S S) (- S S)))))
        (declare-var x Int)
        (constraint (= (f (f x)) (+ x 2)))""")
    assert terms == {"f": "(+ x 1)"}


@pytest.mark.parametrize("path", [BENCH / "inv_counter.sl", BENCH / "inv_double_step.sl",
                                  BENCH / "inv_two_counters.sl", BENCH / "inv_three_phase.sl",
                                  DATA / "inv_countdown_v20.sl"], ids=lambda p: p.stem)
def test_invariants_by_ice(path: Path) -> None:
    p = load_problem(path)
    r = solve(p, FAST)
    assert r.status == "solved" and r.methods == {"inv": "ice"}
    assert check(p, r.terms).ok


def test_infeasible_when_a_finite_grammar_is_exhausted() -> None:
    p = parse_problem("""(set-logic LIA)
        (synth-fun f ((x Int)) Int ((S Int)) ((S Int (x 0 (+ x 1)))))
        (declare-var x Int)
        (constraint (= (f x) (+ x 2)))""")
    r = solve(p, FAST)
    assert r.status == "infeasible"


def test_no_invariant_when_a_reachable_state_violates_post() -> None:
    p = parse_problem("""(set-logic LIA)
        (synth-inv inv ((x Int)))
        (define-fun pre ((x Int)) Bool (= x 0))
        (define-fun trans ((x Int) (x! Int)) Bool (and (< x 5) (= x! (+ x 1))))
        (define-fun post ((x Int)) Bool (< x 3))
        (inv-constraint inv pre trans post)""")
    r = solve(p, FAST)
    assert r.status == "infeasible" and "reachable" in r.reason


def test_cli_prints_the_solution_and_exits_0(capsys) -> None:
    assert main(["synth", str(BENCH / "max2.sl")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("(\n(define-fun max2 ((x Int) (y Int)) Int (ite ")
    p = load_problem(BENCH / "max2.sl")
    assert check(p, read_solutions(out, p)).ok  # the printed answer reads back and is correct


def test_cli_unsolved_exits_1_and_json(tmp_path: Path, capsys) -> None:
    path = tmp_path / "none.sl"
    path.write_text("(synth-fun f ((x Int)) Int ((S Int)) ((S Int (x 0))))\n(declare-var x Int)\n"
                    "(constraint (= (f x) (+ x 1)))\n(check-synth)\n")
    assert main(["synth", str(path)]) == 1
    assert capsys.readouterr().out.strip() == "infeasible"
    assert main(["sygus", "solve", str(path), "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["status"] == "infeasible"


def test_cli_timeout_exits_1(tmp_path: Path, capsys) -> None:
    path = tmp_path / "hard.sl"
    path.write_text("(set-logic LIA)\n(synth-fun f ((x Int)) Int)\n(declare-var x Int)\n"
                    "(constraint (= (f x) (* x x)))\n")  # not in the default LIA grammar
    assert main(["synth", str(path), "--timeout-ms", "300"]) == 1
    assert capsys.readouterr().out.strip() == "fail"


def test_cli_check_of_another_solvers_answer(tmp_path: Path, capsys) -> None:
    sol = tmp_path / "answer.txt"
    sol.write_text("(define-fun inv ((x Int)) Bool (<= x 99))")
    assert main(["sygus", "check", str(BENCH / "inv_counter.sl"), str(sol)]) == 1
    assert "invalid" in capsys.readouterr().out
    sol.write_text("(\n(define-fun inv ((x Int)) Bool (not (>= x 101)))\n)")  # cvc5's answer
    assert main(["sygus", "check", str(BENCH / "inv_counter.sl"), str(sol)]) == 0
