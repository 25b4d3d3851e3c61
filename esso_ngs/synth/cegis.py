"""The CEGIS loop for one hole: enumerate -> filter on examples -> verify -> learn.

Candidates that pass every example are verified in cost order; a counterexample
joins the example set and enumeration restarts (terms pruned as equivalent on the
old examples may differ on the new one). Hints are verified first, in rank order;
the guided search (hint-weighted) runs when no hint verifies; and when a solution
was found out of cost order, a search below its cost proves it minimal or finds a
cheaper one, as the objective MINIMIZE_COST asks.
"""
from __future__ import annotations

import heapq
import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ..limits import rss_bytes
from ..grammar import CompiledGrammar, grammar_for_hole, style_metrics
from ..lang.batched import to_array
from ..lang.expr import Expr
from ..lang.sexpr import to_sexpr
from ..spec.model import Spec
from ..verify import VerifyOptions, verify
from .enumerate import Entry, Enumerator, LevelDone, Limits
from .examples import ExampleSet
from .guidance import Guidance, Hint, learn_guidance, parse_hint
from .result import HintUse, HoleResult

Trace = Callable[[str], None]


@dataclass(frozen=True, slots=True)
class SynthOptions:
    timeout_ms: int | None = None  # None: the spec's backend.timeout_ms, else 30 s
    max_candidates: int | None = None  # deterministic budget on terms built
    minimize: bool = True  # prove minimality below a hint's or guided solution's cost
    random_examples: int = 8
    seed: int = 0
    verify: VerifyOptions = VerifyOptions(timeout_ms=5000)
    use_guidance: bool = True
    max_memory_bytes: int | None = None  # stop the search (best so far kept) past this resident size


class _Budget:
    MEMORY_CHECK_S = 0.05  # reading the resident size costs ~10 us: not on every call

    def __init__(self, deadline: float, max_candidates: int | None, result: HoleResult,
                 max_memory_bytes: int | None = None) -> None:
        self.deadline = deadline
        self.max_candidates = max_candidates
        self.result = result
        self.max_memory_bytes = max_memory_bytes
        self._next_memory_check = 0.0
        self._memory_stop: str | None = None  # sticky: every later caller must see it too

    def exceeded(self, in_flight: int = 0) -> str | None:
        """Why to stop, if so; `in_flight` counts terms built by the running enumeration."""
        now = time.perf_counter()
        if now > self.deadline:
            return "time budget spent"
        if self.max_candidates is not None and self.result.candidates + in_flight >= self.max_candidates:
            return f"candidate budget of {self.max_candidates} spent"
        if self.max_memory_bytes is not None and self._memory_stop is None and now >= self._next_memory_check:
            self._next_memory_check = now + self.MEMORY_CHECK_S
            rss = rss_bytes()
            if rss is not None and rss > self.max_memory_bytes:
                self._memory_stop = f"memory budget of {self.max_memory_bytes // 2**20} MB reached"
        return self._memory_stop


@dataclass(slots=True)
class _Search:
    """Outcome of one enumeration run (possibly many CEGIS rounds)."""

    found: Entry | None = None
    exhausted: bool = False  # every term (under the bound) was examined
    stopped: str = ""  # budget reason, if stopped
    unknown_terms: list[str] = field(default_factory=list)  # candidates Z3 could not decide
    last_rejected: Entry | None = None  # the last candidate the examples ruled out (term built lazily)


