"""Hints files (`esso-llm-hints/v1`): reading, checking against a spec, writing.

A v1 reader finds, per hole id, `term`, `source` and `rank`. esso-ngs adds an
optional ranked `candidates` list per hole; other readers ignore it.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..fsutil import atomic_write_text
from .hashing import model_hash, synth_hash
from .jsonload import LoadedJson, load_json
from .model import HintCandidate, HintsFile, HoleHints, Spec
from .yamlload import FieldPath, kind_of

HINTS_SCHEMA = "esso-llm-hints/v1"


def load_hints(path: str | Path, spec: Spec | None = None) -> HintsFile:
    """Read a hints file; with `spec`, refuse one made for another kernel/synth spec."""
    return hints_from_json(load_json(path), spec)


def hints_from_json(doc: LoadedJson, spec: Spec | None = None) -> HintsFile:
    root = doc.data
    if not isinstance(root, dict):
        raise doc.error((), f"a hints file must be a JSON object, got {kind_of(root)}")
    if root.get("schema") != HINTS_SCHEMA:
        got = "missing" if "schema" not in root else json.dumps(root.get("schema"))
        raise doc.error(("schema",), f"`schema` must be \"{HINTS_SCHEMA}\", got {got}")
    hashes = {}
    for key in ("model_hash", "synth_hash"):
        value = root.get(key)
        if not isinstance(value, str) or not value:
            raise doc.error((key,), f"`{key}` must be a hash string like \"sha256:...\", got {kind_of(value)}")
        hashes[key] = value
    if spec is not None:
        expected = {"model_hash": (model_hash(spec.kernel), spec.kernel.path.name),
                    "synth_hash": (synth_hash(spec.synth), spec.synth.path.name)}
        for key, (want, name) in expected.items():
            if hashes[key] != want:
                raise doc.error((key,), f"these hints were made for another version of {name} "
                                        f"(file has {hashes[key]}, {name} is {want}); regenerate them")

    holes_raw = root.get("holes")
    if not isinstance(holes_raw, dict):
        hint = " (v1 keys holes by hole id, not an array)" if isinstance(holes_raw, list) else ""
        raise doc.error(("holes",), f"`holes` must be an object keyed by hole id, got {kind_of(holes_raw)}{hint}")
    holes: list[HoleHints] = []
    for hole_id, entry in holes_raw.items():
        p: FieldPath = ("holes", hole_id)
        if spec is not None and spec.synth.hole(hole_id) is None:
            known = ", ".join(h.hole_id for h in spec.synth.holes)
            raise doc.error(p, f"no hole `{hole_id}` in {spec.synth.path.name} (holes: {known})")
        holes.append(_hole_hints(doc, hole_id, entry, p))
    return HintsFile(doc.file, hashes["model_hash"], hashes["synth_hash"], tuple(holes), raw=root)


def _hole_hints(doc: LoadedJson, hole_id: str, entry: Any, p: FieldPath) -> HoleHints:
    if not isinstance(entry, dict):
        raise doc.error(p, f"expected `{{term, source, rank}}`, got {kind_of(entry)}")
    term = entry.get("term")
    if not isinstance(term, str):
        raise doc.error(p + ("term",), f"`term` must be a string, got {kind_of(term)}")
    source = entry.get("source")
    if not isinstance(source, str):
        raise doc.error(p + ("source",), f"`source` must be a string, got {kind_of(source)}")
    rank = entry.get("rank")
    if type(rank) is not int or rank < 0:
        raise doc.error(p + ("rank",), f"`rank` must be a non-negative integer, got {kind_of(rank)}")
    candidates: list[HintCandidate] = []
    raw_cands = entry.get("candidates")
    if raw_cands is not None:
        if not isinstance(raw_cands, list):
            raise doc.error(p + ("candidates",), f"`candidates` must be an array, got {kind_of(raw_cands)}")
        for i, c in enumerate(raw_cands):
            q = p + ("candidates", i)
            if not isinstance(c, dict):
                raise doc.error(q, f"expected `{{term, score, source}}`, got {kind_of(c)}")
            if not isinstance(c.get("term"), str):
                raise doc.error(q + ("term",), f"`term` must be a string, got {kind_of(c.get('term'))}")
            score = c.get("score", 0.0)
            if isinstance(score, bool) or not isinstance(score, (int, float)):
                raise doc.error(q + ("score",), f"`score` must be a number, got {kind_of(score)}")
            c_source = c.get("source", "")
            if not isinstance(c_source, str):
                raise doc.error(q + ("source",), f"`source` must be a string, got {kind_of(c_source)}")
            extra = {k: v for k, v in c.items() if k not in ("term", "score", "source")}
            candidates.append(HintCandidate(c["term"], float(score), c_source, extra))
    return HoleHints(hole_id, term, source, rank, tuple(candidates))


def hints_to_json(spec: Spec, holes: Iterable[HoleHints],
                  extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The hints data for `spec` (hashes computed from its files); `extra` adds top-level fields."""
    out: dict[str, Any] = {
        "schema": HINTS_SCHEMA,
        "model_hash": model_hash(spec.kernel),
        "synth_hash": synth_hash(spec.synth),
    }
    out.update({k: v for k, v in (extra or {}).items() if k not in out and k != "holes"})
    by_id: dict[str, Any] = {}
    for h in holes:
        entry: dict[str, Any] = {"term": h.term, "source": h.source, "rank": h.rank}
        if h.candidates:
            entry["candidates"] = [
                {"term": c.term, "score": c.score, "source": c.source,
                 **{k: v for k, v in c.extra.items() if k not in ("term", "score", "source")}}
                for c in h.candidates
            ]
        by_id[h.hole_id] = entry
    out["holes"] = by_id
    return out


def hints_json_text(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def write_hints(path: str | Path, data: Mapping[str, Any]) -> Path:
    """Write hints data atomically (never a half-written file for ESSO to read)."""
    return atomic_write_text(path, hints_json_text(data))
