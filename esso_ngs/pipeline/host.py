"""esso-ngs as a host of the `neural_hints` extension protocol (see extension.py).

`synth --neural-hints` and the benchmark get their hints here. They hold the Spec
already, so with our own extension object they call the pipeline directly
(`hole_ranking`, the same function the extension's `hints_for` delegates to): no
Spec is rebuilt, no file re-read, and the candidate records (parsed once, with the
checks made on them) go to the synthesizer as they are. A foreign extension object
is called through the protocol. Rounds: when no candidate of a hole passes the
validation tier, the failed candidates and their counterexamples go back to the
model, at most `rounds` times in all.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field, replace
from typing import Any, Callable, Mapping, Sequence

from ..formats.model import Spec
from ..grammar import grammar_for_hole
from ..neural.auto import preload_for, settle_auto
from ..neural.backend import StopCheck
from ..neural.prepare import resolve_or_prepare
from ..neural.progress import Event, Progress
from ..synth import Hint, HintStream
from ..verify.candidate import Candidate
from ..verify.tiers import check_cheap
from .aggregate import HoleRanking
from .hint_process import ChildOutput, HintProcess
from .progress_view import stage_of
from .hintsfile import hints_from_rankings
from .two_stage import GenerateOptions, ModelPlan, backend_for, generate_ranked


@dataclass
class HostHints:
    hints: dict[str, list[Hint]] = field(default_factory=dict)  # hole -> ranked hints, best first
    rankings: dict[str, HoleRanking] = field(default_factory=dict)  # when the extension exposes them
    rounds: dict[str, int] = field(default_factory=dict)
    time_s: float = 0.0  # generation + validation, all holes and rounds
    stop_wait_s: float | None = None  # generating in the background: the wait for it to stop
    stage: str | None = None  # the generator's latest stage (progress_view.stage_of; None: never started)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"time_s": round(self.time_s, 6), "rounds": dict(self.rounds)}
        if self.stop_wait_s is not None:
            out["stop_wait_s"] = round(self.stop_wait_s, 6)
        out["stopped"] = sorted(h for h, r in self.rankings.items() if r.stopped)
        out["holes"] = {h: r.to_json() for h, r in self.rankings.items()}
        return out


def normalize_example(ex: Mapping[str, Any]) -> dict[str, Any]:
    """A host's failed-candidate record in the shape the prompt shows (term, reason, inputs, got, expected)."""
    out: dict[str, Any] = {}
    term = ex.get("term") or ex.get("candidate")
    if term:
        out["term"] = term
    reason = ex.get("reason") or ex.get("label") or ex.get("obligation")
    if reason:
        out["reason"] = reason
    if isinstance(ex.get("inputs"), Mapping):
        out["inputs"] = dict(ex["inputs"])
    got = ex.get("got", ex.get("observed"))
    if got is not None:
        out["got"] = got
    if ex.get("expected") is not None:
        out["expected"] = ex["expected"]
    return out


def hole_ranking(spec: Spec, hole_id: str, plan: ModelPlan, options: GenerateOptions,
                 examples: Sequence[Mapping[str, Any]] = (), prior: HoleRanking | None = None,
                 round_no: int = 1, should_stop: StopCheck | None = None) -> HoleRanking:
    """One round of hints for one hole: generate, validate, rank. `examples` (failed
    candidates with counterexamples) make it a further round, merged into `prior`.
    `should_stop`: generation ends early once it says yes (the ranking is `stopped`)."""
    cexs = [normalize_example(e) for e in examples]
    rankings = generate_ranked(spec, plan, options, [hole_id],
                               prior={hole_id: prior} if cexs and prior is not None else None,
                               round_no=round_no, counterexamples={hole_id: cexs} if cexs else None,
                               should_stop=should_stop)
    return rankings[hole_id]


