"""Budgets that hold: `--timeout-ms` counts from the process start, no Z3 call gets
more than the time left, an overrunning step is cut by the alarm with the partial
state reported, and `synth FILE.sl` never imports the ESSO pipeline or the models."""
from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import importlib

import pytest

from esso_ngs import clock
from esso_ngs.cli import sygus_cmd
from esso_ngs.cli.main import main
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.sygus import check, load_problem, parse_problem
from esso_ngs.sygus.check import check_formula, z3_limit_ms

# `esso_ngs.sygus.solve` is also the name of the function the package exports.
solve_module = importlib.import_module("esso_ngs.sygus.solve")
BENCH = Path(__file__).resolve().parents[2] / "benchmarks" / "sygus"
# Not in the default LIA grammar: the search runs until its budget ends.
UNSOLVABLE = ("(set-logic LIA)\n(synth-fun f ((x Int)) Int)\n(declare-var x Int)\n"
              "(constraint (= (f x) (* x x)))\n")


def test_z3_limit_is_capped_by_the_time_left() -> None:
    now = time.perf_counter()
    assert z3_limit_ms(5000, None) == 5000
    assert 0 < z3_limit_ms(5000, now + 2.0) <= 2000  # 2 s left: never the 5 s cap
    assert z3_limit_ms(500, now + 60.0) == 500  # plenty left: the cap
    assert z3_limit_ms(5000, now - 1.0) <= 0  # past the deadline: no time at all


def test_no_z3_query_runs_past_the_deadline() -> None:
    p = load_problem(BENCH / "max2.sl")
    passed = time.perf_counter() - 1.0
    # The integer query and the bit-vector fallback both see the deadline.
    status, cex, reason = check_formula(p.constraints[0], {**p.var_sorts, p.apps[0].var: "Int"}, 5000, passed)
    assert (status, cex) == ("unknown", None) and "time limit" in reason
    verdict = check(p, {"max2": parse_term("(ite (>= x y) x y)")}, 5000, deadline=passed)
    assert verdict.status == "unknown" and "time limit" in verdict.reason
    assert check(p, {"max2": parse_term("(ite (>= x y) x y)")}, 5000).ok  # the same term, with time: proved


def test_budget_counts_from_the_process_start(tmp_path: Path, monkeypatch, capsys) -> None:
    path = tmp_path / "square.sl"
    path.write_text(UNSOLVABLE)
    # This process "started" 29 s ago: of a 30 s budget, less than the output reserve is left.
    monkeypatch.setattr(clock, "process_age_s", lambda: 29.0)
    monkeypatch.setattr(sys, "argv", ["esso-ngs", "synth", str(path), "--timeout-ms", "30000", "--json"])
    assert main() == 1
    record = json.loads(capsys.readouterr().out)
    assert record["status"] == "timeout" and "time limit" in record["reason"]
    assert record["timeout_s"] == 30.0
    # The search got the 0.05 s floor, not 30 s (nor the 28.6 s left after the reserve
    # when counted from the command line).
    assert record["strategies"] and sum(s["share_s"] for s in record["strategies"]) <= 0.05


def test_in_process_calls_count_from_the_call(monkeypatch) -> None:
    monkeypatch.setattr(clock, "process_age_s", lambda: 1000.0)
    before = time.perf_counter()
    clock.mark_command_start(from_process_start=False)
    assert clock.command_start() >= before  # a test's or library's call: its own start
    clock.mark_command_start(from_process_start=True)
    assert clock.command_start() <= before - 999.0


def test_solve_deadlines_leave_output_and_alarm_margins() -> None:
    search_end, alarm_at = sygus_cmd.solve_deadlines(30_000, 100.0)
    assert search_end < alarm_at < 130.0
    assert alarm_at >= 100.0 + 30.0 * 0.95  # the alarm itself stays within the 5% promise


def test_alarm_cuts_a_step_that_ignores_the_deadline(monkeypatch) -> None:
    # A grammar of its own: enumerative CEGIS is the only strategy.
    problem = parse_problem("(set-logic LIA)\n(synth-fun f ((x Int)) Int ((S Int (x 0 1 (+ S S)))))\n"
                            "(declare-var x Int)\n(constraint (= (f x) (* x x)))\n")

    def stuck(run, funs, cidx, product):
        run.result.last_candidate = "(+ x 1)"
        time.sleep(120)  # like a C call that never looks at the clock
        raise AssertionError("the alarm did not fire")

    monkeypatch.setattr(solve_module, "_cegis", stuck)
    clock.mark_command_start(from_process_start=False)
    result = sygus_cmd.solve_within(problem, 1500, 0, None)
    assert result.status == "timeout"
    assert "alarm" in result.reason and "(+ x 1)" in result.reason  # the best partial state
    assert [(s["strategy"], s["outcome"]) for s in result.strategies] == [("cegis", "running")]


def test_sl_files_do_not_import_the_pipeline_or_models() -> None:
    code = ("import json, sys\nfrom esso_ngs.cli.main import main\n"
            f"rc = main(['synth', {str(BENCH / 'max2.sl')!r}, '--timeout-ms', '60000'])\n"
            "heavy = sorted(m for m in sys.modules if m.startswith(('esso_ngs.pipeline', 'esso_ngs.neural', "
            "'esso_ngs.cli.synth_cmd', 'torch', 'mlx', 'transformers')))\n"
            "print(json.dumps({'rc': rc, 'heavy': heavy}))\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report == {"rc": 0, "heavy": []}


@pytest.mark.parametrize("option", [["--hints", "h.json"], ["--model", "tiny"], ["--intent", "notes"]])
def test_esso_only_options_are_refused_for_sl_files(option: list[str], capsys) -> None:
    assert main(["synth", str(BENCH / "max2.sl"), *option]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and option[0] in err and "SyGuS-IF" in err
