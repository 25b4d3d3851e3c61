"""The CEGIS loop for one hole: enumerate -> filter on examples -> verify -> learn.

Candidates that pass every example are verified in cost order; a counterexample
joins the example set and enumeration restarts (terms pruned as equivalent on the
old examples may differ on the new one).

Anytime. Hints arrive on a stream (all at once from a file, or one by one from a
model generating in another thread) and are taken between enumeration levels.
Each is verified as it arrives; a verified hint is an answer at once (reported
through `on_update`, not minimal yet). A hint that fails is repaired (its
neighbourhood within two edits, `repair.py`), and all hints guide a second,
hint-weighted enumeration whose seeded hint subterms count as cheap atoms. The
cost-ordered search runs throughout: it ends when it has examined every term
cheaper than the answer in hand (then that answer is proven minimal, as
MINIMIZE_COST asks), when it finds a cheaper one (minimal by construction), or when
the budget is spent. Minimality is only ever claimed from that true-cost search.

Guidance never costs much: repair and guided enumeration together get at most
`GUIDED_ALLOWANCE_S` plus `GUIDED_SHARE` of the time the cost-ordered search has
run; a garbage hint then slows the search by about that share. Verifying an
arriving hint (one verifier call) is not capped: it is how an exact hint wins.
"""
from __future__ import annotations

import contextlib
import dataclasses
import heapq
import time
from dataclasses import dataclass, field
from typing import Callable, Generator, Iterator, Mapping, Sequence

from ..limits import rss_bytes
from ..grammar import CompiledGrammar, check_term, grammar_for_hole, style_metrics
from ..lang.batched import batch_value, to_array
from ..lang.expr import Expr
from ..lang.sexpr import to_sexpr
from ..formats.model import Spec
from ..verify import VerifyOptions, verify
from ..wording import plural
from .enumerate import Entry, Enumerator, LevelDone, Limits
from .examples import ExampleSet
from .guidance import Guidance, Hint, learn_guidance, parse_hint
from .repair import Repairer
from .result import HintUse, HoleResult
from .stream import HintStream

Trace = Callable[[str], None]
OnUpdate = Callable[[HoleResult], None]  # a snapshot each time a cheaper verified term is known

GUIDED_SHARE = 0.03  # repair + guided enumeration: this share of the cost-ordered search's time...
GUIDED_ALLOWANCE_S = 0.2  # ...plus this much, so that a near hint is repaired before the search starts
MAX_REPAIR_VERIFY = 12  # verifier calls spent on one hint's neighbours
POLL_S = 0.25  # within a long level, hints are taken (verified, repaired) this often


@dataclass(frozen=True, slots=True)
class SynthOptions:
    timeout_ms: int | None = None  # None: the spec's backend.timeout_ms, else 30 s
    max_candidates: int | None = None  # deterministic budget on terms built
    minimize: bool = True  # prove minimality below a hint's or guided solution's cost
    random_examples: int = 8
    seed: int = 0
    verify: VerifyOptions = VerifyOptions(timeout_ms=5000)
    use_guidance: bool = True
    repair_terms: int = 200_000  # neighbours of one failed hint evaluated (0: no repair)
    guided_cap: bool = True  # False: guidance runs uncapped (tests, with deterministic budgets)
    wait_for_hints: bool = False  # start the search once every hint is in (reproducible, not anytime)
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
        """Why to stop, if so; `in_flight` counts terms built but not yet counted in the result."""
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


@dataclass(frozen=True, slots=True)
class _Best:
    term: Expr
    cost: int
    found_by: str
    hint: int | None


@dataclass(frozen=True, slots=True)
class Joint:
    """A hole's place in a joint search over a group of holes (none: a hole alone).

    `others` fixes the terms of holes solved before it, so that obligations shared
    with them are checked too; terms in `exclude` (canonical text) are never answers
    (the joint search rejected them); `provisional`: a later hole of the group will
    check the obligations this one cannot check alone, so a candidate with nothing
    left to check here is accepted for now."""

    others: Mapping[str, Expr] = field(default_factory=dict)
    exclude: frozenset[str] = frozenset()
    provisional: bool = False