def hints_via_extension(ext: Any, spec: Spec, rounds: int = 2,
                        on_hole: Callable[[str, list[Hint]], None] | None = None,
                        wanted: Callable[[str], bool] | None = None, into: HostHints | None = None,
                        on_sample: Callable[[str, Candidate], None] | None = None) -> HostHints:
    """Ranked hints for every hole of `spec`, with up to `rounds` rounds each, hole by
    hole. `on_hole` receives each hole's ranked hints as soon as they are known (a
    synthesizer running concurrently); holes for which `wanted` says no are not
    generated (already solved), and a hole in progress stops as soon as `wanted`
    turns to no (between decoding steps: see neural/decode.py). `on_sample` receives
    each sample's term, as a candidate record with its grammar check, the moment the
    sample is complete (our own extension only: a foreign one answers per call).
    `into` is filled hole by hole."""
    out = into if into is not None else HostHints()
    t0 = time.perf_counter()
    plan = getattr(ext, "plan", None)
    for hole in spec.synth.holes:
        if wanted is not None and not wanted(hole.hole_id):
            continue
        if isinstance(plan, ModelPlan):  # our extension: the pipeline itself, with this Spec
            stop = (lambda h=hole.hole_id: not wanted(h)) if wanted is not None else None
            options = ext.options
            if on_sample is not None:  # (a progress callback makes sampling build each sample's record)
                options = replace(options, progress=_samples_to(options.progress, hole.hole_id, on_sample, out))
            ranking, used = _rounds_in_process(spec, hole.hole_id, plan, options, rounds, stop)
            out.rankings[hole.hole_id] = ranking
            out.hints.update(hints_from_rankings({hole.hole_id: ranking}))
        else:
            used = _rounds_via_protocol(ext, spec, hole, rounds, out)
        out.rounds[hole.hole_id] = used
        out.time_s = time.perf_counter() - t0
        if on_hole is not None:
            on_hole(hole.hole_id, out.hints[hole.hole_id])
    out.time_s = time.perf_counter() - t0
    return out


# The search's head start before the model is touched: a hole the search settles within
# it (most of benchmarks/specs, 0.02-1.2 s) never pays for loading a model (seconds to
# tens of seconds, and not interruptible), while a hard hole, where hints matter, waits
# at most this long for a generation that takes ten times more anyway.
HEAD_START_S = 1.0


@dataclass
class BackgroundHints:
    """Hint generation running in a thread while the synthesizer consumes its streams."""

    streams: dict[str, HintStream]
    host: HostHints
    thread: threading.Thread
    error: list[BaseException] = field(default_factory=list)
    waited_s: float = 0.0  # how long `stop` waited for the thread to end
    hurry: threading.Event | None = None  # a generator in its own process: set, it is ended at once

    def stop(self, hurry: bool = False) -> float:
        """Tell the generator no hint is needed any more and wait for its thread (within
        about one decoding step, or the rest of a model load; a child process gets
        hint_process.STOP_GRACE_S at most); the seconds waited. `hurry` (Ctrl-C): a child
        process is ended without waiting for the rankings it would send."""
        for s in self.streams.values():
            s.cancel()
        if hurry and self.hurry is not None:
            self.hurry.set()
        t0 = time.perf_counter()
        self.thread.join()
        self.waited_s = time.perf_counter() - t0
        return self.waited_s


