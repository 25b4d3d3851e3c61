"""The synthesizer on the benchmark suite: unguided, and with exact, near and garbage hints."""
from __future__ import annotations

import pytest

from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import load_spec
from esso_ngs.synth import Hint, SynthOptions, synthesize
from esso_ngs.verify import verify_terms

from benchspecs import manifest, spec_path

SPECS = manifest()
OPTIONS = SynthOptions(timeout_ms=60_000)


@pytest.mark.parametrize("entry", SPECS, ids=[s["prefix"] for s in SPECS])
def test_unguided_solves_with_the_intended_answer_or_a_proven_equivalent(entry: dict) -> None:
    spec = load_spec(spec_path(entry["prefix"]))
    result = synthesize(spec, options=OPTIONS)
    assert result.solved, [(h.hole_id, h.status, h.reason) for h in result.holes]
    terms = {h.hole_id: parse_term(h.term) for h in result.holes}
    for hole in result.holes:
        intended = entry["holes"][hole.hole_id]["intended"]
        assert hole.minimal, hole
        if hole.term != intended:
            # Another term is fine only if it verifies and is no more expensive.
            assert hole.cost <= entry["holes"][hole.hole_id]["cost"], (hole.term, intended)
    assert verify_terms(spec, terms).status == "verified"


def _single_hole(entry: dict) -> tuple[str, dict]:
    return next(iter(entry["holes"].items()))


HARD = [s for s in SPECS if s["prefix"] in ("fee_free_allowance", "best_quote", "twap_accumulator")]


@pytest.mark.parametrize("entry", HARD, ids=[s["prefix"] for s in HARD])
def test_exact_hint_wins_immediately(entry: dict) -> None:
    spec = load_spec(spec_path(entry["prefix"]))
    hole_id, h = _single_hole(entry)
    hints = {hole_id: [Hint("(+ 1 2 3 4 5 6 7 8 9)"), Hint(h["intended"])]}
    result = synthesize(spec, hints, SynthOptions(timeout_ms=60_000, minimize=False)).hole(hole_id)
    assert result.status == "solved" and result.term == h["intended"]
    assert result.found_by == "hint" and result.winning_hint == 1
    assert result.candidates == 0
    assert [u.status for u in result.hints] == ["not-in-grammar", "verified"]


@pytest.mark.parametrize("entry", HARD, ids=[s["prefix"] for s in HARD])
def test_exact_hint_with_minimization_keeps_the_answer_and_proves_it(entry: dict) -> None:
    spec = load_spec(spec_path(entry["prefix"]))
    hole_id, h = _single_hole(entry)
    plain = synthesize(spec, options=OPTIONS).hole(hole_id)
    guided = synthesize(spec, {hole_id: [Hint(h["intended"])]}, OPTIONS).hole(hole_id)
    assert guided.status == "solved" and guided.cost == plain.cost and guided.minimal
    assert guided.candidates <= plain.candidates


@pytest.mark.parametrize("entry", HARD, ids=[s["prefix"] for s in HARD])
def test_near_hints_guide_to_the_answer_with_fewer_candidates(entry: dict) -> None:
    spec = load_spec(spec_path(entry["prefix"]))
    hole_id, h = _single_hole(entry)
    near = [w for w in h["wrong"] if w not in h.get("wrong_not_in_grammar", [])]
    plain = synthesize(spec, options=OPTIONS).hole(hole_id)
    # Uncapped: this measures what guidance does, not how much time the cap gives it.
    guided = synthesize(spec, {hole_id: [Hint(w) for w in near]},
                        SynthOptions(timeout_ms=60_000, minimize=False, guided_cap=False))
    hole = guided.hole(hole_id)
    assert hole.status == "solved"
    assert all(u.status == "refuted" for u in hole.hints)
    assert hole.candidates < plain.candidates, (hole.candidates, plain.candidates)


