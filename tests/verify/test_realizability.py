"""Realizability before the search: infeasible holes, their witnesses and clashing constraints."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from esso_ngs.formats import discover_specs, load_spec
from esso_ngs.synth import SynthOptions, synthesize
from esso_ngs.verify.realizability import check_realizability

from benchspecs import ROOT, SPECS_DIR

KERNEL = """\
ir_version: "esso-ir/v1"
meta: {model_id: r}
state_vars:
  - {id: reserve, type: {kind: int, min: LO, max: 1000}}
  - {id: open, type: {kind: bool}}
init:
  - {var: reserve, expr: {const: 5}}
  - {var: open, expr: {bool: true}}
invariants: []
actions:
  - id: act
    params:
      - {id: amount, type: {kind: int, min: 0, max: 100}}
    guard: {bool: true}
    updates: []
    effects:
      out: {const: 0}
      flag: {const: 0}
"""


def _spec(tmp_path: Path, constraints: list[str], lo: int = 1, hole_type: str = "Int",
          field: str = "out") -> object:
    (tmp_path / "r_hole.yaml").write_text(KERNEL.replace("LO", str(lo)))
    rules = ["amount", "reserve", "1", "(+ E E)"] if hole_type == "Int" else ["open", "(not E)"]
    synth = {
        "synth_version": "1.1", "scope": {"kind": "inductive"},
        "holes": [{"hole_id": "h", "kind": "expr", "type": hole_type, "used_in": [{"action": "act", "field": field}],
                   "grammar_id": "G", "semantic_constraints": constraints}],
        "grammars": [{"grammar_id": "G", "start": "E", "productions": {"E": rules}}],
    }
    (tmp_path / "r_hole.synth.json").write_text(json.dumps(synth))
    return load_spec(tmp_path / "r_hole.yaml")


def test_linear_bounds_clash_with_witness_and_the_two_constraints(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["result >= 0", "result > 0", "result < reserve"])
    r = check_realizability(spec, "h")
    assert r.status == "infeasible" and r.method.startswith("interval")
    assert r.witness["reserve"] == 1
    assert r.clashing == ("result > 0", "result < reserve")
    assert r.place is not None and (r.place.action, r.place.field) == ("act", "out")


def test_same_constraints_are_realizable_when_the_bound_excludes_the_clash(tmp_path: Path) -> None:
    assert check_realizability(_spec(tmp_path, ["result > 0", "result < reserve"], lo=2), "h").status == "realizable"


def test_condition_without_result_that_can_fail(tmp_path: Path) -> None:
    r = check_realizability(_spec(tmp_path, ["result >= 0", "amount <= reserve"]), "h")
    assert r.infeasible and r.clashing == ("amount <= reserve",) and r.witness["amount"] > r.witness["reserve"]


def test_nonlinear_in_result_uses_the_quantified_query(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["result * result = reserve + 1"], lo=1)
    r = check_realizability(spec, "h")
    assert r.status == "infeasible" and r.method.startswith("z3")
    assert r.clashing == ("result * result = reserve + 1",)
    n = r.witness["reserve"] + 1
    assert int(n ** 0.5) ** 2 != n  # the witness really has no integer square root
    assert check_realizability(_spec(tmp_path, ["result * 2 >= reserve"]), "h").status == "realizable"


def test_boolean_hole(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["result = open", "result != open"], hole_type="Bool", field="flag")
    assert check_realizability(spec, "h").infeasible
    spec = _spec(tmp_path, ["result = open"], hole_type="Bool", field="flag")
    assert check_realizability(spec, "h").status == "realizable"


def test_infeasible_hole_is_reported_before_any_search(tmp_path: Path) -> None:
    spec = _spec(tmp_path, ["result > 0", "result < reserve"])
    result = synthesize(spec, options=SynthOptions(timeout_ms=60_000))
    hole = result.hole("h")
    assert hole.status == "infeasible" and hole.candidates == 0
    assert "infeasible at act.out" in hole.reason and "reserve=1" in hole.reason


@pytest.mark.parametrize("path", discover_specs(SPECS_DIR) + discover_specs(ROOT / "benchmarks" / "specs_hard"),
                         ids=lambda p: p.name)
def test_no_benchmark_spec_is_called_infeasible(path: Path) -> None:
    spec = load_spec(path)
    for hole in spec.synth.holes:
        assert not check_realizability(spec, hole.hole_id).infeasible