def solve_hole(spec: Spec, hole_id: str, hints: Sequence[Hint] = (), options: SynthOptions = SynthOptions(),
               trace: Trace | None = None, others: Mapping[str, Expr] | None = None,
               exclude: frozenset[str] = frozenset(), provisional: bool = False) -> HoleResult:
    """Solve one hole; `others` fixes the terms of holes solved before it, so that
    obligations shared with them are checked too; terms in `exclude` (canonical
    text) are never answers (a joint search rejected them). `provisional`: a later
    hole of the group will check the obligations this one cannot check alone, so a
    candidate with nothing left to check here is accepted for now."""
    log = trace or (lambda _msg: None)
    start = time.perf_counter()
    timeout_ms = options.timeout_ms or spec.synth.timeout_ms or 30_000
    result = HoleResult(hole_id, "unknown")
    budget = _Budget(start + timeout_ms / 1000, options.max_candidates, result, options.max_memory_bytes)
    g = grammar_for_hole(spec, hole_id)
    style = spec.synth.style
    limits = Limits.of(style)
    others = dict(others or {})
    examples = ExampleSet(spec, (hole_id,), options.random_examples, options.seed, others)
    log(f"[{hole_id}] grammar {g.grammar_id}: start {g.start}, {len(g.nonterminals)} nonterminals; "
        f"{examples.size} initial examples")

    fallback: tuple[Expr, int, str, int | None] | None = None  # term, cost, found_by, hint rank
    for rank, hint in enumerate(hints):
        if budget.exceeded():  # a hints file of thousands of near misses must not outlast the budget
            log(f"[{hole_id}] budget spent after trying {rank} hints")
            break
        if _canonical(hint) in exclude:
            result.hints.append(HintUse(rank, hint.term, "excluded", "rejected by the joint search"))
            continue
        use = _try_hint(spec, hole_id, g, hint, rank, examples, options, result, log, others)
        result.hints.append(use)
        if use.status == "verified":
            term = parse_hint(hint)
            assert term is not None
            fallback = (term, style_metrics(term, style).cost, "hint", rank)
            result.time_to_first_s = time.perf_counter() - start
            break

    if fallback is None and hints and options.use_guidance:
        guidance = learn_guidance(g, hints, limits.ast_node, limits.branch)
        if not guidance.empty or guidance.seeds:
            log(f"[{hole_id}] guided search: {sum(1 for v in guidance.rule_extra.values() if v == 0)} likely rules, "
                f"{len(guidance.seeds)} seeded subterms")
            search = _search(spec, hole_id, g, limits, examples, options, budget, result, log, guidance, None,
                             others, exclude, provisional)
            if search.found is not None:
                fallback = (search.found.term, style_metrics(search.found.term, style).cost,
                            "guided enumeration", None)
                result.time_to_first_s = time.perf_counter() - start
            elif search.stopped:
                return _finish(result, start, "timeout", reason=search.stopped)

    if fallback is not None and not options.minimize:
        return _finish(result, start, "solved", term=fallback[0], cost=fallback[1], found_by=fallback[2],
                       hint=fallback[3], minimal=False)

    bound = fallback[1] - 1 if fallback is not None else None
    if bound is not None:
        log(f"[{hole_id}] searching below cost {fallback[1]} for a cheaper term")  # type: ignore[index]
    search = _search(spec, hole_id, g, limits, examples, options, budget, result, log, None, bound, others, exclude,
                     provisional)
    if search.found is not None:
        return _finish(result, start, "solved", term=search.found.term,
                       cost=style_metrics(search.found.term, style).cost, found_by="enumeration",
                       minimal=not search.unknown_terms)
    if fallback is not None:
        proven = search.exhausted and not search.unknown_terms
        return _finish(result, start, "solved", term=fallback[0], cost=fallback[1], found_by=fallback[2],
                       hint=fallback[3], minimal=proven,
                       reason="" if proven else (search.stopped or "cheaper candidates left undecided"))
    if search.stopped:
        return _finish(result, start, "timeout", reason=search.stopped)
    if search.unknown_terms:
        return _finish(result, start, "unknown",
                       reason=f"Z3 could not decide {len(search.unknown_terms)} candidate(s), e.g. "
                              f"{search.unknown_terms[0]}")
    if search.last_rejected is not None and not result.counterexamples:
        # Name a real counterexample for the last candidate, not just "failed an example".
        rejected = search.last_rejected.term
        verdict = verify(spec, hole_id, rejected, options.verify, others=others)
        result.z3_calls += 1
        if verdict.counterexample is not None:
            result.counterexamples.append(_cex_record(to_sexpr(rejected), verdict.counterexample))
    last = result.counterexamples[-1]["describe"] if result.counterexamples else "no candidate at all"
    return _finish(result, start, "infeasible",
                   reason=f"no term of the grammar within the style profile is correct; last: {last}")


def _try_hint(spec: Spec, hole_id: str, g: CompiledGrammar, hint: Hint, rank: int, examples: ExampleSet,
              options: SynthOptions, result: HoleResult, log: Trace, others: Mapping[str, Expr]) -> HintUse:
    term = parse_hint(hint)
    if term is None:
        return HintUse(rank, hint.term, "syntax-error", "not an S-expression term")
    # --- checks already recorded on the candidate are not made again (issue 13)
    membership = hint.checks.membership_in(g) or g.check(term)
    text = hint.term
    if not membership.ok:
        log(f"[{hole_id}] hint #{rank} {text}: not in the grammar")
        return HintUse(rank, text, "not-in-grammar", membership.explanation)
    metrics = membership.style if membership.style is not None else style_metrics(term, spec.synth.style)
    if not metrics.fits:
        return HintUse(rank, text, "over-profile", "; ".join(metrics.violations))
    verdict = hint.checks.verdict
    if verdict is None or others or verdict.status not in ("verified", "refuted"):
        verdict = verify(spec, hole_id, term, options.verify, others=others)
        result.z3_calls += 1
    # --- end of the reuse of recorded checks
    log(f"[{hole_id}] hint #{rank} {text}: {verdict.status}")
    if verdict.counterexample is not None:
        examples.add(verdict.counterexample)
        result.counterexamples.append(_cex_record(text, verdict.counterexample))
    return HintUse(rank, text, verdict.status, verdict.reason)


