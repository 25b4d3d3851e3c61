"""benchmarks/specs_real_shapes/ through the CLI, as its manifest says: exit codes,
warnings and intent records in result.json, infeasible witnesses, answers."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from esso_ngs.cli.main import main
from esso_ngs.lang.expr import Const, Var
from esso_ngs.lang.infix import parse_infix
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import load_spec
from esso_ngs.verify import VerifyOptions, verify_terms

from benchspecs import ROOT

SHAPES = ROOT / "benchmarks" / "specs_real_shapes"
RUNS: list[dict[str, Any]] = json.loads((SHAPES / "manifest.json").read_text())["runs"]


def _argv(run: dict[str, Any], out: Path) -> list[str]:
    return [str(SHAPES / run["spec"]) if a == "SPEC" else str(out) if a == "OUT" else a for a in run["command"]]


def _equivalent(spec_path: Path, hole_id: str, term: str, formula: str) -> bool:
    """The answer equals the formula on the hole's domain (proved, as `--intent notes` does)."""
    spec = load_spec(spec_path)
    probe = dataclasses.replace(spec, intent=((hole_id, parse_infix(formula)),))
    verdict = verify_terms(probe, {hole_id: parse_term(term)}, VerifyOptions(timeout_ms=10_000),
                           kinds=frozenset({"intent"}))
    return verdict.status == "verified"


def test_every_spec_of_the_folder_is_in_the_manifest() -> None:
    on_disk = {p.name for p in SHAPES.glob("*_hole*.yaml")}
    assert on_disk == {r["spec"] for r in RUNS}
    shapes = " ".join(r["shape"] for r in RUNS)
    for needed in ("drifting reference", "variant", "infeasible", "weak spec", "# HOLE:", "--intent notes"):
        assert needed in shapes


@pytest.mark.parametrize("run", RUNS, ids=[f"{r['spec']}:{' '.join(r['command'][2:]) or r['command'][0]}"
                                           for r in RUNS])
def test_manifest_run(run: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "out"
    rc = main(_argv(run, out_dir))
    captured = capsys.readouterr()
    assert rc == run["exit"], captured.out + captured.err
    for fragment in run.get("out_contains", []):
        assert fragment in captured.out
    if run["command"][0] != "synth":
        return
    result = json.loads((out_dir / "result.json").read_text())
    warnings = result["warnings"]
    for fragment in run["warnings"]:
        assert any(fragment in w for w in warnings), warnings
    for fragment in run.get("no_warnings_with", []):
        assert not any(fragment in w for w in warnings), warnings
    assert sorted(result["intent"]) == sorted(run["intent"])
    for w in warnings:  # every warning is also printed, on one line
        assert w in captured.out and "\n" not in w
    for hole_id, want in run["holes"].items():
        got = result["holes"][hole_id]
        assert got["status"] == want["status"], got["reason"]
        if want["status"] == "infeasible":
            found = got["counterexamples"][0]
            assert found["witness"] and want["witness"].items() <= found["witness"].items()
            assert found["clashing"] == want["clashing"]
            assert got["candidates"] == 0  # decided before any search
            continue
        if "found_by" in want:
            assert got["found_by"] == want["found_by"]
        if want.get("trivial"):
            assert isinstance(parse_term(got["term"]), (Const, Var)), got["term"]
            continue
        assert _equivalent(SHAPES / run["spec"], hole_id, got["term"], want["equivalent_to"]), got["term"]


def test_intent_record_in_result_json(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["synth", str(SHAPES / "fee_accumulator_hole.yaml"), "--output", str(tmp_path)]) == 0
    capsys.readouterr()
    record = json.loads((tmp_path / "result.json").read_text())["intent"]["acc_next"]
    assert record["answer"] == "accumulated" and record["stated"] == "accumulated + fee_amount"
    assert record["witness"] == {"accumulated": 0, "fee_amount": 1}
    assert (record["answer_value"], record["stated_value"]) == (0, 1)
    assert record["weak"] is True and record["origin"] == "meta.notes"