def hints_in_background(ext: Any, spec: Spec, rounds: int = 2,
                        first: Mapping[str, Sequence[Hint] | HintStream] | None = None,
                        head_start_s: float = HEAD_START_S, own_process: bool = False) -> BackgroundHints:
    """Start generating every hole's hints in a daemon thread. Each sample's term goes
    on its hole's stream the moment the sample is complete (its cheap tier recorded),
    then the hole's final ranking (over all samples and rounds) adds what the stream
    lacks, and the stream is closed. A hole whose stream the synthesizer cancelled
    (solved and proven minimal, or out of budget) is not generated, and the one in
    progress stops within a decoding step (or a prefill chunk; a model being loaded
    finishes loading first). A caller must still join the thread before the process
    exits (a model's native thread pool aborts under interpreter shutdown): `stop()`.
    `first`: hints known already (stated in the notes), ranked before the model's.
    `head_start_s`: the search runs alone this long first (0: generation starts at once,
    as a caller waiting for every hint wants). `own_process`: our own extension's model
    runs in a spawned child (hint_process.py: in this process the search starves it of
    the GIL); the thread then only relays the child's messages."""
    plan = getattr(ext, "plan", None)
    if isinstance(plan, ModelPlan):  # bad model options are bad input: say so before the search starts
        for choice in plan.choices():
            if own_process and choice.backend == "auto":
                resolve_or_prepare(choice.model)  # auto is settled in the child: measuring takes seconds
            else:
                backend_for(choice)
    streams = {h.hole_id: HintStream() for h in spec.synth.holes}
    for hole_id, known in (first or {}).items():
        if hole_id in streams and isinstance(known, (list, tuple)):
            streams[hole_id].put(known)
    host = HostHints()
    out = BackgroundHints(streams, host, threading.Thread())

    def put_new(hole_id: str, hints: Sequence[Hint]) -> None:
        known = {h.term for h in streams[hole_id].since(0)}  # a stated formula stays where it ranks
        streams[hole_id].put([h for h in hints if h.term not in known])

    def on_sample(hole_id: str, candidate: Candidate) -> None:
        # Samples arrive in the order their rows finish decoding: deterministic for a
        # given seed and backend (decode.py steps the rows in lockstep, each with its own
        # seeded generator), so the stream's order is reproducible too.
        put_new(hole_id, [with_cheap_tier(spec, hole_id, candidate)])

    def on_hole(hole_id: str, hints: list[Hint]) -> None:
        put_new(hole_id, hints)
        streams[hole_id].close()

    if own_process and isinstance(plan, ModelPlan):
        def from_child(hole_id: str, ranking: HoleRanking | None, hints: list[Hint], used: int,
                       time_s: float) -> None:
            if ranking is not None:
                host.rankings[hole_id] = ranking
            host.hints[hole_id] = hints
            host.rounds[hole_id] = used
            host.time_s = time_s
            on_hole(hole_id, hints)

        preloads = [lib for c in plan.choices() if (lib := preload_for(c.backend, c.model)) is not None]
        child = HintProcess(generate_in_child, spec, plan, ext.options, rounds, head_start_s,
                            preloads[0] if preloads else None)
        out.hurry = child.hurry
        return _start(out, "hint-relay", lambda: child.relay(
            lambda h: streams[h].cancelled,
            ChildOutput(on_sample, from_child, _recorded(ext.options.progress, host), out.error)))

    def work() -> None:
        deadline = time.perf_counter() + head_start_s
        while time.perf_counter() < deadline and not all(s.cancelled for s in streams.values()):
            time.sleep(0.01)
        if not all(s.cancelled for s in streams.values()):
            _recorded(ext.options.progress, host)(Event("start"))
        hints_via_extension(ext, spec, rounds, on_hole, lambda h: not streams[h].cancelled, into=host,
                            on_sample=on_sample)

    return _start(out, "hint-generation", work)


def _start(out: BackgroundHints, name: str, work: Callable[[], None]) -> BackgroundHints:
    """Run `work` in `out`'s daemon thread; what it raises goes to `out.error` (the search
    goes on without hints), and every stream is closed when it ends."""
    def run() -> None:
        try:
            work()
        except BaseException as e:  # reported by the caller
            out.error.append(e)
        finally:
            for s in out.streams.values():
                s.close()

    out.thread = threading.Thread(target=run, name=name, daemon=True)
    out.thread.start()
    return out


@dataclass
class PlannedHints:
    """Our own generator without the extension's argparse side: a plan and its options."""

    plan: ModelPlan
    options: GenerateOptions


