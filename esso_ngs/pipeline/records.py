"""Records for the feedback loop: verified solutions and failed candidates, as JSONL.

Every run appends to `records.jsonl` in its run directory, one JSON object a line
(format in docs/records.md): a `solution` line per solved hole (with the prompt
that asks for it, so a line is a ready fine-tuning example) and a
`failed_candidate` line per model candidate that failed a tier or the
synthesizer's check (with the counterexample when there is one).
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
import os
from pathlib import Path
from typing import Any, Iterable, Mapping

from ..neural.prompt import build_prompt
from ..formats import model_hash, synth_hash
from ..formats.model import Spec
from ..synth import SynthResult
from .aggregate import HoleRanking

SCHEMA = "esso-ngs-record/v1"
FILENAME = "records.jsonl"


def _now() -> str:
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds")


def _base(spec: Spec, hole_id: str, run_id: str | None, kind: str) -> dict[str, Any]:
    return {"schema": SCHEMA, "kind": kind, "run_id": run_id, "time": _now(), "spec": spec.name,
            "kernel": str(spec.kernel.path), "synth": str(spec.synth.path),
            "model_hash": model_hash(spec.kernel), "synth_hash": synth_hash(spec.synth), "hole_id": hole_id}


def solution_records(spec: Spec, result: SynthResult, run_id: str | None = None,
                     rankings: Mapping[str, HoleRanking] | None = None, hinted: bool = False) -> list[dict[str, Any]]:
    out = []
    for h in result.holes:
        if h.status != "solved" or h.term is None:
            continue
        rec = _base(spec, h.hole_id, run_id, "solution")
        ranking = (rankings or {}).get(h.hole_id)
        from_model = ranking is not None and any(c.term == h.term for c in ranking.candidates)
        rec.update({"term": h.term, "cost": h.cost, "minimal": h.minimal, "found_by": h.found_by,
                    "hinted": hinted, "model_proposed": from_model, "time_s": round(h.time_s, 6),
                    "time_to_first_s": _rounded(h.time_to_first_s), "time_to_minimal_s": _rounded(h.time_to_minimal_s),
                    "prompt": build_prompt(spec, h.hole_id, mode="term").to_json()})
        out.append(rec)
    return out


def _synth_failures(result: SynthResult | None) -> dict[tuple[str, str], dict[str, Any]]:
    """(hole, term) -> how the synthesizer's check of that hint failed, with its counterexample."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    if result is None:
        return out
    for h in result.holes:
        cex = {c.get("candidate"): c for c in h.counterexamples}
        for use in h.hints:
            if use.status not in ("verified", "skipped"):  # skipped: never tried (a cheaper term was in hand)
                record = {"status": use.status, "detail": use.detail}
                if use.term in cex:
                    record["counterexample"] = {k: v for k, v in cex[use.term].items() if k != "candidate"}
                out[(h.hole_id, use.term)] = record
    return out


def candidate_records(spec: Spec, rankings: Mapping[str, HoleRanking], run_id: str | None = None,
                      result: SynthResult | None = None) -> list[dict[str, Any]]:
    """A record per model candidate that failed a validation tier or the synthesizer's check."""
    synth_failed = _synth_failures(result)
    out = []
    for hole_id, ranking in rankings.items():
        for c in ranking.candidates:
            ch = c.checks
            failed: str | None = None
            cex: Any = None
            detail = ""
            if ch.cheap is not None and not ch.cheap.ok:
                failed, detail = "cheap", ch.cheap.reason
            elif ch.examples is not None and not ch.examples.passed:
                failed, cex = "examples", ch.examples.first_mismatch
                detail = f"mismatch rate {ch.examples.mismatch_rate:.4f} on {ch.examples.inputs} inputs"
            elif ch.full is not None and ch.full.status in ("refuted", "unknown"):
                failed, cex, detail = "full", ch.full.counterexample, ch.full.reason or ch.full.status
            elif (hole_id, c.term) in synth_failed:
                s = synth_failed[(hole_id, c.term)]
                failed, cex, detail = "synth", s.get("counterexample"), f"{s['status']}: {s['detail']}".strip(": ")
            if failed is None:
                continue
            rec = _base(spec, hole_id, run_id, "failed_candidate")
            rec.update({"term": c.term, "failed_tier": failed, "detail": detail, "counterexample": cex,
                        "count": c.count, "stage": c.stage, "source": c.source, "round": c.round,
                        "cost": ch.cheap.cost if ch.cheap is not None else None})
            out.append(rec)
    return out


