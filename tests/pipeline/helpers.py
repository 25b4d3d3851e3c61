"""Helpers for the pipeline tests."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from benchspecs import manifest, spec_path

INTENDED = {s["prefix"]: {h: e["intended"] for h, e in s["holes"].items()} for s in manifest()}
WRONG = {s["prefix"]: {h: [w for w in e["wrong"] if w not in e.get("wrong_not_in_grammar", [])]
                       for h, e in s["holes"].items()} for s in manifest()}


def replay_file(path: Path, holes: dict[str, list[Any]]) -> Path:
    """A replay source: per hole, terms (or (term, count) pairs) in recorded order."""
    data: dict[str, Any] = {"holes": {}}
    for hole_id, terms in holes.items():
        cands = [{"term": t, "count": 1} if isinstance(t, str) else {"term": t[0], "count": t[1]} for t in terms]
        data["holes"][hole_id] = {"term": cands[0]["term"] if cands else "", "source": "test", "rank": 0,
                                  "candidates": cands}
    path.write_text(json.dumps(data))
    return path


def spec_file(prefix: str) -> Path:
    return spec_path(prefix)
