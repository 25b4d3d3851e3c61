"""Validation tiers on benchmark specs, and the ranking order, unit by unit."""
from __future__ import annotations

import pytest

from esso_ngs.errors import UserError
from esso_ngs.grammar import grammar_for_hole
from esso_ngs.verify.candidate import Candidate, rank
from esso_ngs.verify.tiers import (CheapCheck, Checks, ExamplesCheck, FullCheck, TierTimes, ValidationSettings,
                                     check_cheap, check_examples, check_full, tier_counts, tier_level, validate)
from esso_ngs.formats import load_spec

from .helpers import INTENDED, WRONG, spec_file

FEE = "(safe_div (* amount fee_bps) 10000)"


@pytest.fixture(scope="module")
def fee_spec():
    return load_spec(spec_file("fee_bps"))


def test_cheap_tier(fee_spec) -> None:
    g = grammar_for_hole(fee_spec, "fee_expr")
    ok = check_cheap(fee_spec, g, FEE)
    assert ok.ok and ok.in_grammar and ok.style_fits and ok.cost == 5
    off = check_cheap(fee_spec, g, "(+ amount 1)")
    assert not off.ok and not off.in_grammar and "not in the grammar" in off.reason
    broken = check_cheap(fee_spec, g, "(safe_div amount")
    assert not broken.ok and broken.cost is None and "not a term" in broken.reason
    # in the grammar but over max_ast_nodes 8
    big = "(ite (<= amount fee_bps) (safe_div (* amount fee_bps) 10000) (safe_div (* amount fee_bps) 100))"
    over = check_cheap(fee_spec, g, big)
    assert over.in_grammar and not over.style_fits and not over.ok and "style profile" in over.reason


def test_examples_tier_against_the_reference(fee_spec) -> None:
    wrong = "(safe_div (* amount fee_bps) 100)"
    good, bad, trivial = check_examples(fee_spec, "fee_expr", [FEE, wrong, "amount"], n=5000)
    assert good.passed and good.mismatches == 0 and good.inputs > 0 and good.against == "reference"
    assert not bad.passed and 0 < bad.mismatch_rate <= 1 and bad.first_mismatch is not None
    m = bad.first_mismatch
    # the first mismatch is a real one, described with exact values
    amount, bps = m["inputs"]["amount"], m["inputs"]["fee_bps"]
    assert m["term_value"] == amount * bps // 100
    if m["obligation"] == "reference":
        assert m["expected"] == amount * bps // 10000 != m["observed"]
    assert not trivial.passed and trivial.mismatch_rate > 0
    assert good.engine == "numpy" or good.engine.startswith("torch:")


def test_examples_tier_without_a_reference_checks_the_constraints() -> None:
    spec = load_spec(spec_file("fee_floor"))
    [good, bad] = check_examples(spec, "fee_floor", [INTENDED["fee_floor"]["fee_floor"],
                                                     WRONG["fee_floor"]["fee_floor"][0]], n=4000)
    assert good.passed and good.against == "constraints"
    assert not bad.passed and bad.first_mismatch["obligation"] == "constraint"


def test_full_tier(fee_spec) -> None:
    v = check_full(fee_spec, "fee_expr", FEE, timeout_ms=8000)
    assert v.status == "verified" and v.counterexample is None
    r = check_full(fee_spec, "fee_expr", "amount", timeout_ms=8000)
    assert r.status == "refuted" and r.counterexample["inputs"]


def test_validate_runs_tiers_in_order_and_only_where_useful(fee_spec) -> None:
    cands = [Candidate(t) for t in (FEE, "(safe_div (* amount fee_bps) 100)", "(+ amount 1)")]
    checks = [c.checks for c in cands]
    times = TierTimes()
    validate(fee_spec, "fee_expr", cands, ValidationSettings(tier="full", example_inputs=3000), times)
    good, wrong, off = checks
    assert good.passes("full") and good.full.status == "verified"
    assert wrong.cheap.ok and not wrong.examples.passed and wrong.full is None  # refuted on samples: no Z3
    assert not off.cheap.ok and off.examples is None and off.full is None
    assert times.checked == {"cheap": 3, "examples": 2, "full": 1}
    assert tier_counts(checks) == {"candidates": 3, "cheap": 2, "examples": 1, "full": 1}
    # a failure is described for the next prompt: the examples mismatch with its input
    f = wrong.failure()
    assert f["inputs"] and "got" in f
    assert "grammar" in off.failure()["reason"]
    # rerunning does nothing new
    validate(fee_spec, "fee_expr", cands, ValidationSettings(tier="full", example_inputs=3000), times)
    assert times.checked == {"cheap": 3, "examples": 2, "full": 1}


def test_tier_none_checks_nothing(fee_spec) -> None:
    cand = Candidate("(+ amount 1)")
    validate(fee_spec, "fee_expr", [cand], ValidationSettings(tier="none"))
    assert cand.checks.cheap is None and cand.checks.passes("none")


def test_unknown_tier_is_a_user_error() -> None:
    with pytest.raises(UserError, match="unknown validation tier"):
        tier_level("fast")
    with pytest.raises(UserError):
        ValidationSettings(tier="fast")


def _cand(term: str, count: int = 1, first: int = 0, cheap: bool | None = None, cost: int | None = None,
          examples: bool | None = None, rate: float = 0.0, full: str | None = None) -> Candidate:
    ch = Checks()
    if cheap is not None:
        ch.cheap = CheapCheck(cheap, cheap, True, cost)
    if examples is not None:
        ch.examples = ExamplesCheck(examples, 1000, int(rate * 1000), "reference")
    if full is not None:
        ch.full = FullCheck(full)
    return Candidate(term, source="test", count=count, first_seen=first, stage="single", checks=ch)


def test_ranking_order() -> None:
    c = _cand
    cands = [
        c("off-grammar, frequent", count=50, first=0, cheap=False, cost=3),
        c("cheap only", count=9, first=1, cheap=True, cost=5),
        c("examples, rare", count=1, first=2, cheap=True, cost=9, examples=True),
        c("verified, rarest", count=1, first=9, cheap=True, cost=20, examples=True, full="verified"),
        c("examples, frequent", count=3, first=3, cheap=True, cost=9, examples=True),
        c("cheap, low rate", count=2, first=4, cheap=True, cost=7, examples=False, rate=0.01),
        c("cheap, high rate", count=2, first=5, cheap=True, cost=5, examples=False, rate=0.5),
        c("cheap, high rate, costlier", count=2, first=6, cheap=True, cost=6, examples=False, rate=0.5),
        c("cheap, high rate, costlier, later", count=2, first=7, cheap=True, cost=6, examples=False, rate=0.5),
    ]
    order = [x.term for x in rank(cands)]
    assert order == [
        "verified, rarest",  # full-verified first, whatever else
        "examples, frequent",  # then examples-passed, by frequency
        "examples, rare",
        "cheap only",  # then cheap-passed by frequency (9x beats 2x)
        "cheap, low rate",  # equal frequency: lower mismatch rate
        "cheap, high rate",  # equal rate: lower cost
        "cheap, high rate, costlier",  # equal cost: first seen
        "cheap, high rate, costlier, later",
        "off-grammar, frequent",  # frequency never lifts a candidate over a failed tier
    ]
