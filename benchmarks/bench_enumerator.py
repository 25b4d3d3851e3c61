"""Throughput of the bottom-up enumerator: terms built/s and kept/s, before vs after.

"before" is the original one-term-at-a-time enumerator, kept verbatim as
`RefEnumerator` in tests/synth/test_enumerate.py (the equivalence tests run it
side by side with the current one); "after" is esso_ngs.synth.enumerate.Enumerator.
Each run enumerates the hole's grammar on its initial examples until `--budget`
terms are built (or the space is exhausted), consuming the stream like the CEGIS
loop does (without looking at terms). Runs alternate and repeat (`--repeat`), and
the best time of each is reported: the machine may be shared.

Also, with --synth, the time of `synthesize(dyn_fee, max_candidates=150000)` with
either enumerator plugged into the CEGIS loop.

    python benchmarks/bench_enumerator.py [--budget 100000] [--repeat 3] [--synth]
"""
from __future__ import annotations

import argparse
import importlib.util
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esso_ngs.grammar import grammar_for_hole
from esso_ngs.formats import load_spec
from esso_ngs.synth import cegis
from esso_ngs.synth.enumerate import Enumerator, LevelDone, Limits
from esso_ngs.synth.examples import ExampleSet

CASES = [
    ("dyn_fee", ROOT / "benchmarks" / "specs_hard" / "dyn_fee_hole.yaml"),
    ("fee_free_allowance", ROOT / "benchmarks" / "specs" / "fee_free_allowance_hole.yaml"),
    ("best_quote", ROOT / "benchmarks" / "specs" / "best_quote_hole.yaml"),
]


def reference_enumerator():
    path = ROOT / "tests" / "synth" / "test_enumerate.py"
    sys.path.insert(0, str(ROOT / "tests"))
    spec = importlib.util.spec_from_file_location("_enum_reference", path)
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules[spec.name] = mod  # type: ignore[union-attr]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod.RefEnumerator


def run_once(cls, g, env, limits, budget: int) -> tuple[float, int, int, int]:
    enum = cls(g, env, limits, should_stop=lambda built: built >= budget)
    t0 = time.perf_counter()
    n_start = 0
    for item in enum.terms():
        if not isinstance(item, LevelDone):
            n_start += 1
    dt = time.perf_counter() - t0
    return dt, enum.stats.built, enum.stats.kept, n_start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--budget", type=int, default=100_000, help="terms built per run")
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--synth", action="store_true", help="also time synthesize() on dyn_fee")
    ap.add_argument("--only", default=None, help="comma-separated case names")
    args = ap.parse_args()
    ref = reference_enumerator()
    only = set(args.only.split(",")) if args.only else None
    print(f"{'case':20} {'impl':7} {'built':>8} {'kept':>8} {'best s':>8} {'built/s':>10} {'kept/s':>10}")
    for name, path in CASES:
        if only and name not in only:
            continue
        spec = load_spec(path)
        hole_id = spec.synth.holes[0].hole_id
        g = grammar_for_hole(spec, hole_id)
        env = ExampleSet(spec, (hole_id,)).env()
        limits = Limits.of(spec.synth.style)
        best: dict[str, tuple[float, int, int, int]] = {}
        for _ in range(args.repeat):
            for label, cls in (("before", ref), ("after", Enumerator)):
                r = run_once(cls, g, env, limits, args.budget)
                if label not in best or r[0] < best[label][0]:
                    best[label] = r
        for label in ("before", "after"):
            dt, built, kept, _ = best[label]
            print(f"{name:20} {label:7} {built:8d} {kept:8d} {dt:8.3f} {built / dt:10.0f} {kept / dt:10.0f}")
        assert best["before"][1:] == best["after"][1:], "the two enumerators disagree"
        print(f"{name:20} speedup {best['before'][0] / best['after'][0]:.1f}x  ({env.size} examples)")
    if args.synth:
        from esso_ngs.synth import SynthOptions, synthesize
        spec = load_spec(CASES[0][1])
        original = cegis.Enumerator
        for label, cls in (("before", ref), ("after", original)):
            cegis.Enumerator = cls
            try:
                times = []
                for _ in range(args.repeat):
                    t0 = time.perf_counter()
                    res = synthesize(spec, options=SynthOptions(max_candidates=150_000))
                    times.append(time.perf_counter() - t0)
            finally:
                cegis.Enumerator = original
            h = res.holes[0]
            print(f"synthesize dyn_fee (max_candidates=150000) {label:7} best {min(times):7.2f}s  "
                  f"status {h.status}, candidates {h.candidates}, kept {h.candidates_kept}")


if __name__ == "__main__":
    main()
