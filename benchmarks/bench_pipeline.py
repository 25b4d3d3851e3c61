"""The hint pipeline end to end, as a user runs it: per spec, `esso-ngs synth` without
hints and `esso-ngs synth --neural-hints` with the packaged small model, each a fresh
process; replayed exact hints; and the cost per candidate of the cheap / examples /
full tiers.

    python benchmarks/bench_pipeline.py [--samples 10] [--tier examples] [--csv FILE] [--md FILE] [PREFIX ...]

The model column is what a user gets from `synth --neural-hints`: the search starts
at once, the model loads and samples in a background thread, each sample is a hint
as soon as it is complete, and generation stops as soon as the search is done
(solved and proven minimal, or budget spent); the command returns once the model's
thread has ended (within a decoding step, or once a model load in progress is
over). "first" is the time until every hole had a verified term (search clock, from
result.json); "wall" is the whole command, process start to exit. The yardstick is
plain + model load: the plain command's wall time plus the model's load time,
measured once in a fresh process (`load`). The model runs need `esso-ngs models
prepare smollm2-135m`; without it they are skipped with a message. Samples are not
cached (`--no-cache`), so generation is really paid; the static prompt prefix's KV
cache on disk is used as it is for any user after the first run.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from esso_ngs.errors import UserError
from esso_ngs.grammar import grammar_for_hole
from esso_ngs.neural.cache import SampleCache
from esso_ngs.pipeline.extension import NeuralHintsExtension
from esso_ngs.pipeline.host import hints_in_background
from esso_ngs.verify.tiers import ValidationSettings, check_cheap, check_examples, check_full
from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan
from esso_ngs.formats import load_spec
from esso_ngs.synth import SynthOptions, SynthResult, synthesize

HERE = Path(__file__).resolve().parent
MODEL = "smollm2-135m"


def first_s(result: SynthResult, total: bool) -> float:
    if total:
        return result.time_s
    return max((h.time_to_first_s if h.time_to_first_s is not None else h.time_s) for h in result.holes)


def model_available(name: str) -> str | None:
    """Why the real model cannot run here, or None when it can."""
    try:
        from esso_ngs.neural.models import resolve_model
        resolve_model(name)
        import llguidance  # noqa: F401
    except UserError as err:
        return f"{err} -- run `esso-ngs models prepare {name}` first"
    except ImportError as err:
        return f"{err.name} is not installed (pip install 'esso-ngs[mlx]' or torch + transformers)"
    return None


def with_hints(spec: Any, plan: ModelPlan, options: GenerateOptions, synth: SynthOptions,
               total: bool) -> tuple[float, SynthResult]:
    """(time to verified s, result) with hints generated in a background thread, in this
    process (the replay column: no model to load)."""
    ext = NeuralHintsExtension()
    ext.configure_plan(plan, options, rounds=2)
    t0 = time.perf_counter()
    background = hints_in_background(ext, spec, rounds=2, own_process=True)  # as `synth --neural-hints` runs it
    started = time.perf_counter() - t0
    result = synthesize(spec, background.streams, synth)
    background.stop()
    if background.error:
        raise background.error[0]
    return started + first_s(result, total), result


def cli(argv: list[str], out_dir: Path) -> tuple[float, dict[str, Any], list[dict[str, Any]]]:
    """(wall seconds, result.json, progress events) of one `esso-ngs` command in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "esso_ngs.cli.main", *argv, "--json", "--output", str(out_dir)],
                          capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"{' '.join(argv)}: exit {proc.returncode}: {proc.stderr.strip()[-2000:]}")
    events = []
    for line in proc.stderr.splitlines():
        if line.startswith("{"):
            try:
                events.append(json.loads(line))
            except ValueError:
                pass
    return wall, json.loads((out_dir / "result.json").read_text()), events


def result_first_s(doc: dict[str, Any]) -> float:
    return max((h.get("time_to_first_s") if h.get("time_to_first_s") is not None else h["time_s"])
               for h in doc["holes"].values())


LOAD_SCRIPT = """
import json, sys, time
from esso_ngs.neural.backend import make_backend
backend = make_backend("auto", sys.argv[1])
t0 = time.perf_counter()
backend.load()
print(json.dumps({"load_s": time.perf_counter() - t0, "backend": getattr(backend, "choice_label", backend.name)}))
"""


