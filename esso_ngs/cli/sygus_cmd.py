"""`esso-ngs sygus ...`: SyGuS-IF interop.

    esso-ngs sygus export SPEC... -o DIR     one .sl file per hole (SPEC: a spec or a folder of specs)
    esso-ngs sygus solve FILE.sl             same as `esso-ngs synth FILE.sl`
    esso-ngs sygus check FILE.sl SOLUTION    check define-funs (e.g. another solver's answer) with Z3
"""
from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

from .. import clock, interrupts
from ..errors import UserError
from ..fsutil import atomic_write_text, locked_output_dir
from ..formats import discover_specs, load_spec
from ..sygus import (SolveOptions, SolveResult, SygusProblem, check, format_solution, load_problem, read_solutions,
                     solve, write_exports)
from ..sygus.common import Trace

DEFAULT_TIMEOUT_MS = 60_000
# The budget counts from the process start (`clock`). The search ends this much before
# the budget does, leaving time to print the answer and for the interpreter's exit
# (0.5-1.5 s measured on a heavily loaded 2-core machine)...
OUTPUT_RESERVE_S = 0.5
OUTPUT_RESERVE_SHARE = 0.03
# ...and should a step overrun it (a Z3 query or a numpy call that does not look at
# the clock), an alarm cuts the search this much before the budget ends and the best
# partial state is reported.
ALARM_RESERVE_S = 0.2
ALARM_RESERVE_SHARE = 0.01


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("sygus", help="SyGuS-IF interop: export specs, solve and check .sl files",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    s = p.add_subparsers(dest="sygus_command", metavar="SUBCOMMAND")

    e = s.add_parser("export", help="write one SyGuS-IF 2.1 file per hole of each spec")
    e.add_argument("specs", nargs="+", metavar="SPEC", help="X_hole.yaml (or its .synth.json), or a folder of specs")
    e.add_argument("-o", "--output", required=True, metavar="DIR", help="where to write the .sl files")
    e.set_defaults(func=run_export)

    v = s.add_parser("solve", help="solve a SyGuS-IF file (0 solved, 1 not, 2 bad input)")
    add_solve_arguments(v)
    v.set_defaults(func=run_sl)

    c = s.add_parser("check", help="check a solution (define-funs) against a SyGuS-IF file with Z3 "
                                   "(0 valid, 1 invalid or undecided, 2 bad input)")
    c.add_argument("spec", metavar="FILE.sl")
    c.add_argument("solution", metavar="SOLUTION", help="a file holding the define-funs ('-': stdin)")
    c.add_argument("--timeout-ms", type=int, default=10_000, help="Z3 time limit per constraint")
    c.set_defaults(func=run_check)
    p.set_defaults(func=lambda _args: (p.print_help(), 2)[1])


def add_solve_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("spec", metavar="FILE.sl")
    p.add_argument("--timeout-ms", type=int, help=f"time budget (default {DEFAULT_TIMEOUT_MS})")
    p.add_argument("--seed", type=int, default=0, help="seed for the first random examples")
    p.add_argument("--json", action="store_true", help="print a JSON result instead of the solution")
    p.add_argument("-o", "--output", metavar="DIR", help="also write DIR/result.json (solution, status, times)")
    p.add_argument("-v", "--verbose", action="store_true", help="trace the search on stderr")


def run_export(args: argparse.Namespace) -> int:
    paths: list[Path] = []
    for item in args.specs:
        p = Path(item)
        paths.extend(discover_specs(p) if p.is_dir() else [p])
    if not paths:
        raise UserError(f"no spec found in {', '.join(args.specs)}")
    specs = [load_spec(path) for path in paths]  # every spec read before the first file is written
    with locked_output_dir(args.output, "-o"):
        for spec in specs:
            for written in write_exports(spec, args.output):
                print(written)
    return 0


def add_synth_parser(sub: argparse._SubParsersAction) -> None:
    """`esso-ngs synth FILE.sl`: the CLI routes .sl files here before the ESSO pipeline
    (and its models) is imported; the ESSO-only options of `synth` are refused (main.py)."""
    p = sub.add_parser("synth", help="solve a SyGuS-IF file (0 solved, 1 not, 2 bad input)")
    add_solve_arguments(p)
    p.set_defaults(func=run_sl)


def solve_deadlines(timeout_ms: int, start: float) -> tuple[float, float]:
    """(when the search must end, when the alarm cuts it), as `time.perf_counter()`
    values, for a budget of `timeout_ms` counted from `start`."""
    budget_s = timeout_ms / 1000
    end = start + budget_s
    return (end - OUTPUT_RESERVE_S - OUTPUT_RESERVE_SHARE * budget_s,
            end - ALARM_RESERVE_S - ALARM_RESERVE_SHARE * budget_s)


def solve_within(problem: SygusProblem, timeout_ms: int, seed: int, trace: Trace | None) -> SolveResult:
    """`solve` within a budget counted from the command's start (`clock.command_start`).
    The solver watches its own deadline; the alarm is the guarantee for a step that
    does not, and ends the search with status `timeout` and what was found so far."""
    search_end, alarm_at = solve_deadlines(timeout_ms, clock.command_start())
    result = SolveResult("unknown")
    started = time.perf_counter()
    try:
        with interrupts.Budget(max(0.001, alarm_at - started)) as alarm:
            alarm.phase = "solving"
            return solve(problem, SolveOptions(timeout_s=max(0.05, search_end - started), seed=seed), trace, result)
    except interrupts.BudgetExceeded:
        result.status, result.time_s = "timeout", time.perf_counter() - started
        last = f"; last candidate checked: {result.last_candidate}" if result.last_candidate else ""
        result.reason = f"time limit reached (the alarm stopped a step that overran the deadline){last}"
        if trace:
            trace(f"alarm: {result.reason}")
        return result


def run_sl(args: argparse.Namespace) -> int:
    """Solve a .sl file; also what `esso-ngs synth FILE.sl` runs."""
    problem = load_problem(args.spec)
    timeout_ms = args.timeout_ms or DEFAULT_TIMEOUT_MS
    trace = (lambda msg: print(msg, file=sys.stderr)) if args.verbose else None
    for note in problem.notes:
        if trace:
            trace(f"note: {note}")
    # With --output, the folder is held for the run (a second run into it fails at once).
    with locked_output_dir(args.output) if args.output else contextlib.nullcontext():
        result = solve_within(problem, timeout_ms, args.seed, trace)
        solution = format_solution(problem, result.terms) if result.solved else None
        record = {"file": args.spec, "status": result.status, "solution": solution, "reason": result.reason,
                  "time_s": round(result.time_s, 4), "timeout_s": timeout_ms / 1000, "rounds": result.rounds,
                  "candidates": result.candidates, "z3_calls": result.z3_calls, "methods": result.methods,
                  "strategies": result.strategies}
        if args.output:
            atomic_write_text(Path(args.output) / "result.json", json.dumps(record, indent=2) + "\n")
    if args.json:
        print(json.dumps(record, indent=2))
    elif solution is not None:
        print(solution)
    else:
        # SyGuS-IF 2.1 answers: `infeasible` when proved, `fail` otherwise.
        print("infeasible" if result.status == "infeasible" else "fail")
        print(f"esso-ngs: {result.status}: {result.reason}", file=sys.stderr)
    return 0 if result.solved else 1


def run_check(args: argparse.Namespace) -> int:
    problem = load_problem(args.spec)
    text = sys.stdin.read() if args.solution == "-" else _read(args.solution)
    terms = read_solutions(text, problem, args.solution)
    missing = [f.name for f in problem.funs if f.name not in terms]
    if missing:
        raise UserError(f"{args.solution}: no definition of {', '.join(missing)}")
    verdict = check(problem, terms, args.timeout_ms)
    if verdict.status == "invalid":
        i, cex = verdict.counterexamples[0]
        where = ", ".join(f"{problem.names.external(k)}={v}" for k, v in cex.items())
        print(f"invalid: constraint {i + 1} fails at {where}")
        return 1
    print(verdict.status + (f": {verdict.reason}" if verdict.reason else ""))
    return 0 if verdict.ok else 1


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError as err:
        raise UserError(f"{path}: cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError as err:
        raise UserError(f"{path}: not a text file (byte {err.start} is not UTF-8)") from None
