"""The hint pipeline end to end: per spec, time to a verified solution without hints,
with `--neural-hints` from the real small model (generation counted), and with replayed
exact hints; and the cost per candidate of the cheap / examples / full tiers.

    python benchmarks/bench_pipeline.py [--samples 10] [--tier examples] [--csv FILE] [PREFIX ...]

"first" is the time until every hole had a verified term (hints: generation and
validation included); the synthesizer's minimality search after it is not counted
(`--total` counts it). The model columns need `esso-ngs models prepare smollm2-135m`;
without it they are skipped with a message. Model samples go to a fresh cache
directory, so generation is really paid (pass --cache to reuse ~/.cache/esso-ngs).
On Linux, `export LD_PRELOAD=<libopenblas.so.0>` makes MLX prompts ~10x faster.
"""
from __future__ import annotations

import argparse
import csv
import json
import os
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
        import mlx_lm  # noqa: F401
        import llguidance  # noqa: F401
    except UserError as err:
        return f"{err} -- run `esso-ngs models prepare {name}` first"
    except ImportError as err:
        return f"{err.name} is not installed (pip install 'mlx[cpu]' mlx-lm llguidance)"
    return None


def with_hints(spec: Any, plan: ModelPlan, options: GenerateOptions, synth: SynthOptions,
               total: bool) -> tuple[float, float, SynthResult, dict[str, Any]]:
    """(generation + validation s, time to verified s, result, hints) through the extension protocol,
    as `synth --neural-hints` runs: generation in a background thread, the search at once."""
    ext = NeuralHintsExtension()
    ext.configure_plan(plan, options, rounds=2)
    t0 = time.perf_counter()
    background = hints_in_background(ext, spec, rounds=2)
    started = time.perf_counter() - t0
    result = synthesize(spec, background.streams, synth)
    elapsed = started + first_s(result, total)
    background.thread.join()  # the rankings, for the table (not timed)
    if background.error:
        raise background.error[0]
    return background.host.time_s, elapsed, result, background.host.rankings


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
    ap.add_argument("--total", action="store_true", help="count the minimality search too")
    ap.add_argument("--cache", action="store_true", help="reuse the sample cache (generation then costs ~0)")
    ap.add_argument("--csv", default=str(HERE / "results" / "pipeline.csv"))
    args = ap.parse_args()

    manifest = json.loads((HERE / "specs" / "manifest.json").read_text())["specs"]
    why_not = model_available(args.model)
    if why_not:
        print(f"real model skipped: {why_not}", file=sys.stderr)
    cache_root = None if args.cache else Path(tempfile.mkdtemp(prefix="bench-pipeline-cache-"))
    validation = ValidationSettings(tier=args.tier, example_inputs=args.example_inputs)
    options = GenerateOptions(validation=validation, cache=SampleCache(cache_root / "samples" if cache_root else None))
    synth = SynthOptions(timeout_ms=args.timeout_ms)
    plan_model = ModelPlan(ModelChoice("mlx", args.model, samples=args.samples, seed=0, max_tokens=64))
    replay_dir = Path(tempfile.mkdtemp(prefix="bench-pipeline-replay-"))

    head = (f"{'spec':20} {'no hints':>9} {'model gen':>9} {'model':>9} {'x':>6} {'ok':>3} "
            f"{'replay':>8} {'x':>6} | {'cheap ms':>8} {'ex. ms':>7} {'ex. setup':>9} {'full ms':>8}")
    print(f"samples {args.samples}, tier {args.tier}, times to a verified solution"
          f"{' (total)' if args.total else ''}; tier costs per candidate")
    print(head)
    print("-" * len(head))
    rows = []
    for entry in manifest:
        prefix = entry["prefix"]
        if args.prefixes and prefix not in args.prefixes:
            continue
        spec = load_spec(HERE / "specs" / f"{prefix}_hole.yaml")
        plain = synthesize(spec, None, synth)
        t_plain = first_s(plain, args.total)
        row: dict[str, Any] = {"spec": prefix, "plain_s": round(t_plain, 4), "plain_solved": plain.solved}

        replay_file = replay_dir / f"{prefix}.json"
        replay_file.write_text(json.dumps({"holes": {h: {"term": e["intended"], "source": "manifest", "rank": 0}
                                                     for h, e in entry["holes"].items()}}))
        plan_replay = ModelPlan(ModelChoice("replay", str(replay_file), samples=1))
        _, t_replay, r_replay, _ = with_hints(spec, plan_replay, options, synth, args.total)
        row.update({"replay_s": round(t_replay, 4), "replay_solved": r_replay.solved})

        model_cands: list[str] = []
        if not why_not:
            gen, t_model, r_model, rankings = with_hints(spec, plan_model, options, synth, args.total)
            won = sum(1 for h in r_model.holes if h.found_by == "hint")
            row.update({"model_gen_s": round(gen, 4), "model_s": round(t_model, 4), "model_solved": r_model.solved,
                        "model_hint_won": won,
                        "model_best": {h: r.best.term if r.best else None for h, r in rankings.items()}})
            first_hole = spec.synth.holes[0].hole_id
            model_cands = [c.term for c in rankings[first_hole].candidates]

        first_hole = spec.synth.holes[0].hole_id
        h = entry["holes"][first_hole]
        terms = list(dict.fromkeys([h["intended"], *h["wrong"], *model_cands]))
        row.update(tier_costs(prefix, terms, args.example_inputs, 4000))
        rows.append(row)

        def cell(key: str) -> str:
            return f"{row[key]:8.2f}s" if key in row else f"{'-':>9}"

        def ratio(key: str) -> str:
            return f"{t_plain / row[key]:5.1f}x" if row.get(key) else f"{'-':>6}"

        ok = f"{row.get('model_hint_won', '-'):>3}"
        print(f"{prefix:20} {cell('plain_s')} {cell('model_gen_s')} {cell('model_s')} {ratio('model_s')} {ok} "
              f"{cell('replay_s')[1:]} {ratio('replay_s')} | {row['cheap_ms']:8.3f} {row['examples_ms']:7.2f} "
              f"{row['examples_setup_ms']:7.0f}ms {row['full_ms']:8.1f}", flush=True)
    if not rows:
        return
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    fields = sorted({k for r in rows for k in r}, key=lambda k: list(rows[0]).index(k) if k in rows[0] else 99)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=fields)
        writer.writeheader()
        for r in rows:
            writer.writerow({k: json.dumps(v) if isinstance(v, dict) else v for k, v in r.items()})
    print(f"\n'ok' = holes whose winning term was a model hint. 'model' = generation + validation + "
          f"synthesis to a verified term. Tier costs per candidate; 'ex. setup' = sampling "
          f"{args.example_inputs} inputs per obligation, once per spec. CSV: {args.csv}")
    if os.environ.get("LD_PRELOAD", "").find("openblas") < 0 and not why_not:
        print("tip: export LD_PRELOAD=<libopenblas.so.0> for ~10x faster MLX prompts on a CPU", file=sys.stderr)


if __name__ == "__main__":
    main()