def model_load_s(model: str) -> dict[str, Any]:
    """The model's load time in a fresh process, as `synth --neural-hints` pays it."""
    proc = subprocess.run([sys.executable, "-c", LOAD_SCRIPT, model], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def tier_costs(prefix: str, terms: list[str], n_inputs: int, timeout_ms: int) -> dict[str, float]:
    """Seconds per candidate for each tier, on a freshly loaded spec (input sampling included)."""
    spec = load_spec(HERE / "specs" / f"{prefix}_hole.yaml")
    hole_id = spec.synth.holes[0].hole_id
    g = grammar_for_hole(spec, hole_id)
    t0 = time.perf_counter()
    cheap = [check_cheap(spec, g, t) for t in terms]
    t_cheap = (time.perf_counter() - t0) / len(terms)
    ok = [t for t, c in zip(terms, cheap) if c.ok] or terms[:1]
    t0 = time.perf_counter()
    check_examples(spec, hole_id, ok, n_inputs)
    t_first = time.perf_counter() - t0  # includes sampling the inputs, once per spec and process
    t0 = time.perf_counter()
    check_examples(spec, hole_id, ok, n_inputs)
    t_examples = (time.perf_counter() - t0) / len(ok)  # per candidate, inputs already sampled
    t0 = time.perf_counter()
    for t in ok:
        check_full(spec, hole_id, t, timeout_ms)
    t_full = (time.perf_counter() - t0) / len(ok)
    return {"cheap_ms": 1000 * t_cheap, "examples_ms": 1000 * t_examples,
            "examples_setup_ms": 1000 * max(0.0, t_first - t_examples * len(ok)), "full_ms": 1000 * t_full,
            "tier_candidates": len(ok)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--tier", default="examples", choices=("none", "cheap", "examples", "full"))
    ap.add_argument("--model", default=MODEL)
    ap.add_argument("--timeout-ms", type=int, default=60_000)
    ap.add_argument("--example-inputs", type=int, default=20_000)
    ap.add_argument("--total", action="store_true", help="replay column: count the minimality search too")
    ap.add_argument("--csv", default=str(HERE / "results" / "pipeline.csv"))
    ap.add_argument("--md", default=str(HERE / "results" / "pipeline.md"))
    ap.add_argument("--head-start-ms", type=int, help="synth's --head-start-ms (default: synth's own)")
    args = ap.parse_args()

    command = "python benchmarks/bench_pipeline.py " + " ".join(sys.argv[1:])
    load_start = os.getloadavg()
    manifest = json.loads((HERE / "specs" / "manifest.json").read_text())["specs"]
    why_not = model_available(args.model)
    if why_not:
        print(f"real model skipped: {why_not}", file=sys.stderr)
    work = Path(tempfile.mkdtemp(prefix="bench-pipeline-"))
    validation = ValidationSettings(tier=args.tier, example_inputs=args.example_inputs)
    options = GenerateOptions(validation=validation, cache=SampleCache(work / "samples"))
    synth = SynthOptions(timeout_ms=args.timeout_ms)
    load = model_load_s(args.model) if not why_not else {"load_s": 0.0, "backend": "-"}
    budget = ["--timeout-ms", str(args.timeout_ms)]
    neural = ["--neural-hints", "--model", args.model, "--samples", str(args.samples), "--validate", args.tier,
              "--example-inputs", str(args.example_inputs), "--no-cache"]
    if args.head_start_ms is not None:
        neural += ["--head-start-ms", str(args.head_start_ms)]

    print(f"samples {args.samples}, tier {args.tier}; model {args.model} ({load['backend']}), "
          f"load {load['load_s']:.2f} s in a fresh process; load average {load_start[0]:.2f} at start")
    head = (f"{'spec':20} {'plain 1st':>9} {'plain':>7} {'model 1st':>9} {'model':>7} {'m/(p+l)':>7} "
            f"{'hint':>4} {'stopped':>7} {'wait':>6} {'replay':>7} | {'cheap ms':>8} {'ex. ms':>7} {'full ms':>8}")
    print(head)
    print("-" * len(head))
    rows = []
    for entry in manifest:
        prefix = entry["prefix"]
        if args.prefixes and prefix not in args.prefixes:
            continue
        spec_file = HERE / "specs" / f"{prefix}_hole.yaml"
        spec = load_spec(spec_file)
        plain_wall, plain, _ = cli(["synth", str(spec_file), *budget], work / prefix / "plain")
        row: dict[str, Any] = {"spec": prefix, "plain_first_s": round(result_first_s(plain), 4),
                               "plain_wall_s": round(plain_wall, 4), "plain_solved": plain["solved"]}

        replay_file = work / f"{prefix}.replay.json"
        replay_file.write_text(json.dumps({"holes": {h: {"term": e["intended"], "source": "manifest", "rank": 0}
                                                     for h, e in entry["holes"].items()}}))
        t_replay, r_replay = with_hints(spec, ModelPlan(ModelChoice("replay", str(replay_file), samples=1)),
                                        options, synth, args.total)
        row.update({"replay_first_s": round(t_replay, 4), "replay_solved": r_replay.solved})

        model_cands: list[str] = []
        if not why_not:
            out = work / prefix / "model"
            wall, doc, events = cli(["synth", str(spec_file), *budget, *neural], out)
            hints = json.loads((out / "neural_hints.json").read_text())
            loaded = [e["seconds"] for e in events if e.get("event") == "load"]
            samples = [e for e in events if e.get("event") == "sample"]
            row.update({"model_first_s": round(result_first_s(doc), 4), "model_wall_s": round(wall, 4),
                        "model_solved": doc["solved"],
                        "model_hint_won": sum(1 for h in doc["holes"].values() if h.get("found_by") == "hint"),
                        "model_loaded_s": round(loaded[0], 3) if loaded else None,
                        "model_samples": len(samples), "model_stopped": ",".join(hints.get("stopped", [])),
                        "model_stop_wait_s": round(hints.get("stop_wait_s", 0.0), 3),
                        "model_gen_s": round(hints["time_s"], 3),
                        "load_ref_s": round(load["load_s"], 3),
                        "model_over_plain": round(wall / plain_wall, 3),
                        "model_over_plain_load": round(wall / (plain_wall + load["load_s"]), 3)})
            first_hole = spec.synth.holes[0].hole_id
            model_cands = [c["term"] for c in hints["holes"].get(first_hole, {}).get("candidates", [])]

        first_hole = spec.synth.holes[0].hole_id
        h = entry["holes"][first_hole]
        terms = list(dict.fromkeys([h["intended"], *h["wrong"], *model_cands]))
        row.update(tier_costs(prefix, terms, args.example_inputs, 4000))
        rows.append(row)

        def cell(key: str, width: int = 8) -> str:
            return f"{row[key]:{width - 1}.2f}s" if row.get(key) is not None else f"{'-':>{width}}"

        print(f"{prefix:20} {cell('plain_first_s', 9)} {cell('plain_wall_s')} {cell('model_first_s', 9)} "
              f"{cell('model_wall_s')} {row.get('model_over_plain_load', '-'):>7} {row.get('model_hint_won', '-'):>4} "
              f"{len(row.get('model_stopped', '').split(',')) if row.get('model_stopped') else 0:>7} "
              f"{cell('model_stop_wait_s', 6)} {cell('replay_first_s')} | {row['cheap_ms']:8.3f} "
              f"{row['examples_ms']:7.2f} {row['full_ms']:8.1f}", flush=True)
    if not rows:
        return
    load_end = os.getloadavg()
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    fields = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()})
    write_markdown(Path(args.md), rows, command, load, load_start, load_end, args)
    print(f"\n'model' = `synth --neural-hints` wall time (fresh process); 'm/(p+l)' = model / (plain wall + "
          f"model load); 'hint' = holes won by a hint; 'stopped' = holes whose generation was stopped; 'wait' = "
          f"time from the search's end to the model thread's end. CSV: {args.csv}, table: {args.md}")


