"""Formulas stated in the notes and `# HOLE:` comments: parsing, names, prose, uses."""
from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from esso_ngs.lang.sexpr import parse_term
from esso_ngs.pipeline.intent import with_stated_hints
from esso_ngs.formats import load_spec
from esso_ngs.synth import Hint
from esso_ngs.verify import verify, verify_terms
from esso_ngs.verify.intent import intent_check, intent_hint_terms, stated_intents, with_intent

KERNEL = """\
ir_version: "esso-ir/v1"
meta:
  model_id: n
  notes: NOTES
state_vars:
  - {id: balance, type: {kind: int, min: 0, max: 1000}}
  - {id: fee_bps, type: {kind: int, min: 0, max: 10000}}
init:
  - {var: balance, expr: {const: 0}}
  - {var: fee_bps, expr: {const: 30}}
invariants: []
actions:
  - id: pay
    params:
      - {id: input_amount, type: {kind: int, min: 0, max: 1000}}
      - {id: input_fee, type: {kind: int, min: 0, max: 1000}}
    guard: {bool: true}
    updates: []
    effects:
      fee: {const: 0}
"""


def _spec(tmp_path: Path, notes: str) -> object:
    (tmp_path / "n_hole.yaml").write_text(KERNEL.replace("NOTES", json.dumps(notes)))
    synth = {
        "synth_version": "1.1", "scope": {"kind": "inductive"},
        "holes": [{"hole_id": "fee", "kind": "expr", "type": "Int", "used_in": [{"action": "pay", "field": "fee"}],
                   "grammar_id": "G", "semantic_constraints": ["result >= 0"]}],
        "grammars": [{"grammar_id": "G", "start": "E", "productions": {
            "E": ["input_amount", "balance", "fee_bps", "10000", "(* E E)", "(safe_div E E)", "(+ E E)"]}}],
    }
    (tmp_path / "n_hole.synth.json").write_text(json.dumps(synth))
    return load_spec(tmp_path / "n_hole.yaml")


@pytest.mark.parametrize("notes, want", [
    ("Synthesis target: fee = input_amount * fee_bps / 10000", ["input_amount * fee_bps div 10000"]),
    ("Synthesize: `balance + input_amount`.", ["balance + input_amount"]),
    ("The fee, rounded down. It is max(0, input_amount - balance), see the docs.",
     ["max(0, input_amount - balance)"]),
    ("Pay the fee from the balance and then some prose with words only", []),
    ("fee = amount * rate / 100", []),  # names the hole's action does not define
    ("fee = input * fee_bps / 10000", []),  # `input` is ambiguous: input_amount or input_fee
    ("flag = balance < 3", []),  # a Bool formula for an Int hole
])
def test_formulas_from_notes(tmp_path: Path, notes: str, want: list[str]) -> None:
    assert [i.infix for i in stated_intents(_spec(tmp_path, notes), "fee")] == want


def test_near_name_only_when_unambiguous(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "fee = amount * fee_bps / 10000")  # `amount`: only input_amount ends in _amount
    assert [i.infix for i in stated_intents(spec, "fee")] == ["input_amount * fee_bps div 10000"]


def test_hint_terms_use_the_grammar_operators(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "fee = input_amount * fee_bps / 10000 + balance")
    assert intent_hint_terms(spec, "fee") == ["(+ (safe_div (* input_amount fee_bps) 10000) balance)"]
    hints = with_stated_hints(spec, {"fee": [Hint("balance", 0.9, "model")]})
    assert [(h.term, h.source) for h in hints["fee"]] == [
        ("(+ (safe_div (* input_amount fee_bps) 10000) balance)", "notes"), ("balance", "model")]


def test_intent_check_and_obligation(tmp_path: Path) -> None:
    spec = _spec(tmp_path, "Synthesize: fee = input_amount * fee_bps / 10000")
    found = intent_check(spec, "fee", parse_term("input_amount"))
    assert found is not None and found["weak"]
    assert found["message"].startswith("weak spec: answer input_amount differs from the notes' "
                                       "input_amount * fee_bps / 10000 at ")
    w = found["witness"]
    assert w["input_amount"] != w["input_amount"] * w["fee_bps"] // 10000
    assert intent_check(spec, "fee", parse_term("(safe_div (* fee_bps input_amount) 10000)")) is None
    strict = with_intent(spec)
    assert verify(spec, "fee", parse_term("input_amount")).ok
    assert verify(strict, "fee", parse_term("input_amount")).status == "refuted"
    assert verify(strict, "fee", parse_term("(safe_div (* input_amount fee_bps) 10000)")).ok
    assert dataclasses.replace(spec, intent=()).intent == ()


def test_hole_comment_formula_first(tmp_path: Path) -> None:
    spec = load_spec(Path(__file__).resolve().parents[2] / "benchmarks" / "specs_real_shapes"
                     / "swap_comment_hole.yaml")
    [stated] = stated_intents(spec, "paid_out")
    assert stated.origin == "# HOLE comment at swap.reserve_out"
    assert stated.infix == "input_amount * reserve_out div (reserve_in + input_amount)"


def test_intent_obligation_where_the_site_is_unknown() -> None:
    spec = with_intent(load_spec(Path(__file__).resolve().parents[2] / "benchmarks" / "specs"
                                 / "fee_floor_hole.yaml"))
    assert [s.rule for s in spec.sites_of("fee_floor")] == [5]
    assert verify(spec, "fee_floor", parse_term("(safe_div (* amount fee_bps) 10000)")).ok
    verdict = verify_terms(spec, {"fee_floor": parse_term("(safe_div (* amount fee_bps) 10001)")},
                           kinds=frozenset({"intent"}))
    assert verdict.status == "refuted" and verdict.counterexample.obligation == "intent"


TWO_HOLES = """\
ir_version: "esso-ir/v1"
meta: {model_id: two, notes: "Two parts of a payout."}
state_vars:
  - {id: base, type: {kind: int, min: 0, max: 1000}}
init:
  - {var: base, expr: {const: 0}}
invariants: []
actions:
  - id: pay
    params:
      - {id: amount, type: {kind: int, min: 0, max: 1000}}
    guard: {bool: true}
    updates: []
    effects:
      out:
        op: "+"
        args:
          - {const: 0}  # HOLE: part_a: amount * 2
          - {const: 0}  # HOLE: part_b: base + amount
"""


def test_each_hole_reads_the_comment_on_its_own_site(tmp_path: Path) -> None:
    (tmp_path / "two_hole.yaml").write_text(TWO_HOLES)
    hole = {"kind": "expr", "type": "Int", "used_in": [{"action": "pay", "field": "out"}], "grammar_id": "G",
            "semantic_constraints": ["result >= 0"]}
    synth = {"synth_version": "1.1", "scope": {"kind": "inductive"},
             "holes": [{"hole_id": "part_a", **hole}, {"hole_id": "part_b", **hole}],
             "grammars": [{"grammar_id": "G", "start": "E", "productions": {"E": ["amount", "base", "(+ E E)"]}}]}
    (tmp_path / "two_hole.synth.json").write_text(json.dumps(synth))
    spec = load_spec(tmp_path / "two_hole.yaml")
    assert [i.infix for i in stated_intents(spec, "part_a")] == ["amount * 2"]
    assert [i.infix for i in stated_intents(spec, "part_b")] == ["base + amount"]
