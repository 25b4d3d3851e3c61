"""Side by side: cvc5 (PyPI, Python API) and esso-ngs on the same problems, same time limit.

    python benchmarks/bench_cvc5.py [--limit 20] [--only SUBSTRING ...] [--no-write]
    python benchmarks/bench_cvc5.py --suite DIR [--tracks clia inv general] [--limit 30]

With --suite: the public problems extracted into DIR by `extract_sygus.py` (never
committed), one row each, a table per track; writes benchmarks/results/sygus_public.*.

Problems: every hole of benchmarks/specs/ exported to SyGuS-IF 2.1 (into a temp
folder), and the .sl problems of benchmarks/sygus/. One process per problem and
tool, killed at the limit:
- cvc5: `python esso_ngs/sygus/cvc5_peer.py FILE --si MODE`, with the portfolio of
  cvc5's competition scripts: `sygus-si=all` for a quarter of the limit, then
  `none` for the rest (the column says which one answered). `infeasible` from cvc5
  is reported but never trusted (an old cvc5 said it of solvable problems).
- esso-ngs: `esso-ngs synth SPEC` on the spec itself (native), and
  `esso-ngs synth FILE.sl` on the exported file; `esso-ngs synth FILE.sl` on .sl problems.
Every answer is re-verified: on exported specs with esso-ngs's verifier (`verify`,
plus grammar membership and the style profile), on .sl problems with Z3 against the
constraints, and esso-ngs's .sl answers also with cvc5's SMT solver.
Sizes are AST nodes of the term in our expression tree (cvc5's `let`s expanded).
Writes benchmarks/results/cvc5_side_by_side.{md,csv}.
"""
from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from esso_ngs.grammar import check_term, grammar_for_hole, style_metrics
from esso_ngs.lang.expr import Expr, Op, node_count, transform, walk
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import load_spec
from esso_ngs.formats.load import discover_specs
from esso_ngs.formats.model import Spec
from esso_ngs.sygus import SygusError, check, export_spec, load_problem, read_solutions
from esso_ngs.sygus.terms import to_sygus
from esso_ngs.verify import VerifyOptions, verify_terms

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SPECS = HERE / "specs"
SYGUS = HERE / "sygus"
RESULTS = HERE / "results"
PY = sys.executable
# Run as a script, the cvc5 driver imports cvc5 only: its start-up is cvc5's own.
PEER = ROOT / "esso_ngs" / "sygus" / "cvc5_peer.py"


@dataclass
class Row:
    problem: str
    source: str  # "spec" (exported) or "sl"
    logic: str = ""
    cvc5_status: str = ""  # solved | timeout | fail | infeasible? | error | WRONG | solved (unverified)
    cvc5_mode: str = ""
    cvc5_time_s: float = 0.0
    cvc5_size: int | None = None
    cvc5_term: str = ""
    cvc5_note: str = ""
    esso_status: str = ""
    esso_time_s: float = 0.0
    esso_size: int | None = None
    esso_term: str = ""
    esso_note: str = ""
    esso_sl_status: str = ""  # exported specs: esso-ngs on the .sl file
    esso_sl_time_s: float | None = None
    esso_sl_size: int | None = None
    cvc5_checks_esso: str = ""  # cvc5's SMT solver on esso-ngs's answer (native answer for specs)
    extra: dict[str, Any] = field(default_factory=dict)


# ---------------------------------------------------------------- processes

def run_process(args: list[str], limit: float) -> tuple[str | None, float, bool]:
    """(stdout or None when killed, wall seconds, killed)."""
    start = time.perf_counter()
    try:
        proc = subprocess.run(args, capture_output=True, text=True, timeout=limit, cwd=ROOT, check=False,
                              env={**os.environ, "PYTHONPATH": str(ROOT)})
    except subprocess.TimeoutExpired:
        return None, time.perf_counter() - start, True
    return proc.stdout, time.perf_counter() - start, False


def last_json(text: str | None) -> dict[str, Any] | None:
    if not text:
        return None
    start = text.find("{")
    try:
        return json.loads(text[start:]) if start >= 0 else None
    except json.JSONDecodeError:
        return None


