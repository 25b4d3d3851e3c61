"""The CEGIS loop for one hole: enumerate -> filter on examples -> verify -> learn.

Candidates that pass every example are verified in cost order; a counterexample
joins the example set and enumeration restarts (terms pruned as equivalent on the
old examples may differ on the new one).

Anytime. Hints arrive on a stream (all at once from a file, or one by one from a
model generating in another thread) and are taken between enumeration levels.
Each is checked as it arrives (on the examples, then by the verifier); a verified
hint is an answer at once (reported through `on_update`, not minimal yet). A hint
that fails is repaired (its neighbourhood within two edits, `repair.py`, in small
steps), and all hints guide a second, hint-weighted enumeration whose seeded hint
subterms count as cheap atoms. The
cost-ordered search runs throughout: it ends when it has examined every term
cheaper than the answer in hand (then that answer is proven minimal, as
MINIMIZE_COST asks), when it finds a cheaper one (minimal by construction), or when
the budget is spent. Minimality is only ever claimed from that true-cost search.

Guidance never costs much: all hint work (checking arriving hints, repair, guided
enumeration) is timed, and repair and guided enumeration take a step only while that
time, with the step about to start (taken to last as long as the previous one), is
under `HINT_SHARE` of the time elapsed, so useless hints slow the search by about
that share plus one step's overshoot (a repair step, a verifier call; a guided level,
which cannot pause inside its build, stops past `GUIDED_STRETCH` times the share),
at every moment, on short searches as on long ones. Checking an arriving hint is not
held back (it is how an exact hint wins at once) but counts: what it took, later
steps wait for. A hint that fails an example costs no verifier call. Counterexamples
found by hint work join hint work's examples only: they never restart the
cost-ordered search (a restart redoes its levels, a cost no share would bound).
"""
from __future__ import annotations

import contextlib
import dataclasses
import gc
import heapq
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Generator, Iterator, Mapping, Sequence

import numpy as np

from ..limits import rss_bytes
from ..grammar import CompiledGrammar, check_term, grammar_for_hole, style_metrics
from ..lang.batched import batch_value, to_array
from ..lang.evaluate import EvalError
from ..lang.expr import Expr
from ..lang.sexpr import to_sexpr
from ..formats.model import Spec
from ..verify import Counterexample, VerifyOptions, verify
from ..wording import plural
from .enumerate import Entry, Enumerator, LevelDone, Limits
from .examples import ExampleSet
from .guidance import Guidance, Hint, learn_guidance, parse_hint
from .repair import Neighbour, Repairer, stack_values
from .result import HintUse, HoleResult
from .stream import HintStream

Trace = Callable[[str], None]
OnUpdate = Callable[[HoleResult], None]  # a snapshot each time a cheaper verified term is known

HINT_SHARE = 0.04  # all hint work: at most this share of the time elapsed (plus one step)
# A guided level cannot pause inside its build: past this many times the share it
# stops, to start again (from level 1) once the share allows; what it costs is bounded
# like any step's overshoot, and the levels redone are a fraction of the one stopped.
GUIDED_STRETCH = 1.25
SHARE_SPENT = "hint share spent"
# Past this many terms kept, a guided level's uninterruptible parts (stacking a bank
# of its terms) would outlast a step by far: the guided search ends there, for good.
GUIDED_MAX_KEPT = 100_000
MAX_REPAIR_VERIFY = 12  # verifier calls spent on one hint's neighbours
HINT_EXAMPLES = 4  # hint work's random examples: this many times the search's
CHECK_ROWS = 1 << 14  # a level's terms are checked on the examples this many at once
POLL_S = 0.05  # within a long level, hints are taken (checked, repaired) this often
DEFAULT_TIMEOUT_MS = 30_000  # a hole's budget when neither the caller nor the spec gives one