@dataclass(slots=True)
class _Hole:
    """Everything one hole's search shares: the problem, the examples, the budget, the
    answer in hand, and the time given to the cost-ordered search and to hints."""

    spec: Spec
    hole_id: str
    g: CompiledGrammar
    limits: Limits
    examples: ExampleSet
    options: SynthOptions
    budget: _Budget
    result: HoleResult
    log: Trace
    joint: Joint
    start: float
    on_update: OnUpdate | None = None
    best: _Best | None = None
    hint_time: float = 0.0  # seconds spent on repair and guided enumeration, finished steps
    guiding_since: float | None = None  # when the repair or guided step in progress began
    within_level: Callable[[], None] | None = None  # called now and then inside a long main level
    next_poll: float = 0.0

    @property
    def guidance_s(self) -> float:
        """Seconds spent on repair and guided enumeration, the step in progress included."""
        running = time.perf_counter() - self.guiding_since if self.guiding_since is not None else 0.0
        return self.hint_time + running

    @property
    def main_time(self) -> float:
        """Seconds the cost-ordered search (and hint verification) has had."""
        return time.perf_counter() - self.start - self.guidance_s

    @contextlib.contextmanager
    def guiding(self) -> Iterator[None]:
        """Count the time inside as guidance (repair or guided enumeration)."""
        self.guiding_since = time.perf_counter()
        try:
            yield
        finally:
            self.hint_time += time.perf_counter() - self.guiding_since
            self.guiding_since = None

    def bound(self) -> int | None:
        """Only terms of at most this cost can improve on the answer in hand."""
        return self.best.cost - 1 if self.best is not None else None

    def cost(self, term: Expr) -> int:
        return style_metrics(term, self.spec.synth.style).cost

    def improve(self, term: Expr, found_by: str, hint: int | None = None) -> bool:
        """Take a verified term if it is cheaper than the answer in hand."""
        cost = self.cost(term)
        if self.best is not None and cost >= self.best.cost:
            return False
        self.best = _Best(term, cost, found_by, hint)
        now = time.perf_counter() - self.start
        if self.result.time_to_first_s is None:
            self.result.time_to_first_s = now
        self.log(f"[{self.hole_id}] verified {to_sexpr(term)} (cost {cost}, by {found_by}) at {now:.2f} s")
        if self.on_update is not None:
            self.on_update(dataclasses.replace(
                self.result, status="solved", term=to_sexpr(term), cost=cost, minimal=False, found_by=found_by,
                winning_hint=hint, time_s=now, hints=list(self.result.hints),
                counterexamples=list(self.result.counterexamples)))
        return True

    def guidance_allowed(self) -> bool:
        return not self.options.guided_cap or \
            self.guidance_s < GUIDED_ALLOWANCE_S + GUIDED_SHARE * self.main_time

    def verify(self, term: Expr, text: str) -> tuple[bool, bool]:
        """Verify a candidate: (accepted, a counterexample joined the examples)."""
        verdict = verify(self.spec, self.hole_id, term, self.options.verify, others=self.joint.others)
        self.result.z3_calls += 1
        self.log(f"[{self.hole_id}]   verify {text}: {verdict.status}")
        if verdict.ok or (self.joint.provisional and verdict.obligations == 0):
            return True, False
        learned = False
        if verdict.status == "refuted" and verdict.counterexample is not None:
            self.result.counterexamples.append(_cex_record(text, verdict.counterexample))
            self.log(f"[{self.hole_id}]   counterexample: {_inputs(verdict.counterexample.inputs)}")
            learned = self.examples.add(verdict.counterexample)
        return False, learned


@dataclass(slots=True)
class _Search:
    """Outcome of one enumeration run (possibly many CEGIS rounds)."""

    found: Entry | None = None
    exhausted: bool = False  # every term (under the bound) was examined
    stopped: str = ""  # budget reason, if stopped
    unknown_terms: list[str] = field(default_factory=list)  # candidates Z3 could not decide
    last_rejected: Entry | None = None  # the last candidate the examples ruled out (term built lazily)
    bounded: bool = False  # stopped inside a level above the bound (an answer arrived meanwhile)


