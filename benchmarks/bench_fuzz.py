"""Fuzz benchmark: the seeded hostile-input corpus through the CLI, and how fast Ctrl-C ends a run.

    python benchmarks/bench_fuzz.py [--seed S] [--mutations N] [--no-signals] [--write]

Runs every case of `tests/fuzz/fuzzgen.py` (targeted cases per class of issue 11
plus N random mutations) in-process and prints, per class: cases, clean errors
(exit 2 with one line), valid answers (0/1 as the case allows), tracebacks, partial
files, budgets held (the case finished within its wall-clock budget) and the slowest
case. Then Ctrl-C latency: `esso-ngs` in a subprocess, SIGINT inside a Z3 query and
during enumeration, seconds until it exits (the goal is under 1 s, status 130).
Ends with one summary line. `--write` saves the output to
benchmarks/results/fuzz.md. A few minutes on 2 cores.
"""
from __future__ import annotations

import argparse
import io
import sys
import tempfile
import time
from collections import defaultdict
from contextlib import redirect_stdout
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.fuzzgen import Outcome, cases, run_case  # noqa: E402
from tests.fuzz.test_interrupts import CUBES, cli_argv, interrupt  # noqa: E402


def corpus_table(outcomes: list[Outcome]) -> tuple[list[str], dict[str, int]]:
    by_class: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        by_class[o.case.cls].append(o)
    lines = ["| class | cases | clean errors (exit 2) | valid answers (0/1) | tracebacks | other problems "
             "| budgets held | slowest |", "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |"]
    total: dict[str, int] = defaultdict(int)
    for cls in sorted(by_class):
        group = by_class[cls]
        row = {"cases": len(group),
               "clean": sum(o.rc == 2 and o.ok for o in group),
               "valid": sum(o.rc in (0, 1) and o.ok for o in group),
               "tracebacks": sum(bool(o.traceback or "Traceback" in o.stderr) for o in group),
               "problems": sum(not o.ok and not o.traceback for o in group),
               "budgets": sum(o.within_budget for o in group)}
        for k, v in row.items():
            total[k] += v
        slow = max(group, key=lambda o: o.seconds)
        lines.append(f"| {cls} | {row['cases']} | {row['clean']} | {row['valid']} | {row['tracebacks']} | "
                     f"{row['problems']} | {row['budgets']}/{row['cases']} | {slow.seconds:.2f} s ({slow.case.name}) |")
    return lines, total


def ctrl_c_latency(workdir: Path) -> list[tuple[str, float, int]]:
    (workdir / "cubes.sl").write_text(CUBES)
    (workdir / "sol.txt").write_text("(define-fun f ((x Int)) Int 33)\n")
    runs = [("inside a Z3 query", cli_argv("sygus", "check", "cubes.sl", "sol.txt", "--timeout-ms", "600000"),
             2.0, "ready"),
            ("during enumeration", cli_argv("synth", str(ROOT / "benchmarks/specs_hard/dyn_fee_hole.yaml"), "-v",
                                            "--output", str(workdir / "out")), 0.5, "] level ")]
    out = []
    for label, argv, delay, after in runs:
        rc, _, seconds = interrupt(argv, delay, workdir, after)
        out.append((label, seconds, rc))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--mutations", type=int, default=200)
    ap.add_argument("--no-signals", action="store_true", help="skip the Ctrl-C latency runs")
    ap.add_argument("--write", action="store_true", help="save the output to benchmarks/results/fuzz.md")
    args = ap.parse_args()
    corpus = cases(args.seed, args.mutations)
    report: list[str] = []
    with tempfile.TemporaryDirectory() as tmp:
        start = time.perf_counter()
        outcomes = []
        for case in corpus:
            with redirect_stdout(io.StringIO()):
                outcomes.append(run_case(case, Path(tmp)))
        corpus_s = time.perf_counter() - start
        lines, total = corpus_table(outcomes)
        report += [f"Corpus: seed {args.seed}, {len(corpus)} inputs ({args.mutations} random mutations), "
                   f"{corpus_s:.0f} s in-process", ""] + lines
        for o in outcomes:
            if not o.ok:
                report.append(f"- {o.case.name}: {o.problems}")
        latency = [] if args.no_signals else ctrl_c_latency(Path(tmp))
    if latency:
        report += ["", "| Ctrl-C | seconds to exit | status |", "| --- | ---: | ---: |"]
        report += [f"| {label} | {s:.2f} | {rc} |" for label, s, rc in latency]
    worst = max((s for _, s, _ in latency), default=None)
    summary = (f"fuzz: {len(corpus)} inputs, {total['clean']} clean errors, {total['valid']} valid answers, "
               f"{total['tracebacks']} tracebacks, {total['problems']} other problems, "
               f"{total['budgets']}/{len(corpus)} budgets held"
               + (f"; Ctrl-C exit within {worst:.2f} s" if worst is not None else ""))
    report += ["", summary]
    text = "\n".join(report) + "\n"
    print(text, end="")
    if args.write:
        target = ROOT / "benchmarks" / "results" / "fuzz.md"
        target.write_text("# bench_fuzz.py (2-core machine shared with other jobs: times are noisy)\n\n"
                          "```\n" + text + "```\n")
    ok = total["tracebacks"] == 0 and total["problems"] == 0 and all(rc == 130 for _, _, rc in latency)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
