"""Aggregation per hole: candidates from every stage and round, validated and ranked.

Candidates are the one record of `verify.candidate` and are ranked by its one
`rank_key`. The whole ranked list is kept (the hints file carries it, the
synthesizer tries it in order, the report counts it), not only the best term.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..neural.sampling import HoleSamples
from ..verify.candidate import Candidate, Checks
from ..verify.tiers import TierTimes, tier_counts


@dataclass(slots=True)
class StageRun:
    """One model call for one hole: which stage and model, and what came back."""

    stage: str
    round: int
    backend: str
    model_id: str
    samples: int
    distinct: int
    dropped_token_limit: int
    dropped_unparsable: int
    errors: int
    constrained: bool
    from_cache: bool
    time_s: float  # generation wall time (0 when cached)
    stopped: bool = False  # generation stopped early (the hole no longer needed it): partial samples

    def to_json(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in self.__slots__}  # type: ignore[attr-defined]


@dataclass(slots=True)
class HoleRanking:
    hole_id: str
    tier: str
    candidates: list[Candidate] = field(default_factory=list)  # ranked, best first
    stages: list[StageRun] = field(default_factory=list)
    times: TierTimes = field(default_factory=TierTimes)
    samples_seen: int = 0  # offset for the next stage's first_seen indices

    @property
    def best(self) -> Candidate | None:
        return self.candidates[0] if self.candidates else None

    def passing(self, tier: str | None = None) -> list[Candidate]:
        return [c for c in self.candidates if c.checks.passes(tier or self.tier)]

    @property
    def stopped(self) -> bool:
        """Whether a model call of this hole was stopped early: its candidates come from
        part of the samples asked for, validated no further than the cheap tier."""
        return any(s.stopped for s in self.stages)

    @property
    def escalated(self) -> bool:
        return any(s.stage == "large" for s in self.stages)

    def counts(self) -> dict[str, int]:
        return tier_counts(c.checks for c in self.candidates)

    def failures(self) -> list[dict[str, Any]]:
        """Failed candidates with what they failed on, for the next round's prompt."""
        out = []
        for c in self.candidates:
            failure = c.checks.failure()
            if failure is not None:
                out.append({"term": c.term, **failure})
        return out

    def generation_s(self) -> float:
        return sum(s.time_s for s in self.stages)

    def validation_s(self) -> float:
        return sum(self.times.seconds.values())

    def to_json(self) -> dict[str, Any]:
        best = self.best
        return {"hole_id": self.hole_id, "tier": self.tier, "stopped": self.stopped,
                "best": best.term if best else None,
                "best_stage": best.stage if best else None, "best_source": best.source if best else None,
                "counts": self.counts(), "stages": [s.to_json() for s in self.stages],
                "validation": self.times.to_json(), "generation_s": round(self.generation_s(), 6),
                "candidates": [c.to_json() for c in self.candidates]}


def add_samples(ranking: HoleRanking, samples: HoleSamples, stage: str, round_no: int,
                time_s: float) -> list[Candidate]:
    """Merge one stage's distinct candidates into `ranking` (unranked); return the new ones."""
    by_term = {c.term: c for c in ranking.candidates}
    source = f"{samples.backend}:{samples.model_id}"
    new: list[Candidate] = []
    for sc in sorted(samples.candidates, key=lambda c: c.first_seen):
        seen = ranking.samples_seen + sc.first_seen
        old = by_term.get(sc.term)
        if old is not None:
            old.count += sc.count
            if sc.logprob is not None and (old.logprob is None or sc.logprob > old.logprob):
                old.logprob = sc.logprob
            continue
        # The sampled record with its place in the ranking (a copy: the samples stay as
        # sampled). The grammar check made at sampling travels with it, except under tier
        # "none", which ranks by frequency alone, as if nothing had been checked.
        checks = (Checks(membership=sc.checks.membership, grammar=sc.checks.grammar)
                  if ranking.tier != "none" else Checks())
        c = Candidate(sc.term, sc.score, source, sc.count, seen, sc.logprob, stage, round_no, checks, sc.expr)
        by_term[sc.term] = c
        ranking.candidates.append(c)
        new.append(c)
    ranking.samples_seen += samples.n_samples
    ranking.stages.append(StageRun(stage, round_no, samples.backend, samples.model_id, samples.n_samples,
                                   len(samples.candidates), samples.n_token_limit, samples.n_unparsable,
                                   samples.n_errors, samples.constrained, samples.from_cache,
                                   0.0 if samples.from_cache else time_s, samples.stopped))
    return new
