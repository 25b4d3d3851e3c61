"""Speedup from hints: per spec, the synthesizer unguided and with exact hints, near
hints of each kind (one at a time) and garbage hints; time to the first verified
term and to the proven-minimal answer; ratios. Writes a CSV.

    python benchmarks/bench_speedup.py [--suite specs|specs_hard] [--csv FILE] [--cap-s 120]
                                       [--model smollm2-135m [--backend mlx] [--samples 10]]
                                       [--runs unguided,exact,near,garbage,reference,model]
                                       [--kinds guard,...] [--repeats N] [PREFIX ...]

Unguided, exact and garbage runs minimize (the default `synth`): "first" is when a
verified term was known (anytime: printed and written at once), "minimal" when it
was proven minimal. Near-hint runs stop at the first verified term (their proof of
minimality is the exact run's, the same search below the same cost).
Unguided runs stop at the cap: '>cap' (a lower bound; ratios against it are too).
Near hints are the manifest's wrong-but-close answers by kind (swapped variables,
wrong constant, missing ite guard, wrong operator); garbage hints are off-grammar,
ill-formed and degenerate terms, as a small model produces. A "reference" run gets
only the hints `synth` derives from the spec's reference kernel (its term at each of
the hole's sites, `verify/reference_hints.py`) and stops at the first verified term.
Every other run calls `synthesize` directly, so it gets none of the hints `synth`'s
intake adds (the notes' formulas, the reference's terms): unguided measures the search
alone, model the search and the model alone. With `--model`, a
"model" run generates hints as `synth --neural-hints` does (a background thread,
the search starting at once; a fresh sample cache) and its times count generation
and the model's load; model/ung compares its first verified term with unguided's
(a run without one counts as the cap). `--runs` picks columns (its CSV is named for
them). The machine load matters: note it beside the results.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import tempfile
import time
from pathlib import Path

from esso_ngs.neural.cache import SampleCache
from esso_ngs.pipeline.extension import NeuralHintsExtension
from esso_ngs.pipeline.host import hints_in_background
from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan
from esso_ngs.formats import load_spec
from esso_ngs.synth import Hint, SynthOptions, synthesize
from esso_ngs.verify.reference_hints import SOURCE as REFERENCE, reference_hint_terms

HERE = Path(__file__).resolve().parent
GARBAGE = [Hint("(foo bar"), Hint("(* 1 2 3)"), Hint("nonexistent_var"), Hint("(+ 0 0)"),
           Hint("(safe_div (safe_div (safe_div 1 1) 1) 1)")]
KINDS = ("swapped", "constant", "guard", "operator")
RUNS = ("unguided", "exact", "near", "garbage", "reference", "model")


def run(spec, hints, cap_s: float, minimize: bool = True) -> dict:
    result = synthesize(spec, hints, SynthOptions(timeout_ms=int(cap_s * 1000), minimize=minimize))
    firsts = [h.time_to_first_s for h in result.holes]
    minimal = [h.time_to_minimal_s for h in result.holes]
    return {"solved": result.solved, "total": result.time_s,
            "first": max(firsts) if None not in firsts else None,
            "minimal": max(minimal) if None not in minimal else None,
            "cand": sum(h.candidates for h in result.holes), "guidance_s": sum(h.guidance_s for h in result.holes)}


def run_model(spec, plan: ModelPlan, cache: Path, cap_s: float) -> dict:
    """As `synth --neural-hints`: times from before generation starts (model load included)."""
    ext = NeuralHintsExtension()
    ext.configure_plan(plan, GenerateOptions(cache=SampleCache(cache)), rounds=2)
    t0 = time.perf_counter()
    background = hints_in_background(ext, spec, rounds=2, own_process=True)  # as `synth --neural-hints` runs it
    offset = time.perf_counter() - t0
    out = run(spec, background.streams, cap_s)
    background.stop()
    background.thread.join()  # not timed: the hole in progress, no longer needed
    if background.error:
        raise background.error[0]
    for key in ("first", "minimal"):
        out[key] = out[key] + offset if out[key] is not None else None
    out["total"] += offset
    return out


def fmt(t: float | None, cap_s: float) -> str:
    return f">{cap_s:.0f}" if t is None else f"{t:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--suite", default="specs_hard", choices=("specs", "specs_hard"))
    ap.add_argument("--csv", help="CSV path (default benchmarks/results/speedup_<suite>.csv)")
    ap.add_argument("--cap-s", type=float, default=120.0, help="time budget per hole and run")
    ap.add_argument("--model", help="add a run with hints from this model (path or alias)")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--runs", help=f"comma-separated subset of {','.join(RUNS)} (default: all; 'model' with --model)")
    ap.add_argument("--kinds", help=f"near runs: comma-separated subset of {','.join(KINDS)} (default: all)")
    ap.add_argument("--repeats", type=int, default=1,
                    help="unguided and garbage runs: this many of each, alternated; the table shows the median "
                         "run, garb/ung the ratio of the mean totals (identical searches vary by +-10%% here)")
    args = ap.parse_args()
    plan = ModelPlan(ModelChoice(args.backend, args.model, samples=args.samples, seed=0, max_tokens=64)) \
        if args.model else None
    cache = Path(tempfile.mkdtemp(prefix="bench-speedup-cache-"))
    suite = HERE / args.suite
    subset = "_" + args.runs.replace(",", "_") if args.runs else ""  # a subset never overwrites the full table
    args.csv = args.csv or str(HERE / "results" / f"speedup_{args.suite}{subset}.csv")
    manifest = json.loads((suite / "manifest.json").read_text())["specs"]
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    wanted = set(args.runs.split(",")) if args.runs else set(RUNS)
    unknown = wanted - set(RUNS)
    if unknown or ("model" in wanted and plan is None):
        raise SystemExit(f"--runs: unknown {sorted(unknown)} (known: {', '.join(RUNS)}); 'model' needs --model")
    if plan is not None:
        wanted.add("model")
    kinds = tuple(args.kinds.split(",")) if args.kinds else KINDS
    if set(kinds) - set(KINDS):
        raise SystemExit(f"--kinds: unknown {sorted(set(kinds) - set(KINDS))} (known: {', '.join(KINDS)})")
    columns = [c for c in ("unguided", "exact", *(f"near_{k}" for k in kinds), "garbage", "reference", "model")
               if c in wanted or (c.startswith("near_") and "near" in wanted)]
    head = f"{'spec':18} " + " ".join(f"{_title(c):>17}" for c in columns)
    if {"unguided", "garbage"} <= wanted:
        head += f" {'garb/ung':>8}"
    if {"unguided", "model"} <= wanted:
        head += f" {'model/ung':>9}"
    print(head)
    print("-" * len(head))
    rows = []
    for entry in manifest:
        if args.prefixes and entry["prefix"] not in args.prefixes:
            continue
        spec = load_spec(suite / f"{entry['prefix']}_hole.yaml")
        holes = entry["holes"]
        runs: dict[str, dict] = {}
        # Alternated, so that a change in the machine's load falls on both alike.
        paired = {"unguided": None, "garbage": {h: GARBAGE for h in holes}}
        tries: dict[str, list[dict]] = {name: [] for name in paired if name in wanted}
        for _ in range(max(1, args.repeats)):
            for name in tries:
                tries[name].append(run(spec, paired[name], args.cap_s))
        runs.update({name: _median_run(xs) for name, xs in tries.items()})
        if "exact" in wanted:
            runs["exact"] = run(spec, {h: [Hint(e["intended"])] for h, e in holes.items()}, args.cap_s)
        for kind in kinds if "near" in wanted else ():
            near = {h: [Hint(e["near"][kind])] for h, e in holes.items() if kind in e.get("near", {})}
            if near:
                runs[f"near_{kind}"] = run(spec, near, args.cap_s, minimize=False)
        reference = {h.hole_id: [Hint(t, 1.0, REFERENCE) for t in reference_hint_terms(spec, h.hole_id)]
                     for h in spec.synth.holes} if "reference" in wanted else {}
        if any(reference.values()):  # stops at the first verified term, as near runs do
            runs["reference"] = run(spec, reference, args.cap_s, minimize=False)
            runs["reference"]["intended"] = all(
                [x.term for x in reference.get(h, [])[:1]] == [Hint(e["intended"]).term] for h, e in holes.items())
        if plan is not None:
            runs["model"] = run_model(spec, plan, cache, args.cap_s)
        cells = []
        for c in columns:
            x = runs.get(c)
            if x is None:
                cells.append(f"{'-':>17}")
            elif c.startswith("near_") or c == "reference":  # stops at the first verified term
                cells.append(f"{fmt(x['first'], args.cap_s):>17}")
            else:
                cells.append(f"{fmt(x['first'], args.cap_s) + '/' + fmt(x['minimal'], args.cap_s):>17}")
        line = f"{entry['prefix']:18} " + " ".join(cells)
        if "unguided" in runs and "garbage" in runs:
            line += f" {_ratio(_mean_total(runs['garbage']), _mean_total(runs['unguided'])):>8}"
        if "unguided" in runs and "model" in runs:
            line += f" {_ratio(_first_or_cap(runs['model'], args.cap_s), _first_or_cap(runs['unguided'], args.cap_s)):>9}"
        print(line, flush=True)
        row: dict = {"spec": entry["prefix"], "cap_s": args.cap_s}
        for name, x in runs.items():
            row.update({f"{name}_solved": x["solved"], f"{name}_first_s": _r(x["first"]),
                        f"{name}_minimal_s": _r(x["minimal"]), f"{name}_total_s": _r(x["total"]),
                        f"{name}_candidates": x["cand"], f"{name}_guidance_s": _r(x["guidance_s"])})
            if len(x.get("totals", [])) > 1:
                row[f"{name}_totals_s"] = " ".join(f"{t:.3f}" for t in x["totals"])
            if "intended" in x:  # the reference's first term is the manifest's intended answer
                row[f"{name}_is_intended"] = x["intended"]
        rows.append(row)
    fields = sorted({k for r in rows for k in r}, key=lambda k: (k != "spec", k != "cap_s", k))
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}. Times in s; '>N' = not reached within the cap "
          f"of N s per hole; garb/ung = total time with garbage hints over unguided (mean of the repeats). "
          f"CSV: {args.csv}")


def _median_run(runs: list[dict]) -> dict:
    """The run of median total time (the lower middle of an even count), with every total."""
    ordered = sorted(runs, key=lambda x: x["total"])
    return {**ordered[(len(ordered) - 1) // 2], "totals": [x["total"] for x in runs]}


def _mean_total(x: dict) -> float:
    """The mean total time over the repeats (alternated runs: their mean ratio is the
    fairer comparison; one slow outlier moves a median pair as much as a mean)."""
    totals = x.get("totals") or [x["total"]]
    return sum(totals) / len(totals)


def _title(column: str) -> str:
    return column.replace("near_", "") + (" first" if column.startswith("near_") or column == "reference"
                                          else " first/min")


def _first_or_cap(x: dict, cap_s: float) -> float:
    """Time to the first verified term; a run that found none counts as the cap (a lower bound)."""
    return x["first"] if x["first"] is not None else cap_s


def _ratio(a: float, b: float) -> str:
    return f"{a / b:.2f}x" if b > 0 else "-"


def _r(t: float | None) -> float | None:
    return round(t, 4) if t is not None else None


if __name__ == "__main__":
    main()
