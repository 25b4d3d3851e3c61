"""Hint repair's moves on the hard suite's near hints (benchmarks/specs_hard): a
missing root guard whose other branch is a term, two leaves swapped, and the pass
patterns that let a guard be checked without a row per combination."""
from __future__ import annotations

import json
from functools import lru_cache
from typing import Any

import numpy as np
import pytest

from esso_ngs.formats import load_spec
from esso_ngs.grammar import grammar_for_hole
from esso_ngs.lang.batched import BatchValue, batch_value, to_array
from esso_ngs.lang.expr import Expr, Ite, children, walk
from esso_ngs.synth import Hint, SynthOptions, synthesize
from esso_ngs.synth.enumerate import Limits
from esso_ngs.synth.examples import ExampleSet
from esso_ngs.synth.repair import Repairer
from esso_ngs.verify import VerifyOptions, verify

from benchspecs import ROOT

HARD = ROOT / "benchmarks" / "specs_hard"


@lru_cache(maxsize=1)
def hard_manifest() -> dict[str, dict[str, Any]]:
    return {e["prefix"]: e for e in json.loads((HARD / "manifest.json").read_text())["specs"]}


def near(kind: str) -> list[tuple[str, str, str]]:
    """(spec, hole, near hint) for every hole of the hard suite with a near hint of this kind."""
    return [(p, h, v["near"][kind]) for p, e in sorted(hard_manifest().items())
            for h, v in e["holes"].items() if kind in v.get("near", {})]


def repairer_for(prefix: str, hole_id: str, hint: str) -> tuple[Repairer, ExampleSet, Any]:
    """A repairer on the examples a synthesis run has once the hint is refuted."""
    spec = load_spec(HARD / f"{prefix}_hole.yaml")
    examples = ExampleSet(spec, (hole_id,))
    term = Hint(hint).expr
    verdict = verify(spec, hole_id, term, VerifyOptions(timeout_ms=5000))
    assert verdict.status == "refuted"
    if verdict.counterexample is not None:
        examples.add(verdict.counterexample)
    return Repairer(grammar_for_hole(spec, hole_id), examples.env(), Limits.of(spec.synth.style)), examples, spec


def test_a_missing_root_guard_gets_a_term_as_its_other_branch() -> None:
    """kinked_rate's guard hint is one branch alone; the other is a 5-node term, which a
    guard with an atom cannot give: the enumerated small terms do."""
    prefix, hole_id = "kinked_rate", "rate"
    hint = hard_manifest()[prefix]["holes"][hole_id]["near"]["guard"]
    repairer, examples, spec = repairer_for(prefix, hole_id, hint)
    term = Hint(hint).expr
    found, work = repairer.neighbours(term, lambda v, m: examples.passes_each(hole_id, v, m), 50_000)
    assert 0 < work
    wraps = [n for n in found if isinstance(n.term, Ite) and term in (n.term.then, n.term.else_)]
    assert wraps
    verdicts = [verify(spec, hole_id, n.term, VerifyOptions(timeout_ms=5000)) for n in wraps[:12]]
    correct = [n for n, v in zip(wraps, verdicts) if v.ok]
    assert correct, [str(n.term) for n in wraps[:12]]
    other = correct[0].term.then if correct[0].term.else_ == term else correct[0].term.else_  # type: ignore[union-attr]
    assert sum(1 for _ in walk(other)) == 5 and correct[0].edits == 2  # an enumerated term, not an atom