@pytest.mark.parametrize("entry", HARD, ids=[s["prefix"] for s in HARD])
def test_garbage_hints_still_solve(entry: dict) -> None:
    spec = load_spec(spec_path(entry["prefix"]))
    hole_id, h = _single_hole(entry)
    garbage = [Hint("(foo bar"), Hint("(* 1 2 3)"), Hint("nonexistent_var")]
    plain = synthesize(spec, options=OPTIONS).hole(hole_id)
    result = synthesize(spec, {hole_id: garbage}, OPTIONS).hole(hole_id)
    assert result.status == "solved" and result.cost == plain.cost and result.minimal
    assert result.candidates <= 2 * plain.candidates + 100


def test_candidate_budget_gives_an_honest_timeout() -> None:
    spec = load_spec(spec_path("best_quote"))
    result = synthesize(spec, options=SynthOptions(max_candidates=50)).holes[0]
    assert result.status == "timeout" and "candidate budget" in result.reason
    assert result.term is None


def test_infeasible_when_the_grammar_cannot_express_the_answer(tmp_path) -> None:
    import json, shutil
    for suffix in ("_hole.yaml", "_ref.yaml"):
        shutil.copy(spec_path("fee_bps").with_name("fee_bps" + suffix), tmp_path / ("tiny" + suffix))
    data = json.loads(spec_path("fee_bps").with_name("fee_bps_hole.synth.json").read_text())
    data["grammars"][0]["productions"] = {data["grammars"][0]["start"]: ["amount", "fee_bps", "0"]}
    (tmp_path / "tiny_hole.synth.json").write_text(json.dumps(data))
    result = synthesize(load_spec(tmp_path / "tiny_hole.yaml")).holes[0]
    assert result.status == "infeasible"
    assert "fails" in result.reason  # names the counterexample that killed the last candidate


JOINT_KERNEL = """\
ir_version: "esso-ir/v1"
meta: {{model_id: joint, notes: "two holes in one field"}}
state_vars:
  - {{id: x, type: {{kind: int, min: 0, max: 100}}}}
  - {{id: y, type: {{kind: int, min: 0, max: 100}}}}
init: []
invariants: []
actions:
  - id: step
    guard: {{bool: true}}
    updates: []
    effects:
      out: {out}
"""


def test_holes_sharing_a_field_are_solved_jointly(tmp_path) -> None:
    import json
    (tmp_path / "joint_hole.yaml").write_text(JOINT_KERNEL.format(
        out='{op: "+", args: [{hole: h1}, {hole: h2}]}'))
    (tmp_path / "joint_ref.yaml").write_text(JOINT_KERNEL.format(
        out='{op: "+", args: [{var: x}, {op: "*", args: [{const: 2}, {var: y}]}]}'))
    synth = {
        "synth_version": "1.1", "scope": {"kind": "inductive"},
        "holes": [
            {"hole_id": "h1", "kind": "expr", "type": "Int", "used_in": [{"action": "step", "field": "out"}],
             "grammar_id": "G1", "semantic_constraints": []},
            {"hole_id": "h2", "kind": "expr", "type": "Int", "used_in": [{"action": "step", "field": "out"}],
             "grammar_id": "G2", "semantic_constraints": []},
        ],
        # The cheapest h1 (y) leaves h2 needing (+ x y), which G2 lacks: the joint
        # search must exclude it and settle on h1 = x, h2 = (+ y y).
        "grammars": [{"grammar_id": "G1", "start": "E", "productions": {"E": ["y", "x", "(+ x y)"]}},
                     {"grammar_id": "G2", "start": "F", "productions": {"F": ["y", "(+ y y)", "x"]}}],
        "style_profile": {"max_ast_nodes": 5},
    }
    (tmp_path / "joint_hole.synth.json").write_text(json.dumps(synth))
    spec = load_spec(tmp_path / "joint_hole.yaml")
    result = synthesize(spec)
    assert result.solved, [(h.hole_id, h.status, h.reason) for h in result.holes]
    assert {h.hole_id: h.term for h in result.holes} == {"h1": "x", "h2": "(+ y y)"}
