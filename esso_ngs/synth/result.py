"""Outcomes of synthesis: plain records, serialised to result.json."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass(slots=True)
class HintUse:
    rank: int
    term: str
    status: str  # "verified" | "refuted" | "unknown" | "not-in-grammar" | "over-profile" | "syntax-error"
    detail: str = ""


@dataclass(slots=True)
class HoleResult:
    hole_id: str
    status: str  # "solved" | "infeasible" | "timeout" | "unknown"
    term: str | None = None
    cost: int | None = None
    minimal: bool = False  # cheaper terms exhausted (every one failed or was refuted)
    found_by: str = ""  # "enumeration" | "hint" | "guided enumeration"
    winning_hint: int | None = None  # rank of the hint that won, if one did
    time_s: float = 0.0
    time_to_first_s: float | None = None  # when the first verified term was known
    candidates: int = 0  # terms built by the enumerator
    candidates_kept: int = 0  # after observational-equivalence pruning
    z3_calls: int = 0  # verifier calls
    counterexamples: list[dict[str, Any]] = field(default_factory=list)
    hints: list[HintUse] = field(default_factory=list)
    reason: str = ""  # why not solved, or notes
    cegis_rounds: int = 0

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class SynthResult:
    spec: str
    holes: list[HoleResult]
    time_s: float = 0.0
    warnings: list[str] = field(default_factory=list)  # about the spec (drifting reference, stated intent)
    intent: dict[str, dict[str, Any]] = field(default_factory=dict)  # hole -> how its answer differs from the notes

    @property
    def solved(self) -> bool:
        return all(h.status == "solved" for h in self.holes)

    def hole(self, hole_id: str) -> HoleResult:
        return next(h for h in self.holes if h.hole_id == hole_id)

    def to_json(self) -> dict[str, Any]:
        return {"spec": self.spec, "solved": self.solved, "time_s": round(self.time_s, 6),
                "holes": {h.hole_id: h.to_json() for h in self.holes},
                "warnings": list(self.warnings), "intent": dict(self.intent)}
