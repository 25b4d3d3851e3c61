"""One candidate record: a term for a hole, where it came from, and what is known about it.

The same record travels from the neural layer (sampling), a hints file or a host,
through the validation tiers, to the synthesizer: each check made on the way is
written on it (the grammar check where the term entered, the cheap tier, the
examples tier with its mismatch rate, the Z3 verdict with its counterexample), and
no later layer repeats a check already recorded. The term is parsed once, where its
text enters (`Candidate.__post_init__`); `term` is its canonical text (the identity
used for output, caches and de-duplication) and `expr` the tree used for work.

`rank_key` is the one ranking of candidates, best first:
  full-verified, examples-passed, cheap-passed (the cheap tier, or the grammar check
  made where the term entered), in the grammar, frequency across samples, lower
  mismatch rate, lower cost, higher model log-probability, first seen.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Iterable

from ..errors import UserError
from ..lang.expr import Expr
from ..lang.sexpr import TermSyntaxError, parse_term, to_sexpr

if TYPE_CHECKING:
    from ..grammar import CompiledGrammar, Membership
    from .verifier import Verdict

TIERS = ("none", "cheap", "examples", "full")


def tier_level(tier: str) -> int:
    if tier not in TIERS:
        raise UserError(f"unknown validation tier {tier!r} (choose from {', '.join(TIERS)})")
    return TIERS.index(tier)


# ---------------------------------------------------------------- per-candidate outcomes
@dataclass(slots=True)
class CheapCheck:
    ok: bool  # in the grammar and within the style profile
    in_grammar: bool
    style_fits: bool
    cost: int | None  # style-profile cost (None: not a term)
    reason: str = ""  # why not ok
    time_s: float = 0.0


@dataclass(slots=True)
class ExamplesCheck:
    passed: bool
    inputs: int  # inputs (satisfying the premise) summed over the obligations checked
    mismatches: int
    against: str  # "reference", "constraints" (no reference) or "nothing ..." (no evidence either way)
    first_mismatch: dict[str, Any] | None = None  # obligation, inputs, observed/expected values
    engine: str = "numpy"
    time_s: float = 0.0  # this candidate's share of the batched evaluation

    @property
    def mismatch_rate(self) -> float:
        return self.mismatches / self.inputs if self.inputs else 0.0


@dataclass(slots=True)
class FullCheck:
    status: str  # "verified" | "refuted" | "unknown" | "skipped"
    counterexample: dict[str, Any] | None = None
    reason: str = ""
    time_s: float = 0.0


@dataclass(slots=True)
class Checks:
    """What the tiers found about one candidate (None: that tier did not run on it)."""

    cheap: CheapCheck | None = None
    examples: ExamplesCheck | None = None
    full: FullCheck | None = None
    # Made where the term entered (sampling, a host): membership in `grammar`, reused by
    # the cheap tier and the synthesizer when they check against the same grammar.
    membership: Membership | None = None
    grammar: CompiledGrammar | None = None
    # The Z3 verdict behind `full` (the hole alone, no other hole's term fixed).
    verdict: Verdict | None = None

    def membership_in(self, g: CompiledGrammar) -> Membership | None:
        """The recorded membership when it was checked against `g` (else None: check it)."""
        return self.membership if self.grammar is g else None

    def passes(self, tier: str) -> bool:
        """Whether the candidate passes `tier` (and every tier below it)."""
        level = tier_level(tier)
        if level >= 1 and not (self.cheap is not None and self.cheap.ok):
            return False
        if level >= 2 and not (self.examples is not None and self.examples.passed):
            return False
        if level >= 3 and not (self.full is not None and self.full.status == "verified"):
            return False
        return True

    def failure(self) -> dict[str, Any] | None:
        """The first failed check, in the shape the prompt builder shows to the model."""
        if self.cheap is not None and not self.cheap.ok:
            return {"reason": self.cheap.reason or "not in the grammar"}
        if self.examples is not None and not self.examples.passed and self.examples.first_mismatch:
            m = self.examples.first_mismatch
            out: dict[str, Any] = {"reason": m.get("label") or m.get("obligation") or "wrong",
                                   "inputs": m.get("inputs", {})}
            # The field's value for a reference mismatch, else the term's own value.
            got = m.get("observed") if m.get("observed") is not None else m.get("term_value")
            if got is not None:
                out["got"] = got
            if m.get("expected") is not None:
                out["expected"] = m["expected"]
            return out
        if self.full is not None and self.full.status == "refuted" and self.full.counterexample:
            cx = self.full.counterexample
            out = {"reason": f"{cx.get('obligation', '')}: {cx.get('label', '')}".strip(": "),
                   "inputs": cx.get("inputs", {})}
            if cx.get("observed") is not None:
                out["got"] = cx["observed"]
            if cx.get("expected") is not None:
                out["expected"] = cx["expected"]
            return out
        return None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if self.cheap is not None:
            out["cheap"] = asdict(self.cheap)
        if self.examples is not None:
            out["examples"] = {**asdict(self.examples), "mismatch_rate": round(self.examples.mismatch_rate, 6)}
        if self.full is not None:
            out["full"] = asdict(self.full)
        return out




@dataclass(slots=True, eq=False)
class Candidate:
    """A candidate term of one hole with its provenance and the checks made on it."""

    term: str  # canonical S-expression (the text as given when it is not a term)
    score: float = 1.0  # the weight a hints file or host gave it
    source: str = ""  # "backend:model" of the stage that first produced it, a file's or host's source
    count: int = 1  # samples that produced it, over all stages and rounds
    first_seen: int = 0  # index of the first sample that produced it, over all stages and rounds
    logprob: float | None = None  # the best model log-probability among its samples
    stage: str = ""  # "single", "small" or "large" for model candidates
    round: int = 1  # the prompting round that first produced it
    checks: Checks = field(default_factory=Checks)
    expr: Expr | None = None  # the parsed term (None when the text is not a term)

    def __post_init__(self) -> None:
        if self.expr is None:  # text entering here: parse it once
            try:
                self.expr = parse_term(self.term)
            except (TermSyntaxError, RecursionError):
                return
            self.term = _canonical(self.expr)

    @classmethod
    def of(cls, expr: Expr, **fields: Any) -> Candidate:
        """A candidate for an already parsed term (no text round trip)."""
        return cls(_canonical(expr), expr=expr, **fields)

    # The grammar check made where the term entered, as sampling reports it.
    @property
    def in_grammar(self) -> bool:
        """False only when a grammar check found the term outside the language."""
        m = self.checks.membership
        return m is None or bool(m.ok)

    @property
    def explanation(self) -> str:
        m = self.checks.membership
        return "" if m is None or m.ok else str(m.explanation)

    @property
    def style_fits(self) -> bool | None:
        m = self.checks.membership
        return None if m is None or m.style is None else not m.style.violations

    def to_json(self) -> dict[str, Any]:
        return {"term": self.term, "count": self.count, "first_seen": self.first_seen,
                "logprob": self.logprob, "stage": self.stage, "source": self.source, "round": self.round,
                "checks": self.checks.to_json()}


def _canonical(e: Expr) -> str:
    return to_sexpr(e)


def rank_key(c: Candidate) -> tuple[Any, ...]:
    ch = c.checks
    verified = ch.full is not None and ch.full.status == "verified"
    examples = ch.examples is not None and ch.examples.passed
    m = ch.membership
    if ch.cheap is not None:
        cheap, in_grammar = ch.cheap.ok, ch.cheap.in_grammar
    else:
        in_grammar = m is not None and m.ok
        cheap = in_grammar and c.style_fits is not False
    # A tier that did not run tells nothing: rate 1.0 and infinite cost sort such
    # candidates after measured ones, which only happens among peers anyway.
    rate = ch.examples.mismatch_rate if ch.examples is not None else 1.0
    cost = ch.cheap.cost if ch.cheap is not None and ch.cheap.cost is not None else math.inf
    lp = c.logprob if c.logprob is not None else -math.inf
    return (not verified, not examples, not cheap, not in_grammar, -c.count, rate, cost, -lp, c.first_seen)


def rank(candidates: Iterable[Candidate]) -> list[Candidate]:
    return sorted(candidates, key=rank_key)
