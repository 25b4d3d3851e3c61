"""Small spec texts for the spec-layer tests, written into tmp dirs per test."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

BASE_KERNEL = """\
ir_version: "esso-ir/v1"
meta:
  model_id: mini
  notes: "Synthesize: fee"
types:
  - id: t_amt
    type: {kind: int, min: 0, max: 1000}
state_vars:
  - {id: total, role: acc, type: {kind: int, min: 0, max: 100000}}
  - {id: bps, type: {kind: int, min: 0, max: 10000}}
init:
  - {var: total, expr: {const: 0}}
invariants:
  - {id: nonneg, kind: safety, expr: {op: ">=", args: [{var: total}, {const: 0}]}}
actions:
  - id: quote
    params:
      - {id: amount, type: {kind: ref, name: t_amt}}
    guard: {op: ">", args: [{param: amount}, {const: 0}]}
    updates:
      - var: total
        expr: {op: "+", args: [{var: total}, {param: amount}]}
    effects:
      fee: {const: 0}
"""


def synth_data(**hole_overrides: Any) -> dict[str, Any]:
    hole = {
        "hole_id": "fee_expr", "kind": "expr", "type": "Int",
        "used_in": [{"action": "quote", "field": "fee"}],
        "grammar_id": "G",
        "semantic_constraints": ["result >= 0", "result <= amount"],
    }
    hole.update(hole_overrides)
    return {
        "synth_version": "1.1",
        "backend": {"kind": "sygus", "solver": "cvc5", "timeout_ms": 30000},
        "scope": {"kind": "inductive", "domain_caps": "from_model"},
        "holes": [hole],
        "grammars": [{"grammar_id": "G", "start": "E",
                      "productions": {"C": ["0", "10000"], "E": ["amount", "(safe_div (* amount bps) C)"]}}],
    }


@pytest.fixture
def write(tmp_path: Path) -> Callable[[str, str | dict], Path]:
    """write(name, text_or_json_data) -> path inside the test's tmp dir."""
    def _write(name: str, content: str | dict) -> Path:
        path = tmp_path / name
        text = content if isinstance(content, str) else json.dumps(content, indent=2)
        path.write_text(text, encoding="utf-8")
        return path
    return _write


FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"


@pytest.fixture
def kernel_text() -> str:
    return BASE_KERNEL


@pytest.fixture
def make_synth() -> Callable[..., dict[str, Any]]:
    return synth_data


@pytest.fixture
def fixtures_dir() -> Path:
    return FIXTURES


@pytest.fixture
def benchmarks_dir() -> Path:
    return BENCHMARKS