def test_guard_wraps_pass_the_examples_term_by_term() -> None:
    """The pass-pattern product keeps exactly wraps that pass every example: each one,
    evaluated alone, passes."""
    prefix, hole_id = "kinked_rate", "rate"
    hint = hard_manifest()[prefix]["holes"][hole_id]["near"]["guard"]
    repairer, examples, _ = repairer_for(prefix, hole_id, hint)
    term = Hint(hint).expr
    each = lambda v, m: examples.passes_each(hole_id, v, m)  # noqa: E731
    value = batch_value(term, repairer.env)
    hint_ok = each(BatchValue(to_array(value, repairer.env.size)[None, :], value.lo, value.hi), 1)[0]
    assert not hint_ok.all()
    near, _ = repairer.guard_wraps(term, (), hint_ok, each)
    enumerated, _ = repairer.guard_wraps(term, (), hint_ok, each, enumerated=True)
    assert enumerated and all(edits == 2 for edits, _ in enumerated)
    wraps = near + enumerated
    env = examples.env()
    for _, wrapped in wraps:
        assert examples.passes({hole_id: to_array(batch_value(wrapped, env), env.size)}), str(wrapped)


@pytest.mark.parametrize("prefix,hole_id,hint", near("swapped"), ids=[p for p, _, _ in near("swapped")])
def test_swapped_leaves_are_one_edit(prefix: str, hole_id: str, hint: str) -> None:
    """A near hint with two variables swapped: among its one-edit neighbours (found before
    any guard or pair of edits) is the hint with two leaves exchanged, and it verifies."""
    repairer, examples, spec = repairer_for(prefix, hole_id, hint)
    term = Hint(hint).expr
    one_edit = []
    for found, _ in repairer.stages(term, lambda v, m: examples.passes_each(hole_id, v, m), 50_000):
        if any(n.edits > 1 or isinstance(n.term, Ite) and not isinstance(term, Ite) for n in found):
            break
        one_edit += found
    leaves = [t for _, t in walk(term) if not children(t)]

    def swapped(t: Expr) -> bool:
        other = [x for _, x in walk(t) if not children(x)]
        diff = [(a, b) for a, b in zip(leaves, other) if a != b]
        return len(other) == len(leaves) and len(diff) == 2 and diff[0] == diff[1][::-1]

    verified = [n.term for n in one_edit if verify(spec, hole_id, n.term, VerifyOptions(timeout_ms=5000)).ok]
    assert any(swapped(t) for t in verified), [str(n.term) for n in one_edit]


@pytest.mark.parametrize("prefix,hole_id,hint", near("guard"), ids=[p for p, _, _ in near("guard")])
def test_every_missing_guard_of_the_hard_suite_is_repaired_to_a_verified_term(prefix: str, hole_id: str,
                                                                              hint: str) -> None:
    spec = load_spec(HARD / f"{prefix}_hole.yaml")
    # Deterministic: a candidate budget of 1 leaves the enumerator nothing; repair has its own budget.
    options = SynthOptions(max_candidates=1, minimize=False, use_guidance=False, guided_cap=False,
                           repair_terms=50_000)
    hole = synthesize(spec, {hole_id: [Hint(hint)]}, options).hole(hole_id)
    assert hole.status == "solved" and hole.found_by == "hint repair" and hole.candidates == 0, hole
    assert verify(spec, hole_id, Hint(hole.term).expr, VerifyOptions(timeout_ms=5000)).ok


def test_int64_rows_beside_exact_int_rows_stack_at_once_as_exact_ints() -> None:
    from esso_ngs.synth.repair import stack_values
    big = 2**70
    small = BatchValue(np.array([1, -2, 3], dtype=np.int64), -2, 3)
    exact = BatchValue(np.array([big, 0, -big], dtype=object), -big, big)
    constant = BatchValue(7, 7, 7)  # a scalar: broadcast, through the general path
    stacked = stack_values([small, exact], 3)
    assert stacked is not None and stacked.data.dtype == object and (stacked.lo, stacked.hi) == (-big, big)
    assert stacked.data.tolist() == [[1, -2, 3], [big, 0, -big]]
    general = stack_values([small, exact, constant], 3)
    assert general is not None and general.data.tolist() == [[1, -2, 3], [big, 0, -big], [7, 7, 7]]
    assert (general.lo, general.hi) == (-big, big)