def solve_hole(spec: Spec, hole_id: str, hints: Sequence[Hint] | HintStream = (),
               options: SynthOptions = SynthOptions(), trace: Trace | None = None,
               joint: Joint = Joint(), on_update: OnUpdate | None = None) -> HoleResult:
    """Solve one hole; `hints` are ranked hints, or a stream of them still arriving.
    `joint`: its place in a joint search over several holes (see Joint).
    `on_update` hears of each cheaper verified term as soon as it is known."""
    log = trace or (lambda _msg: None)
    start = time.perf_counter()
    timeout_ms = options.timeout_ms or spec.synth.timeout_ms or 30_000
    result = HoleResult(hole_id, "unknown")
    g = grammar_for_hole(spec, hole_id)
    examples = ExampleSet(spec, (hole_id,), options.random_examples, options.seed, joint.others)
    ctx = _Hole(spec, hole_id, g, Limits.of(spec.synth.style), examples, options,
                _Budget(start + timeout_ms / 1000, options.max_candidates, result, options.max_memory_bytes),
                result, log, joint, start, on_update)
    log(f"[{hole_id}] grammar {g.grammar_id}: start {g.start}, {len(g.nonterminals)} nonterminals; "
        f"{examples.size} initial examples")
    stream = HintStream.of(hints)
    if options.wait_for_hints:
        stream.wait_closed(max(0.0, ctx.budget.deadline - time.perf_counter()))
    work = _HintWork(ctx, stream)
    ctx.within_level = work.within_level
    main = _levels(ctx, None)
    outcome: _Search | None = None
    try:
        while True:
            work.poll()
            if ctx.best is not None and not options.minimize:
                break
            work.step()
            if ctx.best is not None and not options.minimize:
                break
            try:
                next(main)
            except StopIteration as done:
                outcome = done.value
                break
    finally:
        stream.cancel()  # solved and proven, or out of budget: more hints cannot help
        main.close()
        work.close()
    return _conclude(ctx, outcome)


def _conclude(ctx: _Hole, outcome: _Search | None) -> HoleResult:
    """The hole's result from the cost-ordered search's outcome (None: not run to its
    end, as `minimize=False` allows) and the answer in hand."""
    best = ctx.best
    if outcome is not None and outcome.found is not None:  # in cost order: nothing cheaper is correct
        term = outcome.found.term
        return _finish(ctx, "solved", term=term, cost=ctx.cost(term), found_by="enumeration",
                       minimal=not outcome.unknown_terms)
    if best is not None:
        proven = outcome is not None and outcome.exhausted and not outcome.unknown_terms
        reason = ""
        if not proven and outcome is not None and ctx.options.minimize:
            reason = outcome.stopped or "cheaper candidates left undecided"
        return _finish(ctx, "solved", term=best.term, cost=best.cost, found_by=best.found_by, hint=best.hint,
                       minimal=proven, reason=reason)
    assert outcome is not None
    if outcome.stopped:
        return _finish(ctx, "timeout", reason=outcome.stopped)
    if outcome.unknown_terms:
        return _finish(ctx, "unknown", reason=f"Z3 could not decide {plural(len(outcome.unknown_terms), 'candidate')}, "
                                              f"e.g. {outcome.unknown_terms[0]}")
    result = ctx.result
    if outcome.last_rejected is not None and not result.counterexamples:
        # Name a real counterexample for the last candidate, not just "failed an example".
        rejected = outcome.last_rejected.term
        verdict = verify(ctx.spec, ctx.hole_id, rejected, ctx.options.verify, others=ctx.joint.others)
        result.z3_calls += 1
        if verdict.counterexample is not None:
            result.counterexamples.append(_cex_record(to_sexpr(rejected), verdict.counterexample))
    last = result.counterexamples[-1]["describe"] if result.counterexamples else "no candidate at all"
    return _finish(ctx, "infeasible",
                   reason=f"no term of the grammar within the style profile is correct; last: {last}")


