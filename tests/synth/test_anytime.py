"""Anytime synthesis (a verified hint is an answer at once, minimality after),
hints streaming in, and hint repair of near hints of each kind."""
from __future__ import annotations

import threading

import pytest

from esso_ngs.formats import load_spec
from esso_ngs.synth import Hint, HintStream, HoleResult, SynthOptions, SynthResult, synthesize

from benchspecs import manifest, spec_path

INTENDED = {e["prefix"]: {h: v["intended"] for h, v in e["holes"].items()} for e in manifest()}
# Correct but not minimal (7 nodes; the answer has 5).
COSTLY = "(- (* price now) (* price last_ts))"


def test_verified_hint_is_reported_at_once_then_replaced_by_a_proven_cheaper_term() -> None:
    spec = load_spec(spec_path("twap_accumulator"))
    updates: list[SynthResult] = []
    result = synthesize(spec, {"twap_increment": [Hint(COSTLY)]}, SynthOptions(timeout_ms=60_000),
                        on_update=updates.append)
    first = updates[0].hole("twap_increment")
    assert first.status == "solved" and first.term == COSTLY and not first.minimal and first.found_by == "hint"
    hole = result.hole("twap_increment")
    assert hole.term == INTENDED["twap_accumulator"]["twap_increment"] and hole.minimal and hole.found_by == "enumeration"
    assert hole.cost < first.cost
    assert hole.time_to_first_s <= hole.time_to_minimal_s == hole.time_s
    assert updates[-1].hole("twap_increment").minimal  # the last update is the final answer


def test_verified_hint_proven_minimal_keeps_it() -> None:
    spec = load_spec(spec_path("twap_accumulator"))
    hole = synthesize(spec, {"twap_increment": [Hint(INTENDED["twap_accumulator"]["twap_increment"])]},
                      SynthOptions(timeout_ms=60_000)).hole("twap_increment")
    assert hole.found_by == "hint" and hole.minimal and hole.time_to_minimal_s is not None


def test_without_minimizing_the_hint_stands_unproven() -> None:
    spec = load_spec(spec_path("twap_accumulator"))
    hole = synthesize(spec, {"twap_increment": [Hint(COSTLY)]},
                      SynthOptions(timeout_ms=60_000, minimize=False)).hole("twap_increment")
    assert hole.term == COSTLY and not hole.minimal and hole.time_to_minimal_s is None and hole.candidates == 0


def test_hints_arriving_on_a_stream_are_taken_and_generation_is_cancelled_when_done() -> None:
    spec = load_spec(spec_path("twap_accumulator"))
    stream = HintStream()
    producer_saw_cancel = threading.Event()

    def produce() -> None:
        stream.put([Hint("(foo"), Hint(COSTLY)])
        stream.close()

    produce()
    result = synthesize(spec, {"twap_increment": stream}, SynthOptions(timeout_ms=60_000)).hole("twap_increment")
    if stream.cancelled:
        producer_saw_cancel.set()
    assert [u.status for u in result.hints] == ["syntax-error", "verified"]
    assert result.minimal and producer_saw_cancel.is_set()


def test_an_open_stream_does_not_hold_the_search_back() -> None:
    spec = load_spec(spec_path("twap_accumulator"))
    stream = HintStream()  # never closed, never fed: the search answers alone
    hole = synthesize(spec, {"twap_increment": stream}, SynthOptions(timeout_ms=60_000)).hole("twap_increment")
    assert hole.status == "solved" and hole.minimal and stream.cancelled


# (spec, near hint): one near hint of each kind, repaired without enumerating.
NEAR = [
    ("withdraw_pro_rata", "(safe_div (* shares supply) reserve)"),  # swapped variables
    ("swap_fee_total", "(safe_div (* amount_in fee_bps) 1000)"),  # wrong constant
    ("impact_cap", "(max (safe_div (* reserve_out amount_in) (+ reserve_in amount_in)) "
                   "(safe_div (* reserve_out max_impact_bps) 10000))"),  # wrong operator
    ("fee_free_allowance", "(- amount free_allowance)"),  # missing ite guard
]


