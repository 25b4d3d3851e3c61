"""The model's decoding alone, beside a search in another process, and under `synth --neural-hints` (issue 12).

    python benchmarks/bench_beside_search.py [--spec benchmarks/specs_hard/vault_shares_hole.yaml] [--budget-s 30]

Three fresh-process runs of the packaged model (10 samples, no sample cache):

- **alone**: `esso-ngs hints SPEC` by itself;
- **own process**: the same while `esso-ngs synth SPEC` searches in another process;
- **synth**: `esso-ngs synth SPEC --neural-hints` for `--budget-s`: how many of the
  10 samples completed before the search ended it. The model runs in a child process
  of synth's (pipeline/hint_process.py); until 2026-11-29 it ran in a thread of synth's
  own process, where the search's long numpy calls on Python-int arrays held the GIL
  and starved it (2 of 10 samples in 30 s: benchmarks/results/beside_search.md).
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
MODEL = "smollm2-135m"
DECODED = re.compile(r"(\d+) samples, (\d+) tokens in ([\d.]+) s")
STOPPED = re.compile(r"stopped after (\d+) of (\d+) samples")
SAMPLE = re.compile(r": sample (\d+) of (\d+):")


def _esso(*args: str) -> list[str]:
    return [sys.executable, "-m", "esso_ngs.cli.main", *args]


def hints(spec: str, out: Path) -> tuple[float, str]:
    t0 = time.perf_counter()
    proc = subprocess.run(_esso("hints", spec, "--model", MODEL, "--samples", "10", "--no-cache",
                                "--output", str(out)), cwd=ROOT, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - t0
    found = DECODED.search(proc.stderr)
    return wall, (f"{found.group(1)} samples decoded in {found.group(3)} s" if found
                  else (proc.stderr.strip().splitlines() or ["failed"])[-1])


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spec", default="benchmarks/specs_hard/vault_shares_hole.yaml")
    ap.add_argument("--budget-s", type=float, default=30.0)
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench-beside-") as tmp:
        tmpd = Path(tmp)
        print(f"{args.spec}; load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)", flush=True)
        wall, what = hints(args.spec, tmpd / "alone.json")
        print(f"alone:          {what} (process {wall:.1f} s)", flush=True)
        search = subprocess.Popen(_esso("synth", args.spec, "--timeout-ms", str(int(args.budget_s * 1000)),
                                        "--output", str(tmpd / "search")),
                                  cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wall, what = hints(args.spec, tmpd / "beside.json")
        finally:
            search.wait()
        print(f"own process:    {what} (process {wall:.1f} s), a search running alongside", flush=True)
        proc = subprocess.run(_esso("synth", args.spec, "--neural-hints", "--model", MODEL, "--no-cache",
                                    "--timeout-ms", str(int(args.budget_s * 1000)), "-v",
                                    "--output", str(tmpd / "synth")),
                              cwd=ROOT, capture_output=True, text=True, check=False)
        stopped = STOPPED.search(proc.stderr)
        done = len(set(SAMPLE.findall(proc.stderr)))
        total = stopped.group(2) if stopped else "10"
        print(f"synth:          {stopped.group(1) if stopped else done} of {total} samples completed within "
              f"the {args.budget_s:.0f} s search (model load and prompt included)", flush=True)
        print(f"load average at end {os.getloadavg()[0]:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