def run_cvc5(path: Path, limit: float) -> dict[str, Any]:
    """The si=all, then si=none portfolio within `limit` seconds in all."""
    spent = 0.0
    last = {"status": "timeout", "mode": "", "output": ""}
    for mode, share in (("all", 0.25), ("none", 1.0)):
        budget = limit * share if mode == "all" else limit - spent
        if budget <= 0.5:
            break
        out, wall, killed = run_process([PY, str(PEER), str(path), "--si", mode], budget)
        spent += wall
        data = last_json(out)
        if killed or data is None:
            last = {"status": "timeout" if killed else "error", "mode": mode, "output": ""}
            continue
        last = {**data, "mode": mode, "answer_s": data.get("time_s")}
        if data["status"] == "solved":
            break
        if data["status"] == "error":
            break  # a parse error will not go away with another mode
    last["time_s"] = spent  # the whole portfolio; `answer_s`: cvc5's own time in the run that answered
    return last


def run_esso(target: Path, limit: float, out_dir: Path) -> tuple[dict[str, Any] | None, float, bool]:
    args = [PY, "-m", "esso_ngs.cli.main", "synth", str(target), "--timeout-ms", str(int(limit * 1000)), "--json"]
    if target.suffix != ".sl":
        # The search against cvc5's: without the notes' formulas and the reference's term as hints.
        args += ["--output", str(out_dir), "--no-stated-hints"]
    # Grace for process start-up: the search itself stops at the limit.
    out, wall, killed = run_process(args, limit + 15)
    return last_json(out), wall, killed


def cvc5_check(path: Path, solution: str, tmp: Path, limit: float) -> str:
    sol = tmp / (path.stem + ".solution")
    sol.write_text(solution)
    out, _, killed = run_process([PY, str(PEER), str(path), "--check", str(sol)], limit)
    if killed:
        return "timeout"
    data = last_json(out)
    return data["check"] if data else "error"


# ---------------------------------------------------------------- re-verification

def esso_terms(spec: Spec, terms: dict[str, Expr]) -> dict[str, Expr]:
    """A solver's terms back in the spec's own operators: the export writes ESSO's
    `safe_div` as plain `div` where the divisor cannot be zero (same value)."""
    out = {}
    for hole_id, term in terms.items():
        g = grammar_for_hole(spec, hole_id)
        ops = {n.op for r in (r for rs in g.rules.values() for r in rs) for n in _ops(r.template)}
        rename = {a: b for a, b in (("div", "safe_div"), ("mod", "safe_mod")) if b in ops and a not in ops}
        out[hole_id] = rename_ops(term, rename)
    return out


def rename_ops(term: Expr, rename: dict[str, str]) -> Expr:
    return transform(term, lambda n: Op(rename[n.op], n.args) if isinstance(n, Op) and n.op in rename else None)


def _ops(e: Expr) -> list[Op]:
    return [n for _, n in walk(e) if isinstance(n, Op)]


def verify_spec_answer(spec: Spec, hole_id: str, terms: dict[str, Expr]) -> tuple[str, str]:
    """(verdict, notes) of terms for an exported hole under esso-ngs's verifier."""
    terms = esso_terms(spec, terms)
    verdict = verify_terms(spec, terms, VerifyOptions(timeout_ms=20_000), only=(hole_id,))
    notes = []
    g = grammar_for_hole(spec, hole_id)
    if not check_term(g, terms[hole_id]).ok:
        notes.append("not in the spec grammar")
    metrics = style_metrics(terms[hole_id], spec.synth.style)
    if not metrics.fits:
        notes.append("outside the style profile (" + "; ".join(metrics.violations) + ")")
    return verdict.status, "; ".join(notes)


def size_of(terms: dict[str, Expr]) -> int:
    return sum(node_count(t) for t in terms.values())


# ---------------------------------------------------------------- one problem