class _HintWork:
    """Hints as they arrive: verified at once; then, within the guidance cap, failed
    ones repaired and all of them guiding an enumeration of their own."""

    def __init__(self, ctx: _Hole, stream: HintStream) -> None:
        self.ctx = ctx
        self.stream = stream
        self.hints: list[Hint] = []
        self.to_repair: list[tuple[int, Expr]] = []
        self.guided: Generator[None, None, _Search] | None = None
        self.guidance_stale = False  # hints arrived since the guided enumeration started
        self.repairer: tuple[int, Repairer] | None = None  # (example count, repairer)
        self.tried: set[str] = set()  # neighbours verified already (a repair may resume later)
        self.calls: dict[int, int] = {}  # verifier calls spent on each hint's neighbours

    def poll(self) -> None:
        """Verify the hints that arrived: never capped (one verifier call each), so
        that an exact hint wins at once."""
        ctx = self.ctx
        for hint in self.stream.since(len(self.hints)):
            rank = len(self.hints)
            if ctx.budget.exceeded():  # a hints file of thousands of near misses must not outlast the budget
                ctx.log(f"[{ctx.hole_id}] budget spent after trying {rank} hints")
                return
            self.hints.append(hint)
            self.guidance_stale = True
            if _canonical(hint) in ctx.joint.exclude:
                ctx.result.hints.append(HintUse(rank, hint.term, "excluded", "rejected by the joint search"))
                continue
            term = parse_hint(hint)
            if term is not None and ctx.best is not None and ctx.cost(term) >= ctx.best.cost:
                ctx.result.hints.append(HintUse(rank, to_sexpr(term), "skipped",
                                                "not cheaper than the verified term in hand"))
                continue
            use = _try_hint(ctx, hint, rank)
            ctx.result.hints.append(use)
            if use.status == "verified":
                assert term is not None
                ctx.improve(term, "hint", rank)
            elif term is not None and use.status != "excluded" and ctx.options.repair_terms > 0:
                self.to_repair.append((rank, term))

    def within_level(self) -> None:
        """Inside a long level of the cost-ordered search: take new hints, verify and
        repair them (the guided enumeration waits for the level's end)."""
        self.poll()
        while self.to_repair and self.ctx.best is None and self.ctx.guidance_allowed():
            with self.ctx.guiding():
                rank, term = self.to_repair.pop(0)
                self._repair(rank, term)

    def step(self) -> None:
        """Repair and guided enumeration, as long as the cap allows."""
        ctx = self.ctx
        # Once a term is verified, only the cost-ordered search can improve on it usefully:
        # it must examine every cheaper term anyway to prove minimality.
        while ctx.best is None and ctx.guidance_allowed() and ctx.budget.exceeded() is None:
            with ctx.guiding():
                if self.to_repair:
                    rank, term = self.to_repair.pop(0)
                    self._repair(rank, term)
                elif not self._guided_level():
                    return

    def _repair(self, rank: int, hint: Expr) -> None:
        ctx = self.ctx
        size = ctx.examples.size
        if self.repairer is None or self.repairer[0] != size:
            self.repairer = (size, Repairer(ctx.g, ctx.examples.env(), ctx.limits))
        repairer = self.repairer[1]
        others = [t for h in self.hints if (t := parse_hint(h)) is not None and t != hint]
        neighbours, built = repairer.neighbours(
            hint, lambda v, m: ctx.examples.passes_each(ctx.hole_id, v, m), ctx.options.repair_terms, others)
        ctx.result.repair_terms += built
        ctx.log(f"[{ctx.hole_id}] repair of hint #{rank}: {built} neighbours, {len(neighbours)} pass the examples")
        style = ctx.spec.synth.style
        env = None
        first = True
        for n in neighbours:
            if self.calls.get(rank, 0) >= MAX_REPAIR_VERIFY or ctx.budget.exceeded() is not None:
                return
            text = to_sexpr(n.term)
            if text in self.tried:
                continue
            if not first and not ctx.guidance_allowed():  # past the cap: the rest waits its turn
                self.to_repair.insert(0, (rank, hint))
                return
            bound = ctx.bound()
            metrics = style_metrics(n.term, style)
            if text in ctx.joint.exclude or not metrics.fits or (bound is not None and metrics.cost > bound):
                continue
            if env is not None and not ctx.examples.passes({ctx.hole_id: to_array(batch_value(n.term, env),
                                                                                   env.size)}):
                continue  # fails a counterexample learned since the neighbourhood was evaluated
            if not check_term(ctx.g, n.term).ok:
                continue
            first = False
            self.tried.add(text)
            self.calls[rank] = self.calls.get(rank, 0) + 1
            ok, learned = ctx.verify(n.term, text)
            if ok:
                ctx.improve(n.term, "hint repair", rank)
                return
            if learned:
                env = ctx.examples.env()

    def _guided_level(self) -> bool:
        """The guided enumeration up to its next pause (a level's end, or the cap); False when
        there is nothing to do."""
        ctx = self.ctx
        if not ctx.options.use_guidance or not self.hints:
            return False
        if self.guidance_stale:
            self.guidance_stale = False
            if self.guided is not None:
                self.guided.close()
            guidance = learn_guidance(ctx.g, self.hints, ctx.limits.ast_node)
            self.guided = None
            if not guidance.empty or guidance.seeds:
                ctx.log(f"[{ctx.hole_id}] guided search: "
                        f"{sum(1 for v in guidance.rule_extra.values() if v == 0)} likely rules, "
                        f"{len(guidance.seeds)} seeded subterms")
                self.guided = _levels(ctx, guidance)
        if self.guided is None:
            return False
        try:
            next(self.guided)
        except StopIteration:
            self.guided = None  # found a term, or nothing more to find this way
        return True

    def close(self) -> None:
        if self.guided is not None:
            self.guided.close()


