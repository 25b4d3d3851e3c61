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

import time
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from ..spec.model import Spec
from ..synth import Hint
from .aggregate import HoleRanking
from .hintsfile import hints_from_rankings
from .two_stage import GenerateOptions, ModelPlan, generate_ranked


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


def hints_via_extension(ext: Any, spec: Spec, rounds: int = 2) -> HostHints:
    """Ranked hints for every hole of `spec`, with up to `rounds` rounds each."""
    out = HostHints()
    t0 = time.perf_counter()
    plan = getattr(ext, "plan", None)
    for hole in spec.synth.holes:
        if isinstance(plan, ModelPlan):  # our extension: the pipeline itself, with this Spec
            ranking, used = _rounds_in_process(spec, hole.hole_id, plan, ext.options, rounds)
            out.rankings[hole.hole_id] = ranking
            out.hints.update(hints_from_rankings({hole.hole_id: ranking}))
        else:
            used = _rounds_via_protocol(ext, spec, hole, rounds, out)
        out.rounds[hole.hole_id] = used
    out.time_s = time.perf_counter() - t0
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