# What makes two records the same event: a rerun of an interrupted spec produces
# them again, and they must not be counted twice.
KEY_FIELDS = ("kind", "run_id", "model_hash", "synth_hash", "hole_id", "term", "failed_tier", "stage", "round")


def record_key(record: Mapping[str, Any]) -> str:
    """Identity of a record: spec hashes, hole, kind, term (time and free text excluded)."""
    ident = json.dumps([record.get(k) for k in KEY_FIELDS], sort_keys=True, default=str)
    return hashlib.sha256(ident.encode()).hexdigest()[:24]


def append_records(run_dir: str | Path, records: Iterable[Mapping[str, Any]]) -> Path:
    """Append records to `<run_dir>/records.jsonl`, idempotently.

    A record already in the file (same `record_key`) is not written again, so a spec
    rerun after a crash between its records and its result adds nothing twice. A torn
    last line (a crash mid-append) is cut off first: it would glue itself to the next
    record and lose both. The append is one write, shielded from Ctrl-C.
    """
    from .. import interrupts

    path = Path(run_dir) / FILENAME
    with interrupts.critical():
        seen = set(_known_keys(path))  # a copy: the cache changes only once the lines are written
        lines = []
        for r in records:
            rec = dict(r)
            rec["key"] = record_key(rec)
            if rec["key"] in seen:
                continue
            seen.add(rec["key"])
            lines.append(json.dumps(rec, sort_keys=True, ensure_ascii=False, default=str) + "\n")
        if not lines:
            return path
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8") as fh:
            fh.write("".join(lines))
            fh.flush()
            os.fsync(fh.fileno())
        _remember(path, seen)
    return path


# The keys of a records file as this process last left it: a batch driver appends to
# the same file after every spec, and reading it all each time would slow the run down
# as it grows. Any change by someone else (size, mtime or inode differ) reads it again.
_KNOWN: dict[str, tuple[tuple[int, int, int], set[str]]] = {}


def _stamp(path: Path) -> tuple[int, int, int] | None:
    try:
        st = path.stat()
    except FileNotFoundError:
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def _known_keys(path: Path) -> set[str]:
    """The keys of the records in `path` (after cutting a torn tail)."""
    cached = _KNOWN.get(str(path.resolve()))
    if cached is not None and cached[0] == _stamp(path):
        return cached[1]
    seen = {r.get("key") or record_key(r) for r in repair_records(path)}
    _remember(path, seen)
    return seen


def _remember(path: Path, seen: set[str]) -> None:
    stamp = _stamp(path)
    if stamp is not None:
        _KNOWN[str(path.resolve())] = (stamp, seen)


def repair_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of `path` (none if absent), after truncating a torn last line."""
    p = Path(path)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        return []
    if data and not data.endswith(b"\n"):
        cut = data.rfind(b"\n") + 1
        with open(p, "r+b") as fh:
            fh.truncate(cut)
            fh.flush()
            os.fsync(fh.fileno())
        data = data[:cut]
    return _parse_lines(data.decode("utf-8", errors="replace").splitlines())


def _parse_lines(lines: Iterable[str]) -> list[dict[str, Any]]:
    out = []
    for line in lines:
        try:
            rec = json.loads(line)
        except ValueError:
            continue
        if isinstance(rec, dict):
            out.append(rec)
    return out


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """All records of a JSONL file (a torn last line, from a crash mid-write, is skipped)."""
    with open(path, encoding="utf-8", errors="replace") as fh:
        return _parse_lines(fh)


def _rounded(t: float | None) -> float | None:
    return round(t, 6) if t is not None else None