def _search(spec: Spec, hole_id: str, g: CompiledGrammar, limits: Limits, examples: ExampleSet,
            options: SynthOptions, budget: _Budget, result: HoleResult, log: Trace,
            guidance: Guidance | None, bound: int | None, others: Mapping[str, Expr],
            exclude: frozenset[str] = frozenset(), provisional: bool = False) -> _Search:
    out = _Search()
    undecided: set[str] = set(exclude)  # never verified again, never an answer
    nesting = limits.nesting
    guided = guidance is not None
    while True:
        result.cegis_rounds += 1
        env = examples.env()
        enum = Enumerator(g, env, limits,
                          rule_extra=guidance.rule_extra if guidance else None,
                          seeds=guidance.seeds if guidance else (),
                          max_level=bound,
                          should_stop=lambda built: budget.exceeded(built) is not None)
        pending: list[tuple[int, int, Entry]] = []
        seq = 0
        restart = False
        for item in enum.terms():
            stop = budget.exceeded(enum.stats.built)
            if stop:
                break
            if isinstance(item, LevelDone):
                level = item.level
                log(_level_line(hole_id, enum, level, len(pending)))
                # The last level drains everything: no term is left to come before them.
                last = level == enum.top_level
                while pending and (guided or last or pending[0][0] <= level):
                    cost, _, entry = heapq.heappop(pending)
                    text = to_sexpr(entry.term)
                    if text in undecided:
                        continue
                    verdict = verify(spec, hole_id, entry.term, options.verify, others=others)
                    result.z3_calls += 1
                    log(f"[{hole_id}]   verify {text} (cost {cost}): {verdict.status}")
                    if verdict.ok or (provisional and verdict.obligations == 0):
                        out.found = entry
                        break
                    if verdict.status == "refuted" and verdict.counterexample is not None:
                        result.counterexamples.append(_cex_record(text, verdict.counterexample))
                        log(f"[{hole_id}]   counterexample: {_inputs(verdict.counterexample.inputs)}")
                        if examples.add(verdict.counterexample):
                            restart = True
                            break
                    undecided.add(text)
                if restart or out.found is not None:
                    break
                continue
            entry = item
            cost = entry.cost(nesting)
            if bound is not None and cost > bound:
                continue
            values = to_array(entry.value, env.size)
            if examples.passes({hole_id: values}):
                heapq.heappush(pending, (cost, seq, entry))
                seq += 1
            else:
                out.last_rejected = entry
        result.candidates += enum.stats.built
        result.candidates_kept += enum.stats.kept
        out.unknown_terms = sorted(undecided - exclude)
        if out.found is not None:
            return out
        stop = budget.exceeded(enum.stats.built)
        if stop:
            out.stopped = stop
            return out
        if not restart:
            out.exhausted = not guided
            return out
        log(f"[{hole_id}] restart with {examples.size} examples")


def _canonical(hint: Hint) -> str | None:
    return hint.term if hint.expr is not None else None


def _level_line(hole_id: str, enum: Enumerator, level: int, pending: int) -> str:
    _, built, kept = enum.stats.levels[-1]
    return (f"[{hole_id}] level {level}: built {built}, kept {kept} "
            f"(pruned so far: {enum.stats.pruned_equivalent} equivalent, {enum.stats.pruned_style} over profile); "
            f"{pending} pass the examples")


def _inputs(inputs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in inputs.items())


def _cex_record(term: str, cex) -> dict:
    record = cex.to_json()
    record["candidate"] = term
    record["describe"] = f"{term} fails {cex.obligation} ({cex.label}) at {_inputs(dict(cex.inputs))}"
    return record


def _finish(result: HoleResult, start: float, status: str, term: Expr | None = None, cost: int | None = None,
            found_by: str = "", hint: int | None = None, minimal: bool = False, reason: str = "") -> HoleResult:
    result.status = status
    result.term = to_sexpr(term) if term is not None else None
    result.cost = cost
    result.found_by = found_by
    result.winning_hint = hint
    result.minimal = minimal
    result.reason = reason
    result.time_s = time.perf_counter() - start
    if status == "solved" and result.time_to_first_s is None:
        result.time_to_first_s = result.time_s
    return result