def run_cvc5_into(row: Row, path: Path, limit: float) -> dict[str, Any]:
    """Run cvc5 on `path` and record its status, mode and timing in `row`
    (`infeasible` is marked doubtful: cvc5 has answered it on solvable problems)."""
    c = run_cvc5(path, limit)
    row.cvc5_time_s, row.cvc5_mode = c["time_s"], c.get("mode", "")
    row.extra["cvc5_answer_s"] = c.get("answer_s")
    row.cvc5_status = c["status"] if c["status"] != "infeasible" else "infeasible?"
    if c["status"] == "error":
        row.cvc5_note = c.get("output", "")[:120]
    return c


def bench_exported(spec: Spec, hole_id: str, path: Path, logic: str, limit: float, tmp: Path,
                   native: dict[str, Any]) -> Row:
    row = Row(f"{spec.name}.{hole_id}", "spec", logic)
    problem = load_problem(path)
    c = run_cvc5_into(row, path, limit)
    if c["status"] == "solved":
        terms = read_solutions(c["output"], problem, "cvc5")
        status, notes = verify_spec_answer(spec, hole_id, terms)
        row.cvc5_size = size_of({hole_id: terms[hole_id]})
        row.cvc5_term = c["output"]
        row.cvc5_status = {"verified": "solved", "refuted": "WRONG"}.get(status, "solved (unverified)")
        row.cvc5_note = notes
    # esso-ngs native on the spec (all holes at once, shared per spec)
    h = native.get("result", {}).get("holes", {}).get(hole_id) if native.get("result") else None
    if h is None:
        row.esso_status = "timeout" if native.get("killed") else "error"
        row.esso_time_s = native.get("wall", 0.0)
    else:
        row.esso_status = {"solved": "solved"}.get(h["status"], h["status"])
        row.esso_time_s = native["wall"]
        row.extra["esso_search_s"] = h["time_s"]
        if h["status"] == "solved":
            term = parse_term(h["term"])
            row.esso_term, row.esso_size = h["term"], node_count(term)
            others = {k: parse_term(v["term"]) for k, v in native["result"]["holes"].items()
                      if k != hole_id and v.get("term")}
            v = verify_terms(spec, {**others, hole_id: term}, VerifyOptions(timeout_ms=20_000), only=(hole_id,))
            if v.status == "refuted":
                row.esso_status = "WRONG"
            row.esso_note = "" if v.ok else f"re-verification: {v.status}"
            # ... and cvc5's SMT solver on the exported file (ESSO operators written out in full)
            native_terms = {**others, hole_id: term}
            text = "\n".join(f"(define-fun {f.name} ({' '.join(f'({p} {t})' for p, t in zip(f.params, f.sorts))}) "
                             f"{f.sort} {to_sygus(native_terms[f.name], enums=spec.kernel.enum_index())})"
                             for f in problem.funs if f.name in native_terms)
            row.cvc5_checks_esso = cvc5_check(path, text, tmp, limit)
    # esso-ngs on the exported .sl
    data, wall, killed = run_esso(path, limit, tmp)
    row.esso_sl_time_s = wall
    if data is None:
        row.esso_sl_status = "timeout" if killed else "error"
    else:
        row.esso_sl_status = data["status"]
        if data["status"] == "solved":
            terms = read_solutions(data["solution"], problem, "esso-ngs")
            status, notes = verify_spec_answer(spec, hole_id, terms)
            row.esso_sl_size = size_of({hole_id: terms[hole_id]})
            if status == "refuted":
                row.esso_sl_status = "WRONG"
            sl_check = cvc5_check(path, data["solution"], tmp, limit)
            if sl_check != "valid":
                note = f"cvc5 check of .sl answer: {sl_check}"
                row.esso_note = f"{row.esso_note}; {note}" if row.esso_note else note
            if notes:
                row.esso_note = (row.esso_note + "; " if row.esso_note else "") + f".sl answer {notes}"
    return row


def progress_line(row: Row) -> str:
    """Both tools' outcome and time for one problem, as every suite prints it while running."""
    return (f"cvc5 {row.cvc5_status:10} {row.cvc5_time_s:6.2f}s | "
            f"esso-ngs {row.esso_status:8} {row.esso_time_s:6.2f}s")


