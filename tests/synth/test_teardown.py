"""A search ends by its deadline *including* the time freeing its banks takes afterwards
and the step that cannot pause in progress at the deadline (`Enumerator.stop_margin_s`,
`cegis._Budget.enumerators`): up to a second on a search of a million terms, which used
to land after the budget (benchmarks/results/budget.md)."""
from __future__ import annotations

import time
import weakref
from pathlib import Path

import pytest

from esso_ngs.formats import load_spec
from esso_ngs.grammar import grammar_for_hole
from esso_ngs.synth import SynthOptions, cegis, enumerate as enumerate_mod
from esso_ngs.synth.cegis import solve_hole
from esso_ngs.synth.examples import ExampleSet
from esso_ngs.synth.result import HoleResult

HARD = Path(__file__).resolve().parents[2] / "benchmarks" / "specs_hard"
SPEC = HARD / "utilization_hole.yaml"  # solved unguided in about a second: 44,000 terms kept


def _spec_and_hole():
    spec = load_spec(SPEC)
    return spec, spec.synth.holes[0].hole_id


def test_the_stop_comes_before_the_deadline_by_the_teardown_of_the_enumerators_running() -> None:
    spec, hole = _spec_and_hole()
    enum = enumerate_mod.Enumerator(grammar_for_hole(spec, hole), ExampleSet(spec, (hole,), 8, 0).env(),
                                    enumerate_mod.Limits.of(spec.synth.style))
    budget = cegis._Budget(time.perf_counter() + 100.0, None, HoleResult(hole, "unknown"))
    assert budget.exceeded() is None
    budget.enumerators["a search"] = enum
    enum.stats.kept = round(50 / enumerate_mod.TEARDOWN_S_PER_KEPT)  # 50 s to free: the deadline is still 100 s away
    assert budget.margin_s() == pytest.approx(50.0)
    assert budget.exceeded() is None
    enum.longest_step_s = 30.0  # the next chunk may take 30 s: still 20 s to spare
    assert budget.margin_s() == pytest.approx(80.0) and budget.exceeded() is None
    enum.longest_step_s = 60.0  # or 60 s: it would end 10 s late
    assert budget.exceeded() == "time budget spent"
    del budget.enumerators["a search"]  # that search ended, freed: its margin is gone...
    assert budget.margin_s() == 0.0
    assert budget.exceeded() == "time budget spent"  # ...but once spent, the budget stays spent for every caller


def test_the_enumerator_knows_its_longest_steps_that_cannot_pause() -> None:
    spec, hole = _spec_and_hole()
    enum = enumerate_mod.Enumerator(grammar_for_hole(spec, hole), ExampleSet(spec, (hole,), 8, 0).env(),
                                    enumerate_mod.Limits.of(spec.synth.style),
                                    should_stop=lambda built: built >= 20_000)
    assert enum.stop_margin_s() == 0.0
    for _ in enum.terms():
        pass
    assert enum.stopped and enum.stats.kept > 0
    assert enum.longest_step_s > 0  # it built in bulk, from stacked banks
    assert enum.stop_margin_s() == pytest.approx(enum.teardown_s() + enum.longest_step_s)


def test_a_search_that_cannot_free_its_banks_in_time_stops_at_once(monkeypatch) -> None:
    spec, hole = _spec_and_hole()
    solved = solve_hole(spec, hole, (), SynthOptions(timeout_ms=60_000))
    assert solved.status == "solved" and solved.candidates_kept > 1_000
    # Each kept term now takes an hour to free: the first check after any is kept stops it.
    monkeypatch.setattr(enumerate_mod, "TEARDOWN_S_PER_KEPT", 3600.0)
    stopped = solve_hole(spec, hole, (), SynthOptions(timeout_ms=60_000))
    assert (stopped.status, stopped.reason) == ("timeout", "time budget spent")
    assert stopped.candidates < solved.candidates  # it stopped for the teardown, 60 s before the deadline


def test_the_budget_knows_the_running_search_and_forgets_it_freed_once_it_ends(monkeypatch) -> None:
    budgets: list[cegis._Budget] = []
    enumerators: list[weakref.ref] = []
    seen_running: list[int] = []

    class Budget(cegis._Budget):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            budgets.append(self)

    class Enumerator(cegis.Enumerator):
        def __init__(self, *args, **kwargs) -> None:
            super().__init__(*args, **kwargs)
            enumerators.append(weakref.ref(self))

    monkeypatch.setattr(cegis, "_Budget", Budget)
    monkeypatch.setattr(cegis, "Enumerator", Enumerator)

    def trace(line: str) -> None:
        if " level " in line and budgets:  # a level's end, inside the search
            running = list(budgets[0].enumerators.values())
            seen_running.append(len(running))
            assert all(any(r() is e for r in enumerators) for e in running)

    spec, hole = _spec_and_hole()
    assert solve_hole(spec, hole, (), SynthOptions(timeout_ms=60_000), trace=trace).status == "solved"
    assert seen_running and set(seen_running) == {1}  # the cost-ordered search's enumerator, while it runs
    assert budgets[0].enumerators == {}
    assert enumerators and all(r() is None for r in enumerators)  # freed before the result came back


def test_each_z3_query_is_capped_at_the_time_the_hole_has_left(monkeypatch: pytest.MonkeyPatch) -> None:
    spec, hole = _spec_and_hole()
    seen: list[int] = []
    verify = cegis.verify

    def recording(spec, hole_id, term, options, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(options.timeout_ms)
        return verify(spec, hole_id, term, options, **kwargs)

    monkeypatch.setattr(cegis, "verify", recording)
    result = solve_hole(spec, hole, options=SynthOptions(timeout_ms=60_000))
    assert result.status == "solved" and seen and max(seen) == SynthOptions().verify.timeout_ms
    seen.clear()
    # A hole with 2 s in all (it solves in a fraction of that): no query may be given the full 5 s.
    solve_hole(spec, hole, options=SynthOptions(timeout_ms=2000))
    assert seen and max(seen) <= 2000
