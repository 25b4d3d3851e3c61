"""Hashes binding hints to the exact kernel and synth spec they were made for.

ESSO's rule: sha256 of a canonical JSON form (sorted keys, no insignificant
whitespace) of the *parsed* file, so formatting, comments and key order do not
change the hash, while any value does.
"""
from __future__ import annotations

import datetime as _dt
import hashlib
import json
from typing import Any

from .model import Kernel, SynthSpec


def _jsonable(data: Any) -> Any:
    """YAML can give what JSON cannot hold: non-string keys, dates. Normalize them
    the way `json.dumps` would print them, so sorting keys never fails."""
    if isinstance(data, dict):
        return {_key(k): _jsonable(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [_jsonable(v) for v in data]
    if isinstance(data, (_dt.date, _dt.datetime, _dt.time)):
        return data.isoformat()
    if isinstance(data, bytes):
        return data.decode("latin-1")
    if isinstance(data, (set, frozenset)):
        return sorted((_jsonable(v) for v in data), key=lambda v: json.dumps(v, sort_keys=True))
    return data


def _key(k: Any) -> str:
    if isinstance(k, str):
        return k
    if k is None or isinstance(k, (bool, int, float)):
        return json.dumps(k)
    return str(_jsonable(k))


def canonical_json(data: Any) -> str:
    return json.dumps(_jsonable(data), sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def sha256_of(data: Any) -> str:
    return "sha256:" + hashlib.sha256(canonical_json(data).encode("utf-8")).hexdigest()


def model_hash(kernel: Kernel) -> str:
    return sha256_of(kernel.raw)


def synth_hash(synth: SynthSpec) -> str:
    return sha256_of(synth.raw)
