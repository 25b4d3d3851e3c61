"""The README's first command, timed as a new user runs it (issue 12: under a minute on 2 cores).

    python benchmarks/bench_readme.py [--repeats 2] [--md FILE]

Runs the synthesis half of the README's first line (`scripts/setup.sh` is the
install, timed separately by CI) in fresh processes:

- **first run**: an esso-ngs cache directory as `scripts/setup.sh` leaves it: the
  prepared model and the backend choice `models prepare` measured (copied from the
  user's cache dir; without one, `--backend auto` measures the backends first), no
  sample cache, no prefix KV cache;
- **next run**: the same cache directory again (backend choice and prefix KV
  cache remembered; the sample cache too, as a user's rerun would find it).

Columns: wall time of the whole command, the time to the first verified term and
the hint generation time as the command reports them in `result.json` and its
output, and the load average (the machine may be shared).
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = "benchmarks/specs/fee_bps_hole.yaml"
MODEL = "smollm2-135m"


def readme_command() -> list[str]:
    """The synthesis command of the README's first line, as written there."""
    first = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("bash scripts/setup.sh"))
    command = first.split("#", 1)[0].split("&&", 1)[1].split()
    if command[:2] != ["esso-ngs", "synth"]:
        raise SystemExit(f"README's first line no longer runs `esso-ngs synth`: {first}")
    return command


def run(command: list[str], cache: Path, out: Path) -> dict[str, object]:
    env = dict(os.environ, ESSO_NGS_CACHE=str(cache))
    exe = shutil.which(command[0]) or command[0]
    load = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([exe, *command[1:], "--output", str(out)], cwd=ROOT, env=env, capture_output=True,
                          text=True, check=False)
    wall = time.perf_counter() - t0
    row: dict[str, object] = {"wall_s": wall, "rc": proc.returncode, "load": load}
    result = out / "result.json"
    if result.is_file():
        data = json.loads(result.read_text())
        holes = data.get("holes", {})
        firsts = [h.get("time_to_first_s") for h in holes.values()]
        row["first_verified_s"] = max(firsts) if firsts and None not in firsts else None
        row["terms"] = {hole_id: h.get("term") for hole_id, h in holes.items()}
    gen = [line for line in proc.stdout.splitlines() if line.startswith("neural hints")]
    row["hints_line"] = gen[0] if gen else ""
    if proc.returncode not in (0, 1):
        row["error"] = (proc.stderr.strip().splitlines() or ["failed"])[-1]
    return row


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=2)
    ap.add_argument("--md", help="also write the table to this Markdown file")
    args = ap.parse_args(argv)
    command = readme_command()
    home_cache = Path(os.environ.get("ESSO_NGS_CACHE", Path.home() / ".cache" / "esso-ngs"))
    prepared = home_cache / "models" / MODEL
    if not prepared.is_dir():
        print(f"the packaged model is not prepared ({prepared}): run `esso-ngs models prepare {MODEL}` "
              "(scripts/setup.sh does it)", file=sys.stderr)
        return 2
    print("command: " + " ".join(command), flush=True)
    lines = ["| run | repeat | wall s | first verified s | rc | load avg | hints |", "| --- | ---: | ---: | ---: | ---: | ---: | --- |"]
    worst = 0.0
    for rep in range(args.repeats):
        with tempfile.TemporaryDirectory(prefix="bench-readme-") as tmp:
            cache = Path(tmp) / "cache"
            (cache / "models").mkdir(parents=True)
            os.symlink(prepared, cache / "models" / MODEL)
            for f in ("models.json", "file-hashes.json", "backend-choice.json"):
                if (home_cache / f).is_file():
                    shutil.copy(home_cache / f, cache / f)
            for phase in ("first run", "next run"):
                row = run(command, cache, Path(tmp) / f"out-{phase.split()[0]}")
                worst = max(worst, float(row["wall_s"]))
                first = row.get("first_verified_s")
                lines.append(f"| {phase} | {rep + 1} | {row['wall_s']:.1f} | "
                             f"{first if first is None else format(first, '.2f')} | {row['rc']} | {row['load']:.1f} | "
                             f"{row.get('error') or row['hints_line']} |")
                print(lines[-1], flush=True)
    verdict = f"slowest: {worst:.1f} s ({'under' if worst < 60 else 'NOT under'} a minute)"
    print(verdict)
    if args.md:
        Path(args.md).write_text("\n".join(["`" + " ".join(command) + "`", "", *lines, "", verdict, ""]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
