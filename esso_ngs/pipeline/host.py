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
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..formats.model import Spec
from ..synth import Hint, HintStream
from .aggregate import HoleRanking
from .hintsfile import hints_from_rankings
from .two_stage import GenerateOptions, ModelPlan, backend_for, generate_ranked


@dataclass
class HostHints:
    hints: dict[str, list[Hint]] = field(default_factory=dict)  # hole -> ranked hints, best first
    rankings: dict[str, HoleRanking] = field(default_factory=dict)  # when the extension exposes them
    rounds: dict[str, int] = field(default_factory=dict)
    time_s: float = 0.0  # generation + validation, all holes and rounds

    def to_json(self) -> dict[str, Any]:
        return {"time_s": round(self.time_s, 6), "rounds": dict(self.rounds),
                "holes": {h: r.to_json() for h, r in self.rankings.items()}}


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
                 round_no: int = 1) -> HoleRanking:
    """One round of hints for one hole: generate, validate, rank. `examples` (failed
    candidates with counterexamples) make it a further round, merged into `prior`."""
    cexs = [normalize_example(e) for e in examples]
    rankings = generate_ranked(spec, plan, options, [hole_id],
                               prior={hole_id: prior} if cexs and prior is not None else None,
                               round_no=round_no, counterexamples={hole_id: cexs} if cexs else None)
    return rankings[hole_id]


def hints_via_extension(ext: Any, spec: Spec, rounds: int = 2,
                        on_hole: Callable[[str, list[Hint]], None] | None = None,
                        wanted: Callable[[str], bool] | None = None, into: HostHints | None = None) -> HostHints:
    """Ranked hints for every hole of `spec`, with up to `rounds` rounds each, hole by
    hole. `on_hole` receives each hole's ranked hints as soon as they are known (a
    synthesizer running concurrently); holes for which `wanted` says no are not
    generated (already solved). `into` is filled hole by hole."""
    out = into if into is not None else HostHints()
    t0 = time.perf_counter()
    plan = getattr(ext, "plan", None)
    for hole in spec.synth.holes:
        if wanted is not None and not wanted(hole.hole_id):
            continue
        if isinstance(plan, ModelPlan):  # our extension: the pipeline itself, with this Spec
            ranking, used = _rounds_in_process(spec, hole.hole_id, plan, ext.options, rounds)
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


@dataclass
class BackgroundHints:
    """Hint generation running in a thread while the synthesizer consumes its streams."""

    streams: dict[str, HintStream]
    host: HostHints
    thread: threading.Thread
    error: list[BaseException] = field(default_factory=list)

    def stop(self) -> bool:
        """Tell the generator no more holes are needed; True if it had already finished."""
        for s in self.streams.values():
            s.cancel()
        return not self.thread.is_alive()


def hints_in_background(ext: Any, spec: Spec, rounds: int = 2,
                        first: Mapping[str, Sequence[Hint] | HintStream] | None = None) -> BackgroundHints:
    """Start generating every hole's hints in a daemon thread; each hole's stream gets
    its hints as soon as they are known, and is closed when the generator is done
    with it. A hole whose stream the synthesizer cancelled (solved and proven
    minimal, or out of budget) is not generated. The generator's own work for the
    hole in progress cannot be interrupted: a caller that does not want to wait for
    exits (a model's native thread pool aborts under interpreter shutdown).
    `first`: hints known already (stated in the notes), ranked before the model's."""
    plan = getattr(ext, "plan", None)
    if isinstance(plan, ModelPlan):  # bad model options are bad input: say so before the search starts
        for choice in (plan.small, plan.large):
            if choice is not None:
                backend_for(choice)
    streams = {h.hole_id: HintStream() for h in spec.synth.holes}
    for hole_id, known in (first or {}).items():
        if hole_id in streams and isinstance(known, (list, tuple)):
            streams[hole_id].put(known)
    host = HostHints()
    out = BackgroundHints(streams, host, threading.Thread())

    def on_hole(hole_id: str, hints: list[Hint]) -> None:
        known = {h.term for h in streams[hole_id].since(0)}  # a stated formula stays where it ranks
        streams[hole_id].put([h for h in hints if h.term not in known])
        streams[hole_id].close()

    def work() -> None:
        try:
            hints_via_extension(ext, spec, rounds, on_hole, lambda h: not streams[h].cancelled, into=host)
        except BaseException as e:  # reported by the caller: the search goes on without hints
            out.error.append(e)
        finally:
            for s in streams.values():
                s.close()

    out.thread = threading.Thread(target=work, name="hint-generation", daemon=True)
    out.thread.start()
    return out


def _rounds_in_process(spec: Spec, hole_id: str, plan: ModelPlan, options: GenerateOptions,
                       rounds: int) -> tuple[HoleRanking, int]:
    examples: list[dict[str, Any]] = []
    ranking: HoleRanking | None = None
    used = 0
    for used in range(1, max(1, rounds) + 1):
        ranking = hole_ranking(spec, hole_id, plan, options, examples, ranking, used)
        if used == rounds or ranking.passing():
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
