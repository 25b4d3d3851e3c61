"""Time of the realizability check (run before every search) per hole of the bundled suites.

    python benchmarks/bench_realizability.py [--out benchmarks/results/realizability.md]

Prints one row per hole: outcome, the method that decided it, and the wall time of
`check_realizability` (median of 3 runs). The check must stay well under a second,
since `synth` runs it for every hole before the enumerator starts.
"""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from esso_ngs.formats import discover_specs, load_spec
from esso_ngs.verify.realizability import check_realizability

ROOT = Path(__file__).resolve().parent
SUITES = ("specs", "specs_hard", "specs_real_shapes")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", help="also write the table (markdown) to this file")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    rows = ["| suite | spec | hole | outcome | method | time (ms) |", "| --- | --- | --- | --- | --- | ---: |"]
    times: list[float] = []
    for suite in SUITES:
        for path in discover_specs(ROOT / suite):
            spec = load_spec(path)
            for hole in spec.synth.holes:
                runs = []
                for _ in range(args.repeat):
                    start = time.perf_counter()
                    r = check_realizability(spec, hole.hole_id)
                    runs.append(time.perf_counter() - start)
                ms = statistics.median(runs) * 1000
                times.append(ms)
                rows.append(f"| {suite} | {spec.name} | {hole.hole_id} | {r.status} | {r.method or '-'} | {ms:.0f} |")
    rows.append("")
    rows.append(f"{len(times)} holes: median {statistics.median(times):.0f} ms, max {max(times):.0f} ms")
    text = "\n".join(rows)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
