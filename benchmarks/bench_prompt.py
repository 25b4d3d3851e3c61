"""What each part of the prompt buys: hint quality with and without it, on the bundled specs.

    python benchmarks/bench_prompt.py [--samples 6] [--variants full,one_example,no_examples] [PREFIX ...]

For every hole of benchmarks/specs and every prompt variant: the prompt's
tokens, the distinct in-grammar candidates of N constrained samples, how many
pass the `examples` tier (evaluation on sampled inputs against the reference
or the constraints), whether the intended answer (manifest) is among them, and
the seconds spent. Variants drop one part of the prompt each. The backend is
the one `--backend auto` chose (or --backend).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent / "specs"


def variants() -> dict[str, Any]:
    from dataclasses import replace

    from esso_ngs.neural.prompt import EXAMPLES

    keep = lambda t: t  # noqa: E731
    return {
        "full": (EXAMPLES, keep),
        "one_example": (EXAMPLES[:1], keep),
        "no_examples": ((), keep),
        "no_actions": (EXAMPLES, lambda t: replace(t, actions=())),
        "no_notes": (EXAMPLES, lambda t: replace(t, notes="")),
    }


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--samples", type=int, default=6)
    ap.add_argument("--variants", default="full,one_example,no_examples")
    ap.add_argument("--json", help="write the rows to this JSON file")
    args = ap.parse_args(argv)

    from esso_ngs.grammar import grammar_for_hole
    from esso_ngs.neural.backend import SampleSettings, make_backend
    from esso_ngs.neural.prompt import build_prompt_for_task, task_from_spec
    from esso_ngs.neural.sampling import sample_hole
    from esso_ngs.pipeline.tiers import check_examples
    from esso_ngs.formats import load_spec

    backend = make_backend(args.backend, args.model)
    table = variants()
    chosen = [v.strip() for v in args.variants.split(",") if v.strip()]
    manifest = {e["prefix"]: e for e in json.loads((SPECS / "manifest.json").read_text())["specs"]}
    settings = SampleSettings(n=args.samples, temperature=0.8, seed=0, max_tokens=64)
    rows: list[dict[str, Any]] = []
    print(f"backend {getattr(backend, 'choice_label', backend.name)}; load average {os.getloadavg()[0]:.1f}; "
          f"{args.samples} samples per hole", flush=True)
    for prefix, entry in sorted(manifest.items()):
        if args.prefixes and prefix not in args.prefixes:
            continue
        spec = load_spec(SPECS / f"{prefix}_hole.yaml")
        for hole in spec.synth.holes:
            g = grammar_for_hole(spec, hole.hole_id)
            want = entry["holes"].get(hole.hole_id, {}).get("intended")
            for name in chosen:
                examples, edit = table[name]
                prompt = build_prompt_for_task(edit(task_from_spec(spec, hole.hole_id)), "term", examples,
                                               spec_name=spec.name)
                t0 = time.perf_counter()
                r = sample_hole(backend, prompt, settings, g)
                dt = time.perf_counter() - t0
                good = [c.term for c in r.in_grammar_candidates()]
                passing = sum(ch.passed for ch in check_examples(spec, hole.hole_id, good, n=2000)) if good else 0
                row = {"spec": prefix, "hole": hole.hole_id, "variant": name,
                       "prompt_tokens": backend.stats.prompt_tokens, "in_grammar": len(good),
                       "pass_examples": passing, "intended": want in good, "seconds": round(dt, 2)}
                rows.append(row)
                print(json.dumps(row), flush=True)
    print(f"\n{'variant':<14}{'holes':>6}{'prompt tok (mean)':>19}{'with a passing cand.':>22}"
          f"{'intended found':>16}{'s (mean)':>10}")
    for name in chosen:
        mine = [r for r in rows if r["variant"] == name]
        if not mine:
            continue
        n = len(mine)
        print(f"{name:<14}{n:>6}{sum(r['prompt_tokens'] for r in mine) / n:>19.0f}"
              f"{sum(r['pass_examples'] > 0 for r in mine):>22}{sum(r['intended'] for r in mine):>16}"
              f"{sum(r['seconds'] for r in mine) / n:>10.1f}")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