def _try_hint(ctx: _Hole, hint: Hint, rank: int) -> HintUse:
    term = parse_hint(hint)
    if term is None:
        return HintUse(rank, hint.term, "syntax-error", "not an S-expression term")
    # Checks already recorded on the candidate are not made again (issue 13).
    membership = hint.checks.membership_in(ctx.g) or check_term(ctx.g, term)
    text = hint.term
    if not membership.ok:
        ctx.log(f"[{ctx.hole_id}] hint #{rank} {text}: not in the grammar")
        return HintUse(rank, text, "not-in-grammar", membership.explanation)
    metrics = membership.style if membership.style is not None else style_metrics(term, ctx.spec.synth.style)
    if not metrics.fits:
        return HintUse(rank, text, "over-profile", "; ".join(metrics.violations))
    verdict = hint.checks.verdict
    if verdict is None or ctx.joint.others or verdict.status not in ("verified", "refuted"):
        verdict = verify(ctx.spec, ctx.hole_id, term, ctx.options.verify, others=ctx.joint.others)
        ctx.result.z3_calls += 1
    ctx.log(f"[{ctx.hole_id}] hint #{rank} {text}: {verdict.status}")
    if verdict.counterexample is not None:
        ctx.examples.add(verdict.counterexample)
        ctx.result.counterexamples.append(_cex_record(text, verdict.counterexample))
    return HintUse(rank, text, verdict.status, verdict.reason)


def _levels(ctx: _Hole, guidance: Guidance | None) -> Generator[None, None, _Search]:
    """Enumerate and verify, pausing (yield) after each level. Without guidance, in
    exact cost order below the answer in hand (`ctx.bound()`, read at every level):
    a found term is the cheapest correct one. With guidance, a found term is taken
    by `ctx.improve` and the run ends."""
    out = _Search()
    result, budget, examples = ctx.result, ctx.budget, ctx.examples
    undecided: set[str] = set(ctx.joint.exclude)  # never verified again, never an answer
    nesting = ctx.limits.nesting
    guided = guidance is not None
    while True:
        result.cegis_rounds += 1
        env = examples.env()
        counted = [0]  # terms of this run already added to result.candidates
        grown = [False]  # a hint refuted inside the level added examples: the level's values are stale

        def should_stop(built: int) -> bool:
            if budget.exceeded(built - counted[0]) is not None:
                return True
            if guided:  # it pauses at the cap (below); a stretch without a term to pause at ends at twice it
                return ctx.options.guided_cap and \
                    ctx.guidance_s > 2 * (GUIDED_ALLOWANCE_S + GUIDED_SHARE * ctx.main_time)
            now = time.perf_counter()
            if ctx.within_level is not None and now >= ctx.next_poll:
                ctx.next_poll = now + POLL_S
                ctx.within_level()
                if examples.size != env.size:
                    grown[0] = True
                    return True
                if ctx.best is not None and not ctx.options.minimize:
                    return True
                bound = ctx.bound()
                if bound is not None and _current_level(enum) > bound:
                    out.bounded = True  # every term under the new bound was examined
                    return True
            return False

        enum = Enumerator(ctx.g, env, ctx.limits,
                          rule_extra=guidance.rule_extra if guidance else None,
                          seeds=guidance.seeds if guidance else (),
                          max_level=None if guided else ctx.bound(),
                          should_stop=should_stop)
        pending: list[tuple[int, int, Entry]] = []
        seq = 0
        restart = False
        bound = ctx.bound()
        for item in enum.terms():
            if budget.exceeded(enum.stats.built - counted[0]):
                break
            if isinstance(item, LevelDone):
                level = item.level
                result.candidates += enum.stats.built - counted[0]
                counted[0] = enum.stats.built
                if enum.stats.levels[-1][1:] != (0, 0):  # only levels that built or kept a term
                    ctx.log(_level_line(ctx.hole_id, enum, level, len(pending)))
                bound = ctx.bound()
                # The last level drains everything: no term is left to come before them.
                last = level == enum.top_level
                while pending and (guided or last or pending[0][0] <= level):
                    cost, _, entry = heapq.heappop(pending)
                    if bound is not None and cost > bound:
                        continue
                    text = to_sexpr(entry.term)
                    if text in undecided:
                        continue
                    ok, learned = ctx.verify(entry.term, f"{text} (cost {cost})")
                    if ok:
                        out.found = entry
                        break
                    if learned:
                        restart = True
                        break
                    undecided.add(text)
                if out.found is not None and guided:
                    ctx.improve(out.found.term, "guided enumeration")
                if restart or out.found is not None:
                    break
                if not guided and bound is not None and level >= bound:
                    break  # every term cheaper than the answer in hand was examined
                yield
                if examples.size != env.size:  # hints, repair or the other search learned a counterexample
                    restart = True
                    break
                continue
            if grown[0]:  # terms built before the stop, on the old examples: start over on the new ones
                restart = True
                break
            entry = item
            if guided and not ctx.guidance_allowed():
                yield  # past the cap within a level: the cost-ordered search goes on, this resumes later
            cost = entry.cost(nesting)
            if bound is not None and cost > bound:
                continue
            values = to_array(entry.value, env.size)
            if examples.passes({ctx.hole_id: values}):
                heapq.heappush(pending, (cost, seq, entry))
                seq += 1
            else:
                out.last_rejected = entry
        restart = restart or grown[0]
        result.candidates += enum.stats.built - counted[0]
        result.candidates_kept += enum.stats.kept
        ctx.log(_search_summary(ctx.hole_id, enum))
        out.unknown_terms = sorted(undecided - ctx.joint.exclude)
        if out.found is not None:
            return out
        stop = budget.exceeded()
        if stop:
            out.stopped = stop
            return out
        if not restart:
            out.exhausted = not guided and (not enum.stopped or out.bounded)
            return out
        ctx.log(f"[{ctx.hole_id}] restart with {plural(examples.size, 'example')}")


