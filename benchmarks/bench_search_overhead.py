"""Where an unguided search's time goes besides building terms: Python's cyclic garbage
collector (collections per generation and their seconds, from `gc.callbacks`) and the
checks of each level's terms on the examples (`cegis._level_passing`, when the
esso_ngs under test has it). Each spec is solved in this process `--repeats` times.

    python benchmarks/bench_search_overhead.py [--repeats 2] [--cap-s 60] [--hints none|garbage] [PREFIX ...]

It measures whichever esso_ngs is imported (printed first), so an older checkout can be
measured with the same script: `PYTHONPATH=/path/to/old/checkout python benchmarks/...`.
"""
from __future__ import annotations

import argparse
import gc
import os
import statistics
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import esso_ngs
from esso_ngs.formats import load_spec
from esso_ngs.synth import SynthOptions, cegis, synthesize

from bench_speedup import GARBAGE  # the same garbage hints as the speedup tables

HARD = Path(__file__).resolve().parent / "specs_hard"


class _Timed:
    """Seconds and calls of the collector (per generation) and of the level checks."""

    def __init__(self) -> None:
        self.gc: dict[int, list[float]] = defaultdict(lambda: [0, 0.0])
        self.level_checks_s = 0.0
        self._gc_start = 0.0

    def on_gc(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._gc_start = time.perf_counter()
        else:
            entry = self.gc[info["generation"]]
            entry[0] += 1
            entry[1] += time.perf_counter() - self._gc_start


def run_once(prefix: str, hints: str, cap_s: float) -> dict[str, Any]:
    spec = load_spec(HARD / f"{prefix}_hole.yaml")
    given = {h.hole_id: GARBAGE for h in spec.synth.holes} if hints == "garbage" else None
    timed = _Timed()
    level_passing = getattr(cegis, "_level_passing", None)
    if level_passing is not None:
        def counted(*args: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return level_passing(*args)
            finally:
                timed.level_checks_s += time.perf_counter() - t0
        cegis._level_passing = counted
    gc.collect()
    gc.callbacks.append(timed.on_gc)
    try:
        t0 = time.perf_counter()
        result = synthesize(spec, given, SynthOptions(timeout_ms=int(cap_s * 1000)))
        total = time.perf_counter() - t0
    finally:
        gc.callbacks.remove(timed.on_gc)
        if level_passing is not None:
            cegis._level_passing = level_passing
    firsts = [h.time_to_first_s for h in result.holes]
    return {"total": total, "first": max(firsts) if None not in firsts else None,
            "candidates": sum(h.candidates for h in result.holes),
            "gc": {g: tuple(v) for g, v in timed.gc.items()}, "level_checks_s": timed.level_checks_s,
            "has_level_checks": level_passing is not None}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("prefixes", nargs="*", default=["dyn_fee", "twap_blend", "stake_reward"])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--cap-s", type=float, default=60.0)
    ap.add_argument("--hints", choices=("none", "garbage"), default="none")
    args = ap.parse_args()
    print(f"esso_ngs from {Path(esso_ngs.__file__).parent}; load average {os.getloadavg()[0]:.1f} "
          f"({os.cpu_count()} CPUs); hints: {args.hints}")
    head = (f"{'spec':14} {'runs':>4} {'total s':>8} {'first s':>8} {'candidates':>10} "
            f"{'gc full':>7} {'gc young':>8} {'gc s':>6} {'level checks s':>14}")
    print(head)
    print("-" * len(head))
    for prefix in args.prefixes:
        runs = [run_once(prefix, args.hints, args.cap_s) for _ in range(max(1, args.repeats))]
        med = lambda f: statistics.median(f(r) for r in runs)  # noqa: E731
        full = med(lambda r: r["gc"].get(2, (0, 0.0))[0])
        young = med(lambda r: r["gc"].get(0, (0, 0.0))[0] + r["gc"].get(1, (0, 0.0))[0])
        gc_s = med(lambda r: sum(s for _, s in r["gc"].values()))
        first = [r["first"] for r in runs]
        first_s = f"{statistics.median(first):.2f}" if None not in first else f">{args.cap_s:.0f}"
        checks = f"{med(lambda r: r['level_checks_s']):.2f}" if runs[0]["has_level_checks"] else "-"
        print(f"{prefix:14} {len(runs):>4} {med(lambda r: r['total']):>8.2f} {first_s:>8} "
              f"{runs[0]['candidates']:>10} {full:>7.0f} {young:>8.0f} {gc_s:>6.2f} {checks:>14}", flush=True)
    print(f"\nMedians of {args.repeats} runs in one process; load average at end {os.getloadavg()[0]:.1f}.")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
