"""esso-ngs as a host of the `neural_hints` extension protocol (see extension.py).

`synth --neural-hints` and the benchmark get their hints here, through
`hints_for(hole, kernel, synth, examples)` only, so the protocol a foreign host
(ESSO's enumerator) would use is the one exercised for real. Rounds: when no
candidate of a hole passes the validation tier, the failed candidates and their
counterexamples go back to the model, at most `rounds` times in all.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ..spec.model import Spec
from ..synth import Hint
from .aggregate import HoleRanking
from .extension import HintsExtension
from .hintsfile import hints_from_rankings


@dataclass
class HostHints:
    hints: dict[str, list[Hint]] = field(default_factory=dict)  # hole -> ranked hints, best first
    rankings: dict[str, HoleRanking] = field(default_factory=dict)  # when the extension exposes them
    rounds: dict[str, int] = field(default_factory=dict)
    time_s: float = 0.0  # generation + validation, all holes and rounds

    def to_json(self) -> dict[str, Any]:
        return {"time_s": round(self.time_s, 6), "rounds": dict(self.rounds),
                "holes": {h: r.to_json() for h, r in self.rankings.items()}}


def hints_via_extension(ext: HintsExtension, spec: Spec, rounds: int = 2) -> HostHints:
    out = HostHints()
    t0 = time.perf_counter()
    for hole in spec.synth.holes:
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
    return out
