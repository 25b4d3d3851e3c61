from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Callable

import pytest

from esso_ngs.errors import SpecError
from esso_ngs.fsutil import atomic_write_text
from esso_ngs.formats import (HintCandidate, HoleHints, canonical_json, hints_to_json, load_hints, load_kernel,
                           load_spec, load_synth, model_hash, sha256_of, synth_hash, write_hints)

Write = Callable[[str, Any], Path]


# ---------------------------------------------------------------- hashing
def test_canonical_json() -> None:
    assert canonical_json({"b": 1, "a": [1, {"d": "é", "c": None}]}) == '{"a":[1,{"c":null,"d":"é"}],"b":1}'
    assert sha256_of({"a": 1}) == sha256_of({"a": 1}) and sha256_of({"a": 1}).startswith("sha256:")
    # Data YAML can hold and JSON cannot: non-string keys, dates.
    import datetime
    assert canonical_json({1: "x", "a": datetime.date(2024, 1, 2)}) == '{"1":"x","a":"2024-01-02"}'


def test_same_file_twice_same_hash(fixtures_dir: Path) -> None:
    path = fixtures_dir / "fee" / "fee_hole.yaml"
    assert model_hash(load_kernel(path)) == model_hash(load_kernel(path))


def test_kernel_hash_ignores_comments_and_layout(write: Write, kernel_text: str) -> None:
    a = load_kernel(write("a_hole.yaml", kernel_text))
    relaid = kernel_text.replace("meta:\n", "# a comment\nmeta:   # trailing\n").replace(
        "{kind: int, min: 0, max: 1000}", "\n      kind: int\n      max: 1000\n      min: 0")
    b = load_kernel(write("b_hole.yaml", relaid))
    assert model_hash(a) == model_hash(b)
    c = load_kernel(write("c_hole.yaml", kernel_text.replace("max: 1000}", "max: 1001}")))
    assert model_hash(a) != model_hash(c)


def test_synth_hash_ignores_whitespace_and_key_order(write: Write, kernel_text: str, make_synth) -> None:
    kernel = load_kernel(write("k_hole.yaml", kernel_text))
    data = make_synth()
    h1 = synth_hash(load_synth(write("a.synth.json", json.dumps(data, indent=2)), kernel))
    reordered = dict(reversed(list(data.items())))
    h2 = synth_hash(load_synth(write("b.synth.json", json.dumps(reordered, separators=(",", ":"))), kernel))
    assert h1 == h2
    data["backend"]["timeout_ms"] = 1000
    h3 = synth_hash(load_synth(write("c.synth.json", data), kernel))
    assert h3 != h1


# ---------------------------------------------------------------- hints
def _hints() -> list[HoleHints]:
    return [HoleHints("fee_expr", "(safe_div (* amount bps) 10000)", "test:model", 0,
                      (HintCandidate("(safe_div (* amount bps) 10000)", 0.9, "test:model", {"verified": True}),
                       HintCandidate("amount", 0.1, "test:model")))]


def test_hints_round_trip(fixtures_dir: Path, tmp_path: Path) -> None:
    spec = load_spec(fixtures_dir / "fee")
    data = hints_to_json(spec, _hints(), extra={"generator": "esso-ngs"})
    assert data["schema"] == "esso-llm-hints/v1"
    assert data["model_hash"] == model_hash(spec.kernel) and data["synth_hash"] == synth_hash(spec.synth)
    assert data["holes"]["fee_expr"]["rank"] == 0
    path = write_hints(tmp_path / "out" / "fee.hints.json", data)
    back = load_hints(path, spec)
    assert back.holes == tuple(_hints())
    assert back.holes[0].candidates[0].extra == {"verified": True}
    assert back.model_hash == data["model_hash"]
    # A plain v1 reader finds term/source/rank.
    raw = json.loads(path.read_text())
    assert set(raw["holes"]["fee_expr"]) >= {"term", "source", "rank"}
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("field", ["model_hash", "synth_hash"])
def test_tampered_hashes_refused(fixtures_dir: Path, tmp_path: Path, field: str) -> None:
    spec = load_spec(fixtures_dir / "fee")
    data = hints_to_json(spec, _hints())
    data[field] = "sha256:" + "0" * 64
    path = write_hints(tmp_path / "h.json", data)
    load_hints(path)  # without a spec, nothing to compare against
    with pytest.raises(SpecError) as info:
        load_hints(path, spec)
    assert info.value.field == field
    assert str(info.value).startswith(f"{path}:")
    assert "\n" not in str(info.value)


def test_hints_for_an_edited_spec_refused(fixtures_dir: Path, tmp_path: Path) -> None:
    import shutil
    for name in ("fee_hole.yaml", "fee_hole.synth.json"):
        shutil.copy(fixtures_dir / "fee" / name, tmp_path / name)
    spec = load_spec(tmp_path)
    path = write_hints(tmp_path / "h.json", hints_to_json(spec, _hints()))
    synth = tmp_path / "fee_hole.synth.json"
    synth.write_text(synth.read_text().replace('"result >= 0"', '"result >= 1"'))
    with pytest.raises(SpecError) as info:
        load_hints(path, load_spec(tmp_path))
    assert info.value.field == "synth_hash"


@pytest.mark.parametrize("mutate, field, fragment", [
    (lambda d: d.update(schema="esso-llm-hints/v2"), "schema", "esso-llm-hints/v1"),
    (lambda d: d.update(holes=[{"term": "x"}]), "holes", "keyed by hole id"),
    (lambda d: d["holes"].update(nope={"term": "1", "source": "x", "rank": 0}), "holes.nope", "no hole"),
    (lambda d: d["holes"]["fee_expr"].pop("rank"), "holes.fee_expr.rank", "rank"),
    (lambda d: d["holes"]["fee_expr"].update(term=5), "holes.fee_expr.term", "string"),
    (lambda d: d["holes"]["fee_expr"]["candidates"][0].update(score="high"),
     "holes.fee_expr.candidates[0].score", "number"),
])
def test_malformed_hints(fixtures_dir: Path, tmp_path: Path, mutate, field: str, fragment: str) -> None:
    spec = load_spec(fixtures_dir / "fee")
    data = hints_to_json(spec, _hints())
    mutate(data)
    path = write_hints(tmp_path / "h.json", data)
    with pytest.raises(SpecError) as info:
        load_hints(path, spec)
    assert info.value.field == field
    assert fragment in info.value.message
    assert info.value.line is not None


def test_atomic_write_replaces_and_keeps_mode(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.txt"
    atomic_write_text(target, "one")
    os.chmod(target, 0o640)
    atomic_write_text(target, "two")
    assert target.read_text() == "two"
    assert target.stat().st_mode & 0o777 == 0o640
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.txt"]
