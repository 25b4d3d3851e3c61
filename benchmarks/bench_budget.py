"""Does `synth` end within its `--timeout-ms`? The real CLI, run as a user runs it.

    python benchmarks/bench_budget.py [--timeout-ms 5000 10000] [--specs kinked_rate ...] [--repeats 2]

Each spec of `benchmarks/specs_hard` named by `--specs` (ones whose unguided search
does not finish within the budgets) is run as
`esso-ngs synth SPEC --no-stated-hints --timeout-ms T --output TMP -v` in a fresh
process. Columns: the budget; the wall time of the process (spawn to exit, what a
user's shell measures); the overrun (wall - budget); the time the CLI reports for the
hole (`result.json`, counted from the search's start, after start-up and loading);
when the search decided to stop (same clock); how late the time check saw the
stop time (the deadline less the margin kept to free the banks and, once the
search has one, to end a step that cannot pause: a chunk of rows, stacking a bank)
and that margin; how long freeing the banks took
after the search (all from the `-v` line "search ended at ..."; "-" when the
esso_ngs under test does not print it); the terms kept (the objects whose freeing
is that teardown). The rest of the overrun is the process's exit (start-up before
the search is inside the budget: the search gets what is left).
The load average is printed with each row: the machine may be shared.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HARD = Path(__file__).resolve().parent / "specs_hard"
DEFAULT_SPECS = ["kinked_rate", "vault_shares", "clamp_price"]
ENDED = re.compile(r"search ended at ([0-9.]+) s(?: \(stop asked at [0-9.]+ s, (-?[0-9.]+) s past the deadline "
                   r"less ([0-9.]+) s to free the banks(?: and end a step)?\))?; its banks freed in ([0-9.]+) s")


def run_once(prefix: str, timeout_ms: int) -> dict[str, float | int | str | None]:
    with tempfile.TemporaryDirectory() as out:
        cmd = ["esso-ngs", "synth", str(HARD / f"{prefix}_hole.yaml"), "--no-stated-hints",
               "--timeout-ms", str(timeout_ms), "--output", out, "-v"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        if proc.returncode not in (0, 1):
            raise SystemExit(f"{' '.join(cmd)}: exit {proc.returncode}\n{proc.stderr[-2000:]}")
        record = json.loads((Path(out) / "result.json").read_text())
    holes = list(record["holes"].values())
    ended = ENDED.findall(proc.stderr)
    return {"wall": wall, "reported": max(h["time_s"] for h in holes),
            "status": ",".join(sorted({h["status"] for h in holes})),
            "kept": sum(h["candidates_kept"] for h in holes),
            "ended": float(ended[-1][0]) if ended else None, "freed": float(ended[-1][3]) if ended else None,
            "late": float(ended[-1][1]) if ended and ended[-1][1] else None,
            "reserve": float(ended[-1][2]) if ended and ended[-1][2] else None,
            "load": os.getloadavg()[0]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--timeout-ms", type=int, nargs="+", default=[5000, 10000])
    ap.add_argument("--specs", nargs="+", default=DEFAULT_SPECS)
    ap.add_argument("--repeats", type=int, default=2)
    args = ap.parse_args()
    print(f"esso-ngs: {shutil.which('esso-ngs')}; "
          f"load average {os.getloadavg()[0]:.2f} ({os.cpu_count()} CPUs)")
    head = (f"{'spec':14} {'budget s':>8} {'run':>3} {'wall s':>7} {'overrun s':>9} {'reported s':>10} "
            f"{'stop at s':>9} {'late s':>6} {'margin s':>9} {'freed in s':>10} {'kept':>9} {'status':>8} {'load':>5}")
    print(head)
    print("-" * len(head))
    overruns: list[float] = []
    for prefix in args.specs:
        for timeout_ms in args.timeout_ms:
            for i in range(args.repeats):
                r = run_once(prefix, timeout_ms)
                over = r["wall"] - timeout_ms / 1000  # type: ignore[operator]
                overruns.append(over)
                ended, late, reserve, freed = (f"{r[k]:.2f}" if r[k] is not None else "-"
                                               for k in ("ended", "late", "reserve", "freed"))
                print(f"{prefix:14} {timeout_ms / 1000:>8.1f} {i + 1:>3} {r['wall']:>7.2f} {over:>+9.2f} "
                      f"{r['reported']:>10.2f} {ended:>9} {late:>6} {reserve:>9} {freed:>10} {r['kept']:>9} {r['status']:>8} "
                      f"{r['load']:>5.2f}", flush=True)
    print(f"\noverrun: median {statistics.median(overruns):+.2f} s, max {max(overruns):+.2f} s; "
          f"load average at end {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
