"""Extract a listed selection of public SyGuS problems from a git directory of
SyGuS-Org/benchmarks into a folder outside this repository.

    python benchmarks/extract_sygus.py --git-dir /work/.mirror/SyGuS-Org+benchmarks/repo \
        --out /work/sygus-public [--list benchmarks/sygus_public.txt]

The public repository states no license: its files are never committed here. The
list (checked in) names the commit and, one a line, `TRACK PATH` (TRACK: clia, inv or
general); each file is written to OUT/TRACK/<path with / as __>. Also writes
OUT/manifest.tsv (track, file, source path, commit), which `bench_cvc5.py --suite`
reads.
"""
from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_LIST = HERE / "sygus_public.txt"
TRACKS = ("clia", "inv", "general")


def read_list(path: Path) -> tuple[str, list[tuple[str, str]]]:
    """(commit, [(track, path)]) of a selection file."""
    commit = ""
    items: list[tuple[str, str]] = []
    for lineno, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if parts[0] == "commit" and len(parts) == 2:
            commit = parts[1]
        elif len(parts) == 2 and parts[0] in TRACKS:
            items.append((parts[0], parts[1]))
        else:
            raise SystemExit(f"{path}:{lineno}: expected `commit SHA` or `TRACK PATH` (TRACK: {', '.join(TRACKS)})")
    if not commit:
        raise SystemExit(f"{path}:1: no `commit SHA` line")
    return commit, items


def extract(git_dir: Path, commit: str, items: list[tuple[str, str]], out: Path) -> list[tuple[str, Path, str]]:
    rows: list[tuple[str, Path, str]] = []
    for track, src in items:
        proc = subprocess.run(["git", f"--git-dir={git_dir}", "show", f"{commit}:{src}"],
                              capture_output=True, check=False)
        if proc.returncode != 0:
            raise SystemExit(f"{src}: not in {git_dir} at {commit}: {proc.stderr.decode().strip()}")
        dest = out / track / src.replace("/", "__")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(proc.stdout)
        rows.append((track, dest, src))
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--git-dir", required=True, type=Path, help="a (bare) git directory of SyGuS-Org/benchmarks")
    ap.add_argument("--out", required=True, type=Path, help="where to write the problems (outside the repository)")
    ap.add_argument("--list", type=Path, default=DEFAULT_LIST, help=f"selection (default {DEFAULT_LIST.name})")
    args = ap.parse_args()
    commit, items = read_list(args.list)
    rows = extract(args.git_dir, commit, items, args.out)
    manifest = "".join(f"{t}\t{p.relative_to(args.out)}\t{s}\t{commit}\n" for t, p, s in rows)
    (args.out / "manifest.tsv").write_text(manifest, encoding="utf-8")
    counts = {t: sum(1 for r in rows if r[0] == t) for t in TRACKS}
    print(f"extracted {len(rows)} problems into {args.out} ({', '.join(f'{t} {n}' for t, n in counts.items())})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