def bench_sl(path: Path, limit: float, tmp: Path) -> Row:
    try:
        problem = load_problem(path)
    except SygusError as err:  # esso-ngs cannot read it: cvc5 alone
        row = Row(path.stem, "sl")
        run_cvc5_into(row, path, limit)
        row.esso_status, row.esso_note = "error", str(err)[:160]
        return row
    row = Row(path.stem, "sl", problem.logic)
    c = run_cvc5_into(row, path, limit)
    if c["status"] == "solved":
        terms = read_solutions(c["output"], problem, "cvc5")
        verdict = check(problem, terms, 20_000)
        row.cvc5_size, row.cvc5_term = size_of(terms), c["output"]
        row.cvc5_status = {"valid": "solved", "invalid": "WRONG"}.get(verdict.status, "solved (unverified)")
    data, wall, killed = run_esso(path, limit, tmp)
    row.esso_time_s = wall
    if data is None:
        row.esso_status = "timeout" if killed else "error"
        return row
    row.esso_status = data["status"]
    row.extra["esso_search_s"] = data["time_s"]
    if data["status"] == "solved":
        terms = read_solutions(data["solution"], problem, "esso-ngs")
        verdict = check(problem, terms, 20_000)
        row.esso_size, row.esso_term = size_of(terms), data["solution"]
        if verdict.status == "invalid":
            row.esso_status = "WRONG"
        row.cvc5_checks_esso = cvc5_check(path, data["solution"], tmp, limit)
        row.esso_note = ", ".join(f"{k}: {v}" for k, v in data.get("methods", {}).items())
    else:
        row.esso_note = data.get("reason", "")[:120]
    return row


# ---------------------------------------------------------------- report

def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        import cvc5
        cv = getattr(cvc5, "__version__", "?")
    except ImportError:
        cv = "not installed"
    import z3
    return (f"{os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, cvc5 {cv}, "
            f"z3 {z3.get_version_string()}")


def fmt_t(x: float | None) -> str:
    return "" if x is None else f"{x:.2f}"


def fmt_n(x: int | None) -> str:
    return "" if x is None else str(x)


def cvc5_cell(r: Row) -> str:
    """Status, and for an answer the mode that gave it with cvc5's own time in that run."""
    answer = r.extra.get("cvc5_answer_s")
    if r.cvc5_status == "solved" and r.cvc5_mode:
        return f"solved ({r.cvc5_mode}" + (f", {answer:.2f} s)" if answer is not None else ")")
    return r.cvc5_status


def markdown(rows: list[Row], limit: float, header: str, wall: float) -> str:
    def solved(r: Row, attr: str) -> bool:
        return getattr(r, attr) == "solved"

    out = [header, "",
           "| problem | logic | cvc5 | time s | size | esso-ngs | time s | size | esso-ngs on .sl | time s | notes |",
           "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- | ---: | --- |"]
    for r in rows:
        notes = "; ".join(n for n in (r.cvc5_note and f"cvc5: {r.cvc5_note}",
                                      r.esso_note and f"esso-ngs: {r.esso_note}",
                                      r.cvc5_checks_esso and r.cvc5_checks_esso != "valid"
                                      and f"cvc5 check of esso-ngs answer: {r.cvc5_checks_esso}") if n)
        out.append(f"| {r.problem} | {r.logic} | {cvc5_cell(r)} | {fmt_t(r.cvc5_time_s)} | "
                   f"{fmt_n(r.cvc5_size)} | {r.esso_status} | {fmt_t(r.esso_time_s)} | {fmt_n(r.esso_size)} | "
                   f"{r.esso_sl_status} | {fmt_t(r.esso_sl_time_s)} | {notes} |")
    for source, label in (("spec", "exported specs"), ("sl", ".sl problems")):
        rs = [r for r in rows if r.source == source]
        if not rs:
            continue
        out.append("")
        line = (f"**{label}** ({len(rs)}): cvc5 solved {sum(solved(r, 'cvc5_status') for r in rs)}, "
                f"esso-ngs solved {sum(solved(r, 'esso_status') for r in rs)}")
        if source == "spec":
            line += f" (on the exported .sl: {sum(r.esso_sl_status == 'solved' for r in rs)})"
        out.append(line + ".")
    both = [r for r in rows if solved(r, "cvc5_status") and solved(r, "esso_status")]
    if both:
        out.append("")
        out.append(f"Where both solved ({len(both)}): total time cvc5 {sum(r.cvc5_time_s for r in both):.1f} s, "
                   f"esso-ngs {sum(r.esso_time_s for r in both):.1f} s; total size cvc5 "
                   f"{sum(r.cvc5_size or 0 for r in both)}, esso-ngs {sum(r.esso_size or 0 for r in both)}.")
    out.append("")
    out.append(f"Whole run: {wall / 60:.1f} min.")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- public suites

