"""esso-ngs as a host of the `neural_hints` extension protocol (see extension.py).

`synth --neural-hints` and the benchmark get their hints here, through
`hints_for(hole, kernel, synth, examples)` only, so the protocol a foreign host
(ESSO's enumerator) would use is the one exercised for real. Rounds: when no
candidate of a hole passes the validation tier, the failed candidates and their
counterexamples go back to the model, at most `rounds` times in all.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

from ..spec.model import Spec
from ..synth import Hint, HintStream
from .aggregate import HoleRanking
from .extension import HintsExtension
from .hintsfile import hints_from_rankings
from .two_stage import ModelPlan, backend_for


@dataclass
class HostHints:
    hints: dict[str, list[Hint]] = field(default_factory=dict)  # hole -> ranked hints, best first
    rankings: dict[str, HoleRanking] = field(default_factory=dict)  # when the extension exposes them
    rounds: dict[str, int] = field(default_factory=dict)
    time_s: float = 0.0  # generation + validation, all holes and rounds

    def to_json(self) -> dict[str, Any]:
        return {"time_s": round(self.time_s, 6), "rounds": dict(self.rounds),
                "holes": {h: r.to_json() for h, r in self.rankings.items()}}


def hints_via_extension(ext: HintsExtension, spec: Spec, rounds: int = 2,
                        on_hole: Callable[[str, list[Hint]], None] | None = None,
                        wanted: Callable[[str], bool] | None = None, into: HostHints | None = None) -> HostHints:
    """Hints for every hole of `spec`, hole by hole. `on_hole` receives each hole's
    ranked hints as soon as they are known (a synthesizer running concurrently);
    holes for which `wanted` says no are not generated (already solved). `into`
    is filled hole by hole (a caller may read it before all holes are done)."""
    out = into if into is not None else HostHints()
    t0 = time.perf_counter()
    for hole in spec.synth.holes:
        if wanted is not None and not wanted(hole.hole_id):
            continue
        examples: list[dict[str, Any]] = []
        terms: list[str] = []
        used = 0
        for used in range(1, max(1, rounds) + 1):
            terms = ext.hints_for(hole, spec.kernel, spec.synth, examples)
            if used == rounds or getattr(terms, "passing", True):
                break
            failures = getattr(terms, "failures", lambda: [])()
            new = [f for f in failures if f not in examples]
            if not new:  # nothing new to tell the model: another round would repeat this one
                break
            examples.extend(new)
        ranking = getattr(terms, "ranking", None)
        if isinstance(ranking, HoleRanking):
            out.rankings[hole.hole_id] = ranking
            out.hints.update(hints_from_rankings({hole.hole_id: ranking}))
        else:
            out.hints[hole.hole_id] = [Hint(t, 1.0 / (i + 1), ext.name) for i, t in enumerate(terms)]
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


def hints_in_background(ext: HintsExtension, spec: Spec, rounds: int = 2,
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