@pytest.mark.parametrize("prefix,near", NEAR, ids=[n[0] for n in NEAR])
def test_near_hint_is_repaired_without_enumeration(prefix: str, near: str) -> None:
    spec = load_spec(spec_path(prefix))
    hole_id, intended = next(iter(INTENDED[prefix].items()))
    # Deterministic: a candidate budget of 1 leaves the enumerator nothing; repair has its own budget.
    options = SynthOptions(max_candidates=1, minimize=False, use_guidance=False, guided_cap=False,
                           repair_terms=50_000)
    hole: HoleResult = synthesize(spec, {hole_id: [Hint(near)]}, options).hole(hole_id)
    assert hole.hints[0].status == "refuted"
    assert hole.status == "solved" and hole.found_by == "hint repair" and hole.winning_hint == 0, hole
    assert hole.candidates == 0 and 0 < hole.repair_terms <= 50_000 + 10_000
    assert hole.term == intended or hole.cost <= spec_cost(prefix, hole_id)


def spec_cost(prefix: str, hole_id: str) -> int:
    return next(e for e in manifest() if e["prefix"] == prefix)["holes"][hole_id]["cost"]


def test_repair_off_leaves_the_near_hint_to_the_search() -> None:
    spec = load_spec(spec_path("swap_fee_total"))
    options = SynthOptions(max_candidates=1, minimize=False, use_guidance=False, repair_terms=0)
    hole = synthesize(spec, {"swap_fee": [Hint("(safe_div (* amount_in fee_bps) 1000)")]}, options).hole("swap_fee")
    assert hole.status == "timeout" and hole.repair_terms == 0


def test_seeded_hint_subterm_is_a_cheap_atom_for_the_guided_search() -> None:
    spec = load_spec(spec_path("fee_free_allowance"))
    plain = synthesize(spec, options=SynthOptions(timeout_ms=60_000)).hole("chargeable")
    # No repair: the guided search alone must find `(ite C 0 SEEDED)` with SEEDED = the hint.
    options = SynthOptions(timeout_ms=60_000, minimize=False, repair_terms=0, guided_cap=False)
    hole = synthesize(spec, {"chargeable": [Hint("(- amount free_allowance)")]}, options).hole("chargeable")
    assert hole.status == "solved" and hole.found_by == "guided enumeration"
    assert hole.candidates < plain.candidates / 2, (hole.candidates, plain.candidates)


def test_useless_hints_get_no_more_than_their_share_of_the_time(monkeypatch: pytest.MonkeyPatch) -> None:
    """All hint work on useless hints (checking them, repair, guided enumeration) is
    held to HINT_SHARE of the time elapsed, the step in progress counted (a guided
    level stops past GUIDED_STRETCH times the share). A fake clock makes time
    deterministic: 1 ms per reading, and 5 ms per term the enumerators yield (their work)."""
    import types
    from esso_ngs.synth import cegis

    ticks = [0.0]

    def clock() -> float:
        ticks[0] += 0.001
        return ticks[0]

    class Working(cegis.Enumerator):
        def terms(self):  # type: ignore[no-untyped-def]
            for item in super().terms():
                ticks[0] += 0.005
                yield item

    monkeypatch.setattr(cegis, "time", types.SimpleNamespace(perf_counter=clock))
    monkeypatch.setattr(cegis, "Enumerator", Working)
    spec = load_spec(spec_path("dyn_fee").parents[1] / "specs_hard" / "dyn_fee_hole.yaml")
    garbage = [Hint("(+ 0 0)"), Hint("(safe_div (safe_div (safe_div 1 1) 1) 1)"), Hint("(* base_bps 3)")]
    hole = synthesize(spec, {"fee_expr": garbage}, SynthOptions(timeout_ms=20_000)).hole("fee_expr")
    assert hole.repair_terms > 0 and hole.guidance_s > 0.05  # the hints were repaired and guided a search
    cap = cegis.GUIDED_STRETCH * cegis.HINT_SHARE * hole.time_s
    assert hole.guidance_s <= cap, (hole.guidance_s, cap)