def write_markdown(path: Path, rows: list[dict[str, Any]], command: str, load: dict[str, Any],
                   load_start: tuple[float, ...], load_end: tuple[float, ...], args: argparse.Namespace) -> None:
    def f(v: Any, digits: int = 2) -> str:
        return "-" if v is None else f"{v:.{digits}f}" if isinstance(v, float) else str(v)

    lines = [
        "# `synth --neural-hints` against plain `synth` (benchmarks/specs)", "",
        f"Command: `{command}`  ",
        f"Model: {args.model}, backend {load['backend']}, load {load['load_s']:.2f} s in a fresh process; "
        f"{args.samples} samples per hole, tier {args.tier}, sample cache off, synth's head start "
        f"{'default (1000 ms)' if args.head_start_ms is None else f'{args.head_start_ms} ms'}.  ",
        f"Machine: {os.cpu_count()} CPUs, shared; load average (1/5/15 min) "
        f"{' / '.join(f'{x:.2f}' for x in load_start)} at start, {' / '.join(f'{x:.2f}' for x in load_end)} "
        f"at the end: timings are noisy.", "",
        "Every time is a fresh `esso-ngs synth` process (`wall`: start to exit, as a user waits) except `first` "
        "(the search clock, from result.json: until every hole had a verified term). `m/(p+l)` = model wall / "
        "(plain wall + model load); the target is <= 1.2. `wait` = from the search's end to the model "
        "thread's end (a load in progress is not interruptible; a decoding step is). `load (run)`: the load "
        "this run paid (- : the model was never loaded). `won by a hint`: holes whose answer came from a hint "
        "(the notes' stated formulas go first, then the model's samples).", "",
        "| spec | plain first s | plain wall s | model first s | model wall s | load (run) s | samples | "
        "stopped holes | wait s | m/p | m/(p+l) | won by a hint |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(f"| {r['spec']} | {f(r['plain_first_s'])} | {f(r['plain_wall_s'])} | {f(r.get('model_first_s'))} "
                     f"| {f(r.get('model_wall_s'))} | {f(r.get('model_loaded_s'))} | {f(r.get('model_samples'))} "
                     f"| {r.get('model_stopped') or '-'} | {f(r.get('model_stop_wait_s'))} "
                     f"| {f(r.get('model_over_plain'))} | {f(r.get('model_over_plain_load'))} "
                     f"| {f(r.get('model_hint_won'))} |")
    ratios = [r["model_over_plain_load"] for r in rows if r.get("model_over_plain_load") is not None]
    if ratios:
        lines += ["", f"m/(p+l): median {statistics.median(ratios):.2f}, max {max(ratios):.2f}; "
                      f"{sum(1 for x in ratios if x <= 1.2)} of {len(ratios)} specs within 1.2."]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