def hole_budget_ms(spec: Spec, timeout_ms: int | None) -> int:
    """A hole's time budget: `timeout_ms`, else the spec's backend.timeout_ms, else 30 s."""
    return timeout_ms or spec.synth.timeout_ms or DEFAULT_TIMEOUT_MS


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
        # The enumerators of the searches running now (one per `_levels` run): the time
        # their banks take to free once a search ends is inside the budget, and so is the
        # step that cannot pause in progress when the deadline comes: the stop comes that
        # much before it (`Enumerator.stop_margin_s`).
        self.enumerators: dict[object, Enumerator] = {}
        self._time_stop: tuple[float, float] | None = None  # (when the time check first said stop, the margin then)

    def margin_s(self) -> float:
        """How long before the deadline the running searches must stop."""
        return sum(e.stop_margin_s() for e in self.enumerators.values())

    def stop_note(self, start: float) -> str:
        """When the time check first said stop, and how late (-v), if it did."""
        if self._time_stop is None:
            return ""
        when, margin = self._time_stop
        return (f" (stop asked at {when - start:.2f} s, {when - (self.deadline - margin):.2f} s past the deadline "
                f"less {margin:.2f} s to free the banks and end a step)")

    def exceeded(self, in_flight: int = 0) -> str | None:
        """Why to stop, if so; `in_flight` counts terms built but not yet counted in the result."""
        now = time.perf_counter()
        margin = self.margin_s()
        if self._time_stop is not None or now > self.deadline - margin:  # sticky, as the margin may shrink
            if self._time_stop is None:
                self._time_stop = (now, margin)
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
    examples: ExampleSet  # the cost-ordered search's
    hint_examples: ExampleSet  # hint work's: the search's, and what hint work learned
    options: SynthOptions
    budget: _Budget
    result: HoleResult
    log: Trace
    joint: Joint
    start: float
    on_update: OnUpdate | None = None
    best: _Best | None = None
    hint_time: float = 0.0  # seconds spent on hint work (checks, repair, guided enumeration), finished steps
    guiding_since: float | None = None  # when the hint step in progress began
    last_step_s: float = 0.0  # how long the last hint step took: about what the next will
    within_level: Callable[[], None] | None = None  # called now and then inside a long main level
    next_poll: float = 0.0

    @property
    def guidance_s(self) -> float:
        """Seconds spent on hint work, the step in progress included."""
        running = time.perf_counter() - self.guiding_since if self.guiding_since is not None else 0.0
        return self.hint_time + running

    def hint_allowance(self) -> float:
        """Seconds of hint work the time elapsed allows."""
        return HINT_SHARE * (time.perf_counter() - self.start)

    @contextlib.contextmanager
    def guiding(self) -> Iterator[None]:
        """Count the time inside as hint work."""
        self.guiding_since = time.perf_counter()
        try:
            yield
        finally:
            self.last_step_s = time.perf_counter() - self.guiding_since
            self.hint_time += self.last_step_s
            self.guiding_since = None

    def learn(self, cex: Counterexample, for_hints: bool) -> bool:
        learned = self.hint_examples.add(cex)
        if not for_hints:
            learned = self.examples.add(cex) or learned
        return learned

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
        """Whether a repair or guided step may start now: if it takes as long as the last
        one did, hint work stays within its share."""
        return not self.options.guided_cap or self.guidance_s + self.last_step_s < self.hint_allowance()

    def verify_options(self) -> VerifyOptions:
        """The verifier's options, each Z3 query capped at the time the hole has left:
        at 5 s a query, one candidate verified just before the deadline could
        otherwise end the command seconds past its budget (a query cut short says
        unknown, and the candidate is reported undecided)."""
        options = self.options.verify
        left_ms = int((self.budget.deadline - time.perf_counter()) * 1000)
        return options if left_ms >= options.timeout_ms else replace(options, timeout_ms=max(1, left_ms))

    def verify(self, term: Expr, text: str, for_hints: bool = False) -> tuple[bool, bool]:
        """Verify a candidate: (accepted, a counterexample joined the examples). A
        counterexample found by hint work (`for_hints`) joins only its examples: it
        never restarts the cost-ordered search (what garbage hints could cost would
        be unbounded); one found by the search joins both."""
        verdict = verify(self.spec, self.hole_id, term, self.verify_options(), others=self.joint.others)
        self.result.z3_calls += 1
        self.log(f"[{self.hole_id}]   verify {text}: {verdict.status}")
        if verdict.ok or (self.joint.provisional and verdict.obligations == 0):
            return True, False
        learned = False
        if verdict.status == "refuted" and verdict.counterexample is not None:
            self.result.counterexamples.append(_cex_record(text, verdict.counterexample))
            self.log(f"[{self.hole_id}]   counterexample: {_inputs(verdict.counterexample.inputs)}")
            learned = self.learn(verdict.counterexample, for_hints)
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
    ended_at: float = 0.0  # when the run decided to end (its enumerator is freed after)