def read_manifest(suite: Path) -> list[tuple[str, Path, str]]:
    """(track, file, source path) of a folder written by extract_sygus.py."""
    manifest = suite / "manifest.tsv"
    if not manifest.is_file():
        raise SystemExit(f"{manifest}: not found (write the folder with benchmarks/extract_sygus.py)")
    out = []
    for line in manifest.read_text(encoding="utf-8").splitlines():
        track, rel, src, _commit = line.split("\t")
        out.append((track, suite / rel, src))
    return out


def overshoot(r: Row, limit: float) -> float:
    """How far esso-ngs's process ran past the limit, as a fraction of it (0 when within)."""
    return max(0.0, r.esso_time_s / limit - 1)


def suite_markdown(rows: list[Row], limit: float, header: str, wall: float) -> str:
    out = [header, "",
           "| track | n | esso-ngs solved | cvc5 solved | both | median s where both (esso-ngs / cvc5) | "
           "total size where both (esso-ngs / cvc5) | wrong answers | max esso-ngs overshoot |",
           "| --- | ---: | ---: | ---: | ---: | --- | --- | ---: | ---: |"]
    tracks = sorted({r.extra["track"] for r in rows})
    for track in tracks + ["all"]:
        rs = [r for r in rows if track in ("all", r.extra["track"])]
        both = [r for r in rs if r.esso_status == "solved" and r.cvc5_status == "solved"]
        med = (f"{statistics.median(r.esso_time_s for r in both):.2f} / "
               f"{statistics.median(r.cvc5_time_s for r in both):.2f}") if both else ""
        size = f"{sum(r.esso_size or 0 for r in both)} / {sum(r.cvc5_size or 0 for r in both)}" if both else ""
        wrong = sum(r.esso_status == "WRONG" or r.cvc5_status == "WRONG" for r in rs)
        worst = max((overshoot(r, limit) for r in rs), default=0.0)
        out.append(f"| {track} | {len(rs)} | {sum(r.esso_status == 'solved' for r in rs)} | "
                   f"{sum(r.cvc5_status == 'solved' for r in rs)} | {len(both)} | {med} | {size} | {wrong} | "
                   f"{100 * worst:.1f}% |")
    out += ["", "| track | problem | cvc5 | time s | size | esso-ngs | time s | size | answered by | notes |",
            "| --- | --- | --- | ---: | ---: | --- | ---: | ---: | --- | --- |"]
    for r in rows:
        notes = "; ".join(n for n in (r.cvc5_note and f"cvc5: {r.cvc5_note}",
                                      r.esso_status != "solved" and r.esso_note and f"esso-ngs: {r.esso_note}",
                                      r.cvc5_checks_esso and r.cvc5_checks_esso != "valid"
                                      and f"cvc5 check of esso-ngs answer: {r.cvc5_checks_esso}") if n)
        out.append(f"| {r.extra['track']} | {r.problem} | {cvc5_cell(r)} | {fmt_t(r.cvc5_time_s)} | "
                   f"{fmt_n(r.cvc5_size)} | {r.esso_status} | {fmt_t(r.esso_time_s)} | {fmt_n(r.esso_size)} | "
                   f"{r.extra.get('answered_by', '')} | {notes.replace('|', '/')} |")
    out += ["", f"Whole run: {wall / 60:.1f} min."]
    return "\n".join(out) + "\n"


