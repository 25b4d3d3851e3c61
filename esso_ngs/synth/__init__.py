"""Synthesis: enumerative CEGIS with Z3, cost-minimizing, with ranked hints in-process.

Holes that share an obligation (a field holding both, an invariant over both
updates) form a group; independent holes are solved separately. Within a group,
holes are solved in spec order, each with the terms of the earlier ones fixed, so
shared obligations are checked as soon as both terms are known; when a later hole
has no answer under an earlier hole's term, that term is excluded and the earlier
hole is solved again (a bounded joint search). A final joint verification checks
every obligation with all terms in place: holes failing it are `unknown`, never solved.
"""
from __future__ import annotations

import time
from typing import Callable, Mapping, Sequence

from ..cpu import search_running
from ..lang.expr import Expr
from ..lang.sexpr import parse_term
from ..formats.model import Spec
from ..verify import obligations_for, verify_terms
from ..verify.realizability import check_realizability
from .cegis import Joint, SynthOptions, Trace, hole_budget_ms, solve_hole
from .guidance import Hint
from .result import HintUse, HoleResult, SynthResult
from .stream import HintStream

__all__ = ["Hint", "HintStream", "HintUse", "HoleResult", "SynthOptions", "SynthResult", "hole_budget_ms",
           "synthesize"]

Hints = Mapping[str, Sequence[Hint] | HintStream]  # hole id -> ranked hints, or a stream of them
OnResult = Callable[[SynthResult], None]

MAX_JOINT_TRIES = 4  # terms of an earlier hole tried before a group gives up


def hole_groups(spec: Spec) -> list[list[str]]:
    """Holes linked by a shared obligation, in spec order (union-find over obligations)."""
    order = [h.hole_id for h in spec.synth.holes]
    parent = {h: h for h in order}

    def find(h: str) -> str:
        while parent[h] != h:
            h = parent[h]
        return h

    for h in order:
        for ob in obligations_for(spec, h).obligations:
            for other in ob.holes:
                if other in parent:
                    parent[find(other)] = find(h)
    groups: dict[str, list[str]] = {}
    for h in order:
        groups.setdefault(find(h), []).append(h)
    return list(groups.values())


def synthesize(spec: Spec, hints: Hints | None = None, options: SynthOptions = SynthOptions(),
               trace: Trace | None = None, on_update: OnResult | None = None) -> SynthResult:
    """Fill every hole of `spec`. `hints` maps hole ids to ranked hints (best first),
    or to streams of hints still arriving (generated concurrently). `on_update` is
    called with the result so far each time a hole gets a cheaper verified term
    (not yet proven minimal) and each time a hole is done."""
    start = time.perf_counter()
    hints = hints or {}
    by_id: dict[str, HoleResult] = {}

    def report(hole: HoleResult) -> None:
        if on_update is None:
            return
        holes = [by_id.get(h.hole_id) or HoleResult(h.hole_id, "unknown", reason="in progress")
                 for h in spec.synth.holes]
        holes = [hole if h.hole_id == hole.hole_id else h for h in holes]
        on_update(SynthResult(spec.name, holes, time.perf_counter() - start, list(spec.warnings)))

    with search_running():  # a model generating hints alongside leaves this core to the search
        results = _solve_groups(spec, hints, options, trace, by_id, report)
    solved = [r for r in results if r.status == "solved" and r.term]
    if len(solved) > 1:
        joint = verify_terms(spec, {r.hole_id: parse_term(r.term) for r in solved}, options.verify)
        if joint.status != "verified":
            for r in results:
                if r.status == "solved":
                    r.status = "unknown"
                    r.minimal = False
                    r.reason = f"the holes' terms together are {joint.status}: {joint.describe()}"
    return SynthResult(spec.name, results, time.perf_counter() - start, list(spec.warnings))


def _solve_groups(spec: Spec, hints: Hints, options: SynthOptions, trace: Trace | None,
                  by_id: dict[str, HoleResult], report: Callable[[HoleResult], None]) -> list[HoleResult]:
    """Every group of holes in turn (infeasible ones reported without a search)."""
    for group in hole_groups(spec):
        blocked = infeasible_results(spec, group, trace)  # no search can succeed
        for h in group if blocked else ():
            source = hints.get(h)
            if isinstance(source, HintStream):
                source.cancel()  # hints cannot help an infeasible hole
        for result in blocked or _solve_group(spec, group, {}, hints, options, trace,
                                              report if len(group) == 1 else None):
            by_id[result.hole_id] = result
            report(result)
    return [by_id[h.hole_id] for h in spec.synth.holes]


def _solve_group(spec: Spec, group: list[str], fixed: dict[str, Expr], hints: Hints,
                 options: SynthOptions, trace: Trace | None,
                 on_update: Callable[[HoleResult], None] | None = None) -> list[HoleResult]:
    """Results for `group` (in order), each hole solved under the terms in `fixed`.
    `on_update` hears of verified terms (only for a hole alone in its group: in a
    group, a term is an answer only once the later holes have one under it)."""
    hole_id, rest = group[0], group[1:]
    excluded: set[str] = set()
    for attempt in range(MAX_JOINT_TRIES):
        result = solve_hole(spec, hole_id, hints.get(hole_id, ()), options, trace,
                            Joint(dict(fixed), frozenset(excluded), provisional=bool(rest)), on_update=on_update)
        if result.status != "solved" or result.term is None or not rest:
            return [result] + [_skipped(h, hole_id) for h in rest if result.status != "solved"]
        later = _solve_group(spec, rest, {**fixed, hole_id: parse_term(result.term)}, hints, options, trace)
        if all(r.status == "solved" for r in later) or any(r.status == "timeout" for r in later):
            return [result] + later
        if trace:
            trace(f"[{hole_id}] joint search: no answer for {rest[0]} under {result.term}; excluding it")
        excluded.add(result.term)
    result.status = "unknown"
    result.minimal = False
    result.reason = (f"joint search gave up after {MAX_JOINT_TRIES} terms of {hole_id}: "
                     f"the holes {', '.join(rest)} had no answer under any of them")
    return [result] + later


def infeasible_results(spec: Spec, group: list[str], trace: Trace | None) -> list[HoleResult]:
    """Results for `group` when one of its holes is infeasible (checked before any search), else []."""
    found = {h: check_realizability(spec, h) for h in group}
    bad = [h for h in group if found[h].infeasible]
    if trace:
        for h, r in found.items():
            trace(f"[{h}] realizability: {r.describe()}")
    if not bad:
        return []
    return [HoleResult(h, "infeasible", reason=found[h].describe(), counterexamples=[found[h].to_json()])
            if h in bad else _skipped(h, bad[0]) for h in group]


def _skipped(hole_id: str, blocker: str) -> HoleResult:
    return HoleResult(hole_id, "unknown", reason=f"not attempted: {blocker} (which it shares obligations with) "
                                                 "was not solved")