def solve_hole(spec: Spec, hole_id: str, hints: Sequence[Hint] | HintStream = (),
               options: SynthOptions = SynthOptions(), trace: Trace | None = None,
               joint: Joint = Joint(), on_update: OnUpdate | None = None) -> HoleResult:
    """Solve one hole; `hints` are ranked hints, or a stream of them still arriving.
    `joint`: its place in a joint search over several holes (see Joint).
    `on_update` hears of each cheaper verified term as soon as it is known."""
    log = trace or (lambda _msg: None)
    start = time.perf_counter()
    timeout_ms = hole_budget_ms(spec, options.timeout_ms)
    result = HoleResult(hole_id, "unknown")
    g = grammar_for_hole(spec, hole_id)
    examples = ExampleSet(spec, (hole_id,), options.random_examples, options.seed, joint.others)
    # More examples for hint work: they rule out wrong neighbours of a hint in bulk, before
    # the verifier does one by one (the search's own few examples keep its pruning strong).
    hint_examples = ExampleSet(spec, (hole_id,), HINT_EXAMPLES * options.random_examples, options.seed,
                               joint.others)
    ctx = _Hole(spec, hole_id, g, Limits.of(spec.synth.style), examples, hint_examples, options,
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
        with _banks_out_of_gc():
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
                    # Where a budget's end goes: the stop check, then freeing the banks.
                    log(f"[{hole_id}] search ended at {outcome.ended_at - start:.2f} s{ctx.budget.stop_note(start)}; "
                        f"its banks freed in {time.perf_counter() - outcome.ended_at:.2f} s")
                    break
    finally:
        stream.cancel()  # solved and proven, or out of budget: more hints cannot help
        main.close()
        work.close()
    return _conclude(ctx, outcome)


@contextlib.contextmanager
def _banks_out_of_gc() -> Iterator[None]:
    """Python's cyclic collector walks every tracked object on each full collection: the
    enumerator's banks (millions of entries, none of them garbage) made the collector 16%
    of dyn_fee's search (14 full and 7,707 young collections, 2.86 s of 17.9 s:
    benchmarks/bench_search_overhead.py), and the objects a hint's work adds made every
    walk longer (garbage hints: 1.08x on dyn_fee, for 24 ms of work of their own). So the automatic collector is off during the search, and each
    level's end (`_level_collect`) collects the young objects once and freezes the
    survivors, which the collector then skips until the search ends: the garbage cycles
    a level makes wait for its end, no longer."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.unfreeze()
        if was_enabled:
            gc.enable()


def _level_collect() -> None:
    """A level is done: its garbage cycles collected, what survives frozen (_banks_out_of_gc)."""
    gc.collect(1)
    gc.freeze()


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
        verdict = verify(ctx.spec, ctx.hole_id, rejected, ctx.verify_options(), others=ctx.joint.others)
        result.z3_calls += 1
        if verdict.counterexample is not None:
            result.counterexamples.append(_cex_record(to_sexpr(rejected), verdict.counterexample))
    last = result.counterexamples[-1]["describe"] if result.counterexamples else "no candidate at all"
    return _finish(ctx, "infeasible",
                   reason=f"no term of the grammar within the style profile is correct; last: {last}")


@dataclass(slots=True)
class _RepairJob:
    """One failed hint's repair, taken a step at a time: the neighbourhood's stages
    (`Repairer.stages`), then a verifier call per neighbour that passes."""

    rank: int
    hint: Expr
    stages: Iterator[tuple[list[Neighbour], int]] | None = None
    queue: list[Neighbour] = field(default_factory=list)
    examples: int = 0  # the example count the neighbours were found on
    calls: int = 0  # verifier calls spent


class _HintWork:
    """Hints as they arrive: checked at once; then, within the hint share, failed
    ones repaired and all of them guiding an enumeration of their own."""

    def __init__(self, ctx: _Hole, stream: HintStream) -> None:
        self.ctx = ctx
        self.stream = stream
        self.hints: list[Hint] = []
        self.to_repair: list[_RepairJob] = []
        self.guided: Generator[None, None, _Search] | None = None
        self.guidance_stale = False  # hints arrived since the guided enumeration started
        self.repairer: tuple[ExampleSet, Repairer] | None = None  # on a snapshot of hint work's examples
        self.tried: set[str] = set()  # neighbours verified already

    def poll(self) -> None:
        """Check the hints that arrived: never held back (an example, or one verifier
        call each), so that an exact hint wins at once; the time counts as hint work."""
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
            with ctx.guiding():
                use = _try_hint(ctx, hint, rank)
            ctx.result.hints.append(use)
            if use.status == "verified":
                assert term is not None
                ctx.improve(term, "hint", rank)
            elif term is not None and use.status != "excluded" and ctx.options.repair_terms > 0:
                self.to_repair.append(_RepairJob(rank, term))

    def within_level(self) -> None:
        """Inside a long level of the cost-ordered search: take new hints, check and
        repair them (the guided enumeration waits for the level's end)."""
        self.poll()
        while self.to_repair and self.ctx.best is None and self.ctx.guidance_allowed():
            with self.ctx.guiding():
                self._repair_step()

    def step(self) -> None:
        """Repair and guided enumeration, a step at a time, as long as the share allows."""
        ctx = self.ctx
        # Once a term is verified, only the cost-ordered search can improve on it usefully:
        # it must examine every cheaper term anyway to prove minimality.
        while ctx.best is None and ctx.guidance_allowed() and ctx.budget.exceeded() is None:
            with ctx.guiding():
                if self.to_repair:
                    self._repair_step()
                elif not self._guided_level():
                    return

    def _repair_step(self) -> None:
        """One step of the first repair job (a stage's step, or one verifier call); then
        it goes to the back of the queue: every hint's cheap first stages come before
        any hint's costly later ones."""
        job = self.to_repair.pop(0)
        if self._advance(job) and self.ctx.best is None:
            self.to_repair.append(job)

    def _advance(self, job: _RepairJob) -> bool:
        """One step of a repair job; False when it is done."""
        ctx = self.ctx
        if job.stages is None:
            # On the examples as they are now, kept as they are: what later counterexamples
            # rule out, the check before each verifier call does.
            size = ctx.hint_examples.size
            if self.repairer is None or self.repairer[0].size != size:
                examples = ctx.hint_examples.snapshot()
                self.repairer = (examples, Repairer(ctx.g, examples.env(), ctx.limits))
            examples, repairer = self.repairer
            others = [t for h in self.hints if (t := parse_hint(h)) is not None and t != job.hint]
            job.examples = size
            job.stages = repairer.stages(job.hint, lambda v, m: examples.passes_each(ctx.hole_id, v, m),
                                         ctx.options.repair_terms, others)
        if job.calls >= MAX_REPAIR_VERIFY or ctx.budget.exceeded() is not None:
            return False
        if self._verify_next(job):
            return True
        step = next(job.stages, None)
        if step is None:
            ctx.log(f"[{ctx.hole_id}] repair of hint #{job.rank}: done, {job.calls} verified "
                    f"({ctx.result.repair_terms} neighbours evaluated for all hints so far)")
            return False
        found, work = step
        ctx.result.repair_terms += work
        if found:
            ctx.log(f"[{ctx.hole_id}] repair of hint #{job.rank}: {len(found)} more neighbours pass the examples")
        job.queue += found
        if found and job.calls == 0:
            # The hint's closest neighbour that passes every example is checked in the same
            # step, as an arriving hint is: one verifier call per hint, and near hints are
            # answered without waiting for the share to pay for that call.
            self._verify_next(job)
        return True

    def _verify_next(self, job: _RepairJob) -> bool:
        """Verify the job's next neighbour that can still be an answer; False when none is left."""
        ctx = self.ctx
        style = ctx.spec.synth.style
        while job.queue:
            n = job.queue.pop(0)
            text = to_sexpr(n.term)
            if text in self.tried or text in ctx.joint.exclude:
                continue
            bound = ctx.bound()
            metrics = style_metrics(n.term, style)
            if not metrics.fits or (bound is not None and metrics.cost > bound):
                continue
            if ctx.hint_examples.size != job.examples and not _passes_examples(ctx, n.term):
                continue  # fails a counterexample learned since the neighbourhood was evaluated
            if not check_term(ctx.g, n.term).ok:
                continue
            self.tried.add(text)
            job.calls += 1
            ok, _ = ctx.verify(n.term, text, for_hints=True)
            if ok:
                ctx.improve(n.term, "hint repair", job.rank)
            return True
        return False

    def _guided_level(self) -> bool:
        """The guided enumeration up to its next pause (a level's end, or the share); False
        when there is nothing to do."""
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
        except StopIteration as done:
            self.guided = None  # found a term, or nothing more to find this way...
            if done.value.stopped == SHARE_SPENT:
                self.guidance_stale = True  # ...or stopped inside a level: again from the start, later
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
    shown = text + (f" (from {hint.source})" if hint.source else "")  # -v says where a hint came from
    if not membership.ok:
        ctx.log(f"[{ctx.hole_id}] hint #{rank} {shown}: not in the grammar")
        return HintUse(rank, text, "not-in-grammar", membership.explanation)
    metrics = membership.style if membership.style is not None else style_metrics(term, ctx.spec.synth.style)
    if not metrics.fits:
        return HintUse(rank, text, "over-profile", "; ".join(metrics.violations))
    verdict = hint.checks.verdict
    if verdict is None or ctx.joint.others or verdict.status not in ("verified", "refuted"):
        if not _passes_examples(ctx, term):  # refuted already: no verifier call (garbage costs little)
            ctx.log(f"[{ctx.hole_id}] hint #{rank} {shown}: fails an example")
            return HintUse(rank, text, "refuted", f"fails one of the {plural(ctx.hint_examples.size, 'example')}")
        verdict = verify(ctx.spec, ctx.hole_id, term, ctx.verify_options(), others=ctx.joint.others)
        ctx.result.z3_calls += 1
    ctx.log(f"[{ctx.hole_id}] hint #{rank} {shown}: {verdict.status}")
    if verdict.counterexample is not None:
        ctx.learn(verdict.counterexample, for_hints=True)
        ctx.result.counterexamples.append(_cex_record(text, verdict.counterexample))
    return HintUse(rank, text, verdict.status, verdict.reason)


def _passes_examples(ctx: _Hole, term: Expr) -> bool:
    """Whether the term meets every goal on hint work's examples (True when it cannot
    be evaluated on them: the verifier decides)."""
    env = ctx.hint_examples.env()
    try:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return ctx.hint_examples.passes({ctx.hole_id: to_array(batch_value(term, env), env.size)})
    except (EvalError, TypeError, ValueError):
        return True


def _levels(ctx: _Hole, guidance: Guidance | None) -> Generator[None, None, _Search]:
    """Enumerate and verify, pausing (yield) after each level. Without guidance, in
    exact cost order below the answer in hand (`ctx.bound()`, read at every level):
    a found term is the cheapest correct one. With guidance, a found term is taken
    by `ctx.improve` and the run ends. While it runs, the budget knows its enumerator
    (`_Budget.enumerators`: the stop leaves time to end its step and free its banks)."""
    run = object()
    try:
        return (yield from _rounds(ctx, guidance, run))
    finally:
        ctx.budget.enumerators.pop(run, None)


def _rounds(ctx: _Hole, guidance: Guidance | None, run: object) -> Generator[None, None, _Search]:
    """`_levels`' rounds: one enumeration each, until a counterexample restarts it."""
    out = _Search()
    guided = guidance is not None
    result, budget = ctx.result, ctx.budget
    examples = ctx.hint_examples if guided else ctx.examples
    undecided: set[str] = set(ctx.joint.exclude)  # never verified again, never an answer
    nesting = ctx.limits.nesting
    while True:
        result.cegis_rounds += 1
        env = examples.env()
        counted = [0]  # terms of this run already added to result.candidates

        def should_stop(built: int) -> bool:
            if budget.exceeded(built - counted[0]) is not None:
                return True
            if guided:  # it pauses at the share (below); within a level's build it cannot, so it stops
                if ctx.options.guided_cap and ctx.guidance_s > GUIDED_STRETCH * ctx.hint_allowance():
                    out.stopped = SHARE_SPENT
                    return True
                if ctx.options.guided_cap and enum.stats.kept > GUIDED_MAX_KEPT:
                    out.stopped = "guided search past its size"  # for good: not restarted
                    return True
                return False
            now = time.perf_counter()
            if ctx.within_level is not None and now >= ctx.next_poll:
                ctx.next_poll = now + POLL_S
                ctx.within_level()  # hint work: it never adds to this search's examples
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
        budget.enumerators[run] = enum  # the last round's is freed as this one starts
        pending: list[tuple[int, int, Entry]] = []
        yielded = 0  # the level's new terms so far: checked on the examples at its end
        seq = 0
        restart = False
        bound = ctx.bound()
        for item in enum.terms():
            if budget.exceeded(enum.stats.built - counted[0]):
                break
            if isinstance(item, LevelDone):
                _level_collect()
                level = item.level
                if yielded:  # the level's new terms against the examples, at once
                    entries, ok = _level_passing(ctx, examples, enum, level, yielded)
                    for i in np.flatnonzero(ok).tolist():
                        cost = entries[i].cost(nesting)
                        if bound is None or cost <= bound:
                            heapq.heappush(pending, (cost, seq, entries[i]))
                            seq += 1
                    failed = np.flatnonzero(~ok)
                    if len(failed):
                        out.last_rejected = entries[int(failed[-1])]
                    yielded = 0
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
                    ok, learned = ctx.verify(entry.term, f"{text} (cost {cost})", for_hints=guided)
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
                if examples.size != env.size:  # the other search learned a counterexample
                    restart = True
                    break
                continue
            yielded += 1
        # The enumerator and `should_stop` refer to each other: without this, its banks
        # would wait for the cyclic collector once the search drops them.
        enum.should_stop = _never_stop
        result.candidates += enum.stats.built - counted[0]
        result.candidates_kept += enum.stats.kept
        ctx.log(_search_summary(ctx.hole_id, enum))
        out.ended_at = time.perf_counter()
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


def _never_stop(_built: int) -> bool:
    return False


def _level_passing(ctx: _Hole, examples: ExampleSet, enum: Enumerator, level: int,
                   count: int) -> tuple[list[Entry], np.ndarray]:
    """The start symbol's new terms of a level (the `count` it yielded, its bank) and
    which meet every goal on the examples, evaluated in chunks of rows at once; the
    rows left when the budget runs out count as failing."""
    entries = enum.banks[enum.g.start].get(level, [])
    assert len(entries) == count, "a level's terms are its start bank's"
    ok = np.zeros(len(entries), dtype=np.bool_)
    for lo in range(0, len(entries), CHECK_ROWS):
        if ctx.budget.exceeded() is not None:
            break
        # By the kind of their values: the int64 rows are checked in int64 even when some
        # of their neighbours need exact ints (16% of dyn_fee's terms, in every chunk).
        by_kind: dict[Any, list[int]] = {}
        for i, e in enumerate(entries[lo:lo + CHECK_ROWS], lo):
            by_kind.setdefault(getattr(e.value.data, "dtype", None), []).append(i)
        for rows in by_kind.values():
            part = [entries[i].value for i in rows]
            values = stack_values(part, examples.size)
            if values is None:  # Booleans and ints mixed (an ill-sorted grammar): one at a time
                ok[rows] = [examples.passes({ctx.hole_id: to_array(v, examples.size)}) for v in part]
            else:
                ok[rows] = examples.passes_each(ctx.hole_id, values, len(part)).all(axis=1)
    return entries, ok


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
