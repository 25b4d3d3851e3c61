"""Shared by the executor tests: a folder of bundled specs with replayed hints, and run-directory
comparison modulo timings."""
from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from esso_ngs.pipeline.records import read_records

from .helpers import INTENDED, WRONG, replay_file, spec_file

# Four bundled specs, one with two holes (breaker_window: the slowest, ~2.5 s unguided).
FOUR_SPECS = ("breaker_trip", "breaker_window", "credit_single", "fee_bps")


def spec_folder(root: Path, prefixes: tuple[str, ...] = FOUR_SPECS) -> Path:
    d = root / "specs"
    d.mkdir(parents=True)
    for prefix in prefixes:
        for f in spec_file(prefix).parent.glob(f"{prefix}_*"):
            shutil.copy(f, d / f.name)
    return d


def replay_for(root: Path, prefixes: tuple[str, ...] = FOUR_SPECS) -> Path:
    """A replay source: per hole, one wrong term, then the intended one twice."""
    holes: dict[str, list[Any]] = {}
    for prefix in prefixes:
        for hole_id, intended in INTENDED[prefix].items():
            holes[hole_id] = [*WRONG[prefix][hole_id][:1], (intended, 2)]
    return replay_file(root / "replay.json", holes)


def batch_argv(specs: Path, replay: Path, run: Path) -> list[str]:
    return ["batch", str(specs), "--backend", "replay", "--model", str(replay), "--validate", "examples",
            "--example-inputs", "2000", "--output", str(run)]


def _untimed(value: Any) -> Any:
    """`value` without the fields that measure time (they differ between any two runs)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items()
                if not (k.endswith(("_s", "_ms", "_speedup")) or k in ("time", "times", "seconds")
                        or k.startswith("speedup"))}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def run_dir_contents(run: Path) -> dict[str, Any]:
    """Everything a run directory says, timings removed, records as a sorted multiset."""
    out: dict[str, Any] = {}
    for path in sorted(run.iterdir()):
        if path.name == "records.jsonl":
            lines = [json.dumps(_untimed(r), sort_keys=True) for r in read_records(path)]
            out[path.name] = sorted(lines)
        elif path.name == "run.json":
            out[path.name] = _untimed({k: v for k, v in json.loads(path.read_text()).items() if k != "created"})
        elif path.suffix == ".json":
            out[path.name] = _untimed(json.loads(path.read_text()))
        else:
            out[path.name] = path.stat().st_size > 0
    return out