def code_state() -> str:
    """The commit benchmarked, and whether the work tree differs from it."""
    def git(*a: str) -> str:
        try:
            return subprocess.run(["git", *a], cwd=ROOT, capture_output=True, text=True, check=False).stdout.strip()
        except OSError:
            return ""
    head = git("rev-parse", "--short", "HEAD") or "unknown"
    branch = git("rev-parse", "--abbrev-ref", "HEAD")
    dirty = " with uncommitted changes" if git("status", "--porcelain", "--untracked-files=no") else ""
    return f"{branch + ' at ' if branch else ''}{head}{dirty}"


def load_summary(samples: list[float]) -> str:
    """1-minute load averages sampled before each problem: min / median / max."""
    if not samples:
        return "not measured"
    return (f"1-min load average {min(samples):.1f} / {statistics.median(samples):.1f} / {max(samples):.1f} "
            f"(min / median / max over the run) on {os.cpu_count()} cores, benchmark niceness {os.nice(0)}")


def over_budget_rows(rows: list[Row], limit: float, share: float = 0.05) -> list[str]:
    """The problems where esso-ngs's process ran past the limit by more than `share`."""
    return [f"{r.problem} ({r.esso_time_s:.2f} s, {100 * overshoot(r, limit):.1f}%)"
            for r in rows if overshoot(r, limit) > share]


def run_suite(args: argparse.Namespace) -> int:
    start = time.perf_counter()
    items = [(t, p, s) for t, p, s in read_manifest(args.suite)
             if (not args.only or any(x in p.name for x in args.only)) and (not args.tracks or t in args.tracks)]
    rows: list[Row] = []
    loads: list[float] = []
    code = code_state()
    with tempfile.TemporaryDirectory(prefix="esso-cvc5-") as tmpname:
        for track, path, src in items:
            loads.append(os.getloadavg()[0])
            row = bench_sl(path, args.limit, Path(tmpname))
            row.problem = src
            row.extra["track"] = track
            row.extra["answered_by"] = row.esso_note if row.esso_status == "solved" else ""
            rows.append(row)
            print(f"{track:8} {src:60} {progress_line(row)} {row.esso_size or ''}", flush=True)
    wall = time.perf_counter() - start
    over = over_budget_rows(rows, args.limit)
    name_opt = f" --name {args.name}" if args.name != "sygus_public" else ""
    header = (f"# Public SyGuS problems: cvc5 vs esso-ngs\n\n"
              f"Run {datetime.date.today().isoformat()} with `python benchmarks/bench_cvc5.py --suite DIR "
              f"--limit {args.limit:g}{name_opt}`{' --tracks ' + ' '.join(args.tracks) if args.tracks else ''} "
              f"on {machine()}, DIR written by `benchmarks/extract_sygus.py` from the selection in "
              f"`benchmarks/{args.name}.txt` ({len(rows)} problems run). Code: {code}. "
              f"Machine load: {load_summary(loads)}. Time limit {args.limit:g} s per problem and tool, one process "
              f"each; times are wall-clock with process start-up (the machine is shared: timings are noisy). "
              f"Every answer re-verified: Z3 on the constraints (both tools), and esso-ngs's answers also by "
              f"cvc5's SMT solver. Size: AST nodes. Overshoot: esso-ngs's process wall time past the limit "
              f"(its `--timeout-ms` is the limit, counted from the process start). Runs over 5%: "
              f"{'; '.join(over) if over else 'none'}.")
    report(suite_markdown(rows, args.limit, header, wall), rows, args.name, args.no_write)
    return 0


def report(text: str, rows: list[Row], name: str, no_write: bool) -> None:
    """Print the table; write benchmarks/results/NAME.{md,csv} unless `no_write`."""
    print()
    print(text)
    if not no_write:
        RESULTS.mkdir(exist_ok=True)
        (RESULTS / f"{name}.md").write_text(text)
        write_csv(RESULTS / f"{name}.csv", rows)