def _current_level(enum: Enumerator) -> int:
    """The level the enumerator is building (levels are completed in order from 1)."""
    return enum.stats.levels[-1][0] + 1 if enum.stats.levels else 1


def _canonical(hint: Hint) -> str | None:
    return hint.term if hint.expr is not None else None


def _level_line(hole_id: str, enum: Enumerator, level: int, pending: int) -> str:
    _, built, kept = enum.stats.levels[-1]
    return (f"[{hole_id}] level {level}: built {built}, kept {kept} "
            f"(pruned so far: {enum.stats.pruned_equivalent} equivalent, {enum.stats.pruned_style} over profile); "
            f"{plural(pending, 'candidate')} {'passes' if pending == 1 else 'pass'} the examples")


def _search_summary(hole_id: str, enum: Enumerator) -> str:
    levels = enum.stats.levels
    busy = sum(1 for _, built, kept in levels if built or kept)
    return (f"[{hole_id}] enumerated {plural(len(levels), 'cost level')} ({busy} with terms): "
            f"{plural(enum.stats.built, 'term')} built, {enum.stats.kept} kept, "
            f"{enum.stats.pruned_equivalent} pruned as equivalent, {enum.stats.pruned_style} over the style profile")


def _inputs(inputs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in inputs.items())


def _cex_record(term: str, cex) -> dict:
    record = cex.to_json()
    record["candidate"] = term
    record["describe"] = f"{term} fails {cex.obligation} ({cex.label}) at {_inputs(dict(cex.inputs))}"
    return record


def _finish(ctx: _Hole, status: str, term: Expr | None = None, cost: int | None = None, found_by: str = "",
            hint: int | None = None, minimal: bool = False, reason: str = "") -> HoleResult:
    result = ctx.result
    result.status = status
    result.term = to_sexpr(term) if term is not None else None
    result.cost = cost
    result.found_by = found_by
    result.winning_hint = hint
    result.minimal = minimal
    result.reason = reason
    result.time_s = time.perf_counter() - ctx.start
    result.guidance_s = ctx.hint_time
    if status == "solved" and result.time_to_first_s is None:
        result.time_to_first_s = result.time_s
    if minimal:
        result.time_to_minimal_s = result.time_s
    return result