def generate_in_child(spec: Spec, plan: ModelPlan, options: GenerateOptions, rounds: int,
                      wanted: Callable[[str], bool], on_hole: Callable[..., None],
                      on_sample: Callable[[str, Candidate], None]) -> None:
    """hint_process.py's child: every wanted hole's hints, as `hints_in_background`'s thread
    makes them; each hole reported with its ranking, rounds and the time so far."""
    host = HostHints()
    for choice in plan.choices():
        if choice.backend == "auto":  # measured here, the first time, after the search's head start
            settle_auto(choice.model, options.progress)

    def hole_done(hole_id: str, hints: list[Hint]) -> None:
        on_hole(hole_id, host.rankings.get(hole_id), hints, host.rounds.get(hole_id, 0), host.time_s)

    hints_via_extension(PlannedHints(plan, options), spec, rounds, hole_done, wanted, into=host,
                        on_sample=lambda h, c: on_sample(h, with_cheap_tier(spec, h, c)))


def with_cheap_tier(spec: Spec, hole_id: str, candidate: Candidate) -> Candidate:
    """`candidate` with its cheap tier (grammar, sorts, style) recorded, as the stream wants it."""
    if candidate.checks.cheap is None and candidate.expr is not None:
        grammar = grammar_for_hole(spec, hole_id)
        candidate.checks.cheap = check_cheap(spec, grammar, candidate.expr, candidate.checks.membership_in(grammar))
    return candidate


def _samples_to(progress: Progress | None, hole_id: str,
                on_sample: Callable[[str, Candidate], None], host: HostHints) -> Progress:
    """`_recorded(progress, host)`, plus each of the hole's sample events' candidate handed to `on_sample`."""
    recorded = _recorded(progress, host)

    def tee(event: Event) -> None:
        recorded(event)
        candidate = event.data.get("candidate")
        if event.kind == "sample" and event.hole_id == hole_id and isinstance(candidate, Candidate):
            on_sample(hole_id, candidate)
    return tee


def _recorded(progress: Progress | None, host: HostHints) -> Progress:
    """`progress`, with the generator's stage recorded in `host` as events say it changes."""
    def tee(event: Event) -> None:
        host.stage = stage_of(event) or host.stage
        if progress is not None:
            progress(event)
    return tee


def _rounds_in_process(spec: Spec, hole_id: str, plan: ModelPlan, options: GenerateOptions,
                       rounds: int, should_stop: StopCheck | None = None) -> tuple[HoleRanking, int]:
    examples: list[dict[str, Any]] = []
    ranking: HoleRanking | None = None
    used = 0
    for used in range(1, max(1, rounds) + 1):
        ranking = hole_ranking(spec, hole_id, plan, options, examples, ranking, used, should_stop)
        if used == rounds or ranking.passing() or (should_stop is not None and should_stop()):
            break
        new = [f for f in ranking.failures() if f not in examples]
        if not new:  # nothing new to tell the model: another round would repeat this one
            break
        examples.extend(new)
    assert ranking is not None
    return ranking, used


def _rounds_via_protocol(ext: Any, spec: Spec, hole: Any, rounds: int, out: HostHints) -> int:
    """A foreign extension object: `hints_for` with the spec's parts, terms parsed as they arrive."""
    examples: list[dict[str, Any]] = []
    terms: list[str] = []
    used = 0
    for used in range(1, max(1, rounds) + 1):
        terms = ext.hints_for(hole, spec.kernel, spec.synth, examples)
        if used == rounds or getattr(terms, "passing", True):
            break
        new = [f for f in getattr(terms, "failures", lambda: [])() if f not in examples]
        if not new:
            break
        examples.extend(new)
    ranking = getattr(terms, "ranking", None)
    if isinstance(ranking, HoleRanking):
        out.rankings[hole.hole_id] = ranking
        out.hints.update(hints_from_rankings({hole.hole_id: ranking}))
    else:
        out.hints[hole.hole_id] = [Hint(t, 1.0 / (i + 1), getattr(ext, "name", "")) for i, t in enumerate(terms)]
    return used