def write_csv(path: Path, rows: list[Row]) -> None:
    with path.open("w", newline="") as fh:
        fields = ([k for k in asdict(rows[0]) if k != "extra"] + ["esso_search_s", "cvc5_answer_s", "track"]
                  if rows else [])
        w = csv.DictWriter(fh, fieldnames=fields)
        w.writeheader()
        for r in rows:
            d = asdict(r)
            extra = d.pop("extra")
            d["esso_search_s"] = extra.get("esso_search_s", "")
            d["cvc5_answer_s"] = extra.get("cvc5_answer_s", "")
            d["track"] = extra.get("track", "")
            for k in ("cvc5_time_s", "esso_time_s", "esso_sl_time_s", "esso_search_s", "cvc5_answer_s"):
                if isinstance(d.get(k), float):
                    d[k] = round(d[k], 3)
            w.writerow({k: d.get(k, "") for k in fields})


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--limit", type=float, default=20.0, help="seconds per problem and tool (default 20)")
    ap.add_argument("--only", nargs="*", default=[], help="run only problems whose name contains one of these")
    ap.add_argument("--suite", type=Path, metavar="DIR",
                    help="run the public problems extracted into DIR by extract_sygus.py instead")
    ap.add_argument("--tracks", nargs="*", default=[], help="with --suite: only these tracks (clia, inv, general)")
    ap.add_argument("--name", default="sygus_public",
                    help="with --suite: the selection's name (benchmarks/NAME.txt), and the results written "
                         "to benchmarks/results/NAME.{md,csv} (default sygus_public)")
    ap.add_argument("--no-write", action="store_true", help="print only, do not write benchmarks/results")
    args = ap.parse_args()
    if args.suite:
        return run_suite(args)
    start = time.perf_counter()

    def wanted(name: str) -> bool:
        return not args.only or any(s in name for s in args.only)

    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="esso-cvc5-") as tmpname:
        tmp = Path(tmpname)
        for spec_path in discover_specs(SPECS):
            spec = load_spec(spec_path)
            exported = [e for e in export_spec(spec) if wanted(f"{spec.name}.{e.hole_id}")]
            if not exported:
                continue
            data, wall, killed = run_esso(spec_path, args.limit, tmp / "native" / spec.name)
            native = {"result": data, "wall": wall, "killed": killed}
            for e in exported:
                path = tmp / e.file_name
                path.write_text(e.text)
                row = bench_exported(spec, e.hole_id, path, e.logic, args.limit, tmp, native)
                rows.append(row)
                print(f"{row.problem:45} {progress_line(row)} | .sl {row.esso_sl_status}", flush=True)
        for path in sorted(SYGUS.glob("*.sl")):
            if not wanted(path.stem):
                continue
            row = bench_sl(path, args.limit, tmp)
            rows.append(row)
            print(f"{row.problem:45} {progress_line(row)}", flush=True)
    wall = time.perf_counter() - start
    header = (f"# cvc5 vs esso-ngs, side by side\n\n"
              f"Run {datetime.date.today().isoformat()} with `python benchmarks/bench_cvc5.py --limit {args.limit:g}`"
              f" on {machine()}.\n"
              f"Time limit {args.limit:g} s per problem and tool, one process each (times are wall-clock, "
              f"process start-up included). cvc5: `sygus-si=all` for a quarter of the limit, then `none`; "
              f"the mode that answered is in parentheses, with cvc5's own time in that run. "
              f"Every answer was re-verified (exported specs: "
              f"esso-ngs's verifier; .sl: Z3 on the constraints; esso-ngs's .sl answers also by cvc5's SMT "
              f"solver). Size: AST nodes (cvc5's `let`s expanded). For exported specs, esso-ngs runs natively "
              f"on the spec (cheapest term under the style profile) and, in the next column, on the exported .sl.")
    report(markdown(rows, args.limit, header, wall), rows, "cvc5_side_by_side", args.no_write)
    return 0


if __name__ == "__main__":
    sys.exit(main())
