"""cvc5 (PyPI `cvc5`, optional extra "peer") as a peer SyGuS solver and as a second checker.

The wheel has Python bindings only. What a probe of cvc5 1.4.2 taught us:
- SyGuS needs `sygus=true` and `incremental=false` (the API default `true` silently
  turns off single-invocation, PBE and unification);
- `tlimit-per` is not honoured inside checkSynth: run each problem in its own
  process and kill it at the limit. Run this file as a script for that
  (`python esso_ngs/sygus/cvc5_peer.py FILE --si MODE`): it then imports cvc5 and
  nothing of esso-ngs (no Z3, numpy...), so its start-up is cvc5's own;
- no single option set wins: cvc5's competition scripts try `sygus-si=all`, then `none`;
- its `infeasible` is not to be trusted on nonlinear problems: re-verify every answer.

Parsing needs the declarations invoked (the parser resolves symbols through the
solver), so "parse only" invokes every command except check-synth.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any


class Cvc5Unavailable(RuntimeError):
    pass


def _cvc5() -> Any:
    try:
        import cvc5  # optional dependency: imported only when used
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise Cvc5Unavailable("cvc5 is not installed (pip install cvc5==1.4.2)") from err
    return cvc5


def _solver(si: str | None = None, sygus: bool = True) -> tuple[Any, Any, Any]:
    cvc5 = _cvc5()
    tm = cvc5.TermManager()
    solver = cvc5.Solver(tm)
    if sygus:
        solver.setOption("sygus", "true")
        solver.setOption("incremental", "false")
        if si is not None:
            solver.setOption("sygus-si", si)
    return cvc5, solver, cvc5.SymbolManager(tm)


def parse_file(path: str | Path) -> int:
    """Parse a SyGuS-IF 2.1 file with cvc5 (declarations invoked, nothing solved).
    Returns the number of commands; raises RuntimeError when cvc5 rejects the file."""
    cvc5, solver, sm = _solver()
    parser = cvc5.InputParser(solver, sm)
    parser.setFileInput(cvc5.InputLanguage.SYGUS_2_1, str(path))
    count = 0
    while True:
        cmd = parser.nextCommand()
        if cmd.isNull():
            return count
        count += 1
        if not cmd.toString().startswith("(check-synth"):
            cmd.invoke(solver, sm)


def solve_file(path: str | Path, si: str = "all") -> dict[str, Any]:
    """Run cvc5 on a file: {"status": solved|infeasible|fail|error, "output", "time_s"}."""
    start = time.perf_counter()
    try:
        cvc5, solver, sm = _solver(si)
        parser = cvc5.InputParser(solver, sm)
        parser.setFileInput(cvc5.InputLanguage.SYGUS_2_1, str(path))
        output = ""
        # cvc5's command loop, as its API wants it; the solve loop below reads alike with other commands.
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            text = cmd.invoke(solver, sm)
            if cmd.toString().startswith("(check-synth"):
                output = text
    except RuntimeError as err:
        return {"status": "error", "output": str(err).split("\n")[0], "time_s": time.perf_counter() - start}
    answer = output.strip()
    status = "solved" if answer.startswith("(") else "infeasible" if answer == "infeasible" else "fail"
    return {"status": status, "output": answer, "time_s": time.perf_counter() - start}


# ---------------------------------------------------------------- cvc5 as a checker

def smt_check_text(path: str | Path, solution: str) -> str:
    """An SMT-LIB script that is unsat exactly when `solution` (define-funs) satisfies the
    SyGuS file's constraints: the file's definitions, the solution, the declared vars as
    constants, and the negated conjunction of the constraints (inv-constraints expanded)."""
    from esso_ngs.sygus.reader import read_file, show, sym  # here: the solving worker must start light
    commands = read_file(path)
    body = solution.strip()
    if body.startswith("(") and not body.startswith("(define-fun"):
        body = body[1:].rstrip()[:-1]  # the 2.1 wrapper around the definitions
    lines = ["(set-logic ALL)"]
    goals: list[str] = []
    invs: dict[str, list[tuple[str, str]]] = {}
    for cmd in commands:
        if cmd.head == "define-fun":
            lines.append(cmd.text)
        elif cmd.head in ("synth-inv", "synth-fun"):
            if cmd.head == "synth-inv":
                invs[sym(cmd.body[0]) or ""] = [(sym(p[0]) or "", show(p[1])) for p in cmd.body[1]]
        elif cmd.head == "declare-var":
            lines.append(f"(declare-const {sym(cmd.body[0])} {show(cmd.body[1])})")
        elif cmd.head == "declare-primed-var":
            lines.append(f"(declare-const {sym(cmd.body[0])} {show(cmd.body[1])})")
            lines.append(f"(declare-const {sym(cmd.body[0])}! {show(cmd.body[1])})")
        elif cmd.head in ("constraint", "assume"):
            # `( constraint ...)` is legal too: drop the parentheses, then the head.
            term = cmd.text.strip()[1:-1].strip()[len(cmd.head):].strip()
            (goals if cmd.head == "constraint" else lines).append(term if cmd.head == "constraint"
                                                                   else f"(assert {term})")
        elif cmd.head == "inv-constraint":
            inv, pre, trans, post = (sym(x) for x in cmd.body)
            params = invs.get(inv or "", [])
            here = [f"{n}__s" for n, _ in params]
            there = [f"{n}__t" for n, _ in params]
            for (_, s), a, b in zip(params, here, there):
                lines.append(f"(declare-const {a} {s})")
                lines.append(f"(declare-const {b} {s})")
            x, y = " ".join(here), " ".join(there)
            goals += [f"(=> ({pre} {x}) ({inv} {x}))",
                      f"(=> (and ({inv} {x}) ({trans} {x} {y})) ({inv} {y}))",
                      f"(=> ({inv} {x}) ({post} {x}))"]
    # The solution's definitions go after the file's own (they may use safe_div & co.).
    defs_at = max((i for i, ln in enumerate(lines) if ln.startswith("(define-fun")), default=0) + 1
    lines[defs_at:defs_at] = [body]
    conj = goals[0] if len(goals) == 1 else "(and " + " ".join(goals) + ")" if goals else "true"
    lines += [f"(assert (not {conj}))", "(check-sat)"]
    return "\n".join(lines) + "\n"


def check_solution(path: str | Path, solution: str) -> str:
    """"valid" | "invalid" | "unknown" | "error: ..." by cvc5's SMT solver."""
    cvc5, solver, sm = _solver(sygus=False)
    solver.setOption("produce-models", "false")
    parser = cvc5.InputParser(solver, sm)
    parser.setStringInput(cvc5.InputLanguage.SMT_LIB_2_6, smt_check_text(path, solution), "check")
    answer = ""
    try:
        # cvc5's command loop again (see check above): the API's idiom, different commands handled.
        while True:
            cmd = parser.nextCommand()
            if cmd.isNull():
                break
            out = cmd.invoke(solver, sm)
            if cmd.toString().startswith("(check-sat"):
                answer = out.strip()
    except RuntimeError as err:
        return "error: " + str(err).split("\n")[0]
    return {"unsat": "valid", "sat": "invalid"}.get(answer, "unknown")


def main(argv: list[str] | None = None) -> int:
    """Worker: one cvc5 run, one JSON line on stdout (the parent kills it at its limit)."""
    ap = argparse.ArgumentParser(prog="python -m esso_ngs.sygus.cvc5_peer")
    ap.add_argument("file")
    ap.add_argument("--si", default="all", help="sygus-si mode (all, none, use)")
    ap.add_argument("--check", metavar="SOLUTION_FILE", help="check a solution with cvc5's SMT solver instead")
    args = ap.parse_args(argv)
    if args.check:
        start = time.perf_counter()
        verdict = check_solution(args.file, Path(args.check).read_text())
        print(json.dumps({"check": verdict, "time_s": time.perf_counter() - start}))
        return 0
    print(json.dumps(solve_file(args.file, args.si)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
