"""The benchmark suite (benchmarks/specs/) as test parameters: spec prefix, hole, manifest entry."""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SPECS_DIR = ROOT / "benchmarks" / "specs"
MALFORMED_DIR = ROOT / "benchmarks" / "specs_malformed"


@lru_cache(maxsize=1)
def manifest() -> list[dict[str, Any]]:
    return json.loads((SPECS_DIR / "manifest.json").read_text())["specs"]


def spec_path(prefix: str) -> Path:
    return SPECS_DIR / f"{prefix}_hole.yaml"


def holes() -> list[tuple[str, str, dict[str, Any]]]:
    """(prefix, hole id, manifest entry of the hole) for every hole of the suite."""
    return [(s["prefix"], hole_id, h) for s in manifest() for hole_id, h in s["holes"].items()]


def hole_ids(params: list[tuple[str, str, dict[str, Any]]]) -> list[str]:
    return [f"{p}:{h}" for p, h, _ in params]
