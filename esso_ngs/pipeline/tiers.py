"""Validation tiers for candidate terms: none < cheap < examples < full.

Each tier reuses what is already loaded in this process:
- `cheap`: grammar membership and the style profile (microseconds a term, where
  ESSO pays ~100 ms for a solver subprocess);
- `examples`: every candidate of a hole evaluated at once, with the batched
  evaluator, on tens of thousands of random inputs within the type bounds that
  satisfy the premise (invariants and guard), against the hole's obligations:
  the reference kernel's field when there is a reference, and the constraints
  and next-state invariants too. It reports the mismatch rate and the first
  mismatching input (re-checked with the exact evaluator);
- `full`: the Z3 verifier, with a time limit per candidate.

A tier runs the cheaper ones first and only on the candidates they let through:
an off-grammar term can never be the solution, and a term that disagrees with
the reference on a sampled input is refuted already (no Z3 call needed).
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from ..errors import UserError
from ..extras import require_extra
from ..grammar import CompiledGrammar, grammar_for_hole, style_metrics
from ..lang.batched import BatchEnv, evaluate_batch, evaluate_many
from ..lang.evaluate import EvalError, evaluate
from ..lang.expr import Expr, fill_holes
from ..lang.sexpr import TermSyntaxError, parse_term, to_sexpr
from ..spec.model import Spec
from ..verify import VerifyOptions, obligations_for, sample_inputs, verify
from ..verify.domain import row, take
from ..verify.obligations import Obligation
from ..wording import plural

TIERS = ("none", "cheap", "examples", "full")
DEFAULT_TIER = "examples"
DEFAULT_EXAMPLE_INPUTS = 20_000
DEFAULT_CANDIDATE_TIMEOUT_MS = 4_000


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


@dataclass(frozen=True, slots=True)
class ValidationSettings:
    tier: str = DEFAULT_TIER
    example_inputs: int = DEFAULT_EXAMPLE_INPUTS
    candidate_timeout_ms: int = DEFAULT_CANDIDATE_TIMEOUT_MS
    seed: int = 0
    max_full: int = 32  # at most this many candidates per hole go to Z3, best-ranked first

    def __post_init__(self) -> None:
        tier_level(self.tier)
        if self.example_inputs < 1:
            raise UserError(f"--example-inputs must be >= 1, got {self.example_inputs}")
        if self.candidate_timeout_ms < 1:
            raise UserError(f"--candidate-timeout-ms must be >= 1, got {self.candidate_timeout_ms}")


# ---------------------------------------------------------------- cheap
def check_cheap(spec: Spec, grammar: CompiledGrammar, term: str) -> CheapCheck:
    t0 = time.perf_counter()
    try:
        expr = parse_term(term)
    except (TermSyntaxError, RecursionError) as exc:
        return CheapCheck(False, False, False, None, f"not a term: {exc}", time.perf_counter() - t0)
    membership = grammar.check(expr)
    metrics = style_metrics(expr, spec.synth.style)
    reason = "" if membership.ok else f"not in the grammar: {membership.explanation}"
    if membership.ok and not metrics.fits:
        reason = "over the style profile: " + "; ".join(metrics.violations)
    ok = bool(membership.ok) and metrics.fits
    return CheapCheck(ok, bool(membership.ok), metrics.fits, metrics.cost, reason, time.perf_counter() - t0)


# ---------------------------------------------------------------- full
def check_full(spec: Spec, hole_id: str, term: str, timeout_ms: int, seed: int = 0) -> FullCheck:
    """Z3 with a per-candidate limit: spread over the candidate's queries (one per
    action and premise, and a bit-vector retry each when integers give up)."""
    t0 = time.perf_counter()
    try:
        expr = parse_term(term)
    except (TermSyntaxError, RecursionError) as exc:
        return FullCheck("skipped", reason=f"not a term: {exc}")
    obs = obligations_for(spec, hole_id).obligations
    queries = max(1, len({(ob.domain.action_id, ob.premise) for ob in obs}))
    per_query = max(1, timeout_ms // (2 * queries))
    verdict = verify(spec, hole_id, expr, VerifyOptions(timeout_ms=per_query, seed=seed))
    cex = verdict.counterexample.to_json() if verdict.counterexample is not None else None
    return FullCheck(verdict.status, cex, verdict.reason, time.perf_counter() - t0)


# ---------------------------------------------------------------- examples
@dataclass(slots=True)
class _Inputs:
    """Sampled inputs of one obligation that satisfy its premise."""

    env: BatchEnv
    columns: dict[str, np.ndarray]
    size: int
    torch_env: Any = None  # built on first use on a GPU


# Sampling tens of thousands of inputs costs ~0.1 s a variable: keep them per
# (spec object, action, premise, n, seed) for the life of the process.
_INPUTS: dict[tuple[int, str, Expr, int, int], tuple[Spec, _Inputs]] = {}


def _premise_inputs(spec: Spec, ob: Obligation, n: int, seed: int) -> _Inputs:
    key = (id(spec), ob.domain.action_id, ob.premise, n, seed)
    hit = _INPUTS.get(key)
    if hit is not None and hit[0] is spec:
        return hit[1]
    if len(_INPUTS) > 64:
        _INPUTS.clear()
    enums = spec.kernel.enum_index()
    columns = sample_inputs(ob.domain, n, seed)
    premise = np.asarray(evaluate_batch(ob.premise, columns, enums, n), dtype=bool)
    kept = take(columns, premise)
    size = int(premise.sum())
    out = _Inputs(BatchEnv(kept, enums, size) if size else BatchEnv({}, enums, 1), kept, size)
    _INPUTS[key] = (spec, out)
    return out


def _gpu_plausible() -> bool:
    """Whether a CUDA or MPS device may exist, without importing torch (~5 s on a loaded CPU box)."""
    import os
    import platform
    import sys
    if sys.platform == "darwin":
        return platform.machine() == "arm64"
    return os.path.exists("/dev/nvidiactl") or os.path.isdir("/proc/driver/nvidia")


def torch_engine() -> Any | None:
    """The torch device to evaluate on (CUDA or MPS), or None for numpy.

    `ESSO_NGS_EXAMPLES_DEVICE` = cpu|numpy forces numpy, cuda|mps|auto picks torch
    when that device works; by default torch is only imported when a GPU is plausible,
    since on a CPU numpy is as fast and importing torch costs seconds.
    """
    import os
    want = os.environ.get("ESSO_NGS_EXAMPLES_DEVICE", "auto").lower()
    if want in ("cpu", "numpy") or (want == "auto" and not _gpu_plausible()):
        return None
    if want in ("cuda", "mps"):  # asked for by name: say what is missing rather than fall back
        require_extra("torch", f"ESSO_NGS_EXAMPLES_DEVICE={want}")
    try:
        from ..lang.batched import torch_device
        import torch
        device = torch.device(want) if want in ("cuda", "mps") else torch_device()
        if device.type == "cuda" and not torch.cuda.is_available():
            return None
    except Exception:  # torch missing or broken: numpy it is
        return None
    return device if device.type in ("cuda", "mps") else None


def _goal_values(goals: list[Expr], inputs: _Inputs, device: Any | None) -> list[np.ndarray]:
    if device is not None:
        from ..lang.batched_torch import TorchBatchEnv, evaluate_batch_torch
        if inputs.torch_env is None:
            inputs.torch_env = TorchBatchEnv(inputs.columns, inputs.env.enums, inputs.size, device)
        out = []
        for g in goals:
            value = evaluate_batch_torch(g, inputs.torch_env)
            out.append(value.cpu().numpy() if hasattr(value, "cpu") else np.asarray(value))
        return out
    return evaluate_many(goals, inputs.env)


def _mismatch_record(spec: Spec, hole_id: str, ob: Obligation, term: Expr,
                     inputs: dict[str, Any]) -> dict[str, Any] | None:
    """The first mismatch, re-checked and described with the exact evaluator."""
    enums = spec.kernel.enum_index()
    terms = {hole_id: term}
    try:
        if evaluate(fill_holes(ob.goal, terms), inputs, enums):
            return None
        observed = evaluate(fill_holes(ob.observed, terms), inputs, enums) if ob.observed is not None else None
        expected = evaluate(ob.expected, inputs, enums) if ob.expected is not None else None
        value = evaluate(term, inputs, enums)
    except EvalError:
        return None
    return {"obligation": ob.kind, "place": f"{ob.place.action}.{ob.place.field}", "label": ob.label,
            "inputs": inputs, "term_value": value, "observed": observed, "expected": expected}


def check_examples(spec: Spec, hole_id: str, terms: Sequence[str], n: int = DEFAULT_EXAMPLE_INPUTS,
                   seed: int = 0) -> list[ExamplesCheck]:
    """Evaluate all `terms` of one hole at once on `n` sampled inputs per obligation."""
    t0 = time.perf_counter()
    exprs = [parse_term(t) for t in terms]
    oset = obligations_for(spec, hole_id)
    # Alone, a hole can be judged only by obligations that mention no other hole.
    obligations = [ob for ob in oset.obligations if ob.holes <= {hole_id}]
    against = ("reference" if any(ob.kind == "reference" for ob in obligations)
               else "constraints" if obligations else "nothing")
    engine = torch_engine()
    engine_name = f"torch:{engine.type}" if engine is not None else "numpy"
    total = [0] * len(exprs)
    bad = [0] * len(exprs)
    first: list[dict[str, Any] | None] = [None] * len(exprs)
    for ob in obligations:
        inputs = _premise_inputs(spec, ob, n, seed)
        if inputs.size == 0:
            continue
        goals = [fill_holes(ob.goal, {hole_id: e}) for e in exprs]
        values = _goal_values(goals, inputs, engine)
        for i, v in enumerate(values):
            ok = np.broadcast_to(np.asarray(v, dtype=bool), (inputs.size,))
            misses = np.flatnonzero(~ok)
            total[i] += inputs.size
            bad[i] += int(misses.size)
            if misses.size and first[i] is None:
                for j in misses[:4]:
                    first[i] = _mismatch_record(spec, hole_id, ob, exprs[i], row(inputs.columns, int(j)))
                    if first[i] is not None:
                        break
    if obligations and not any(total):
        against = "nothing (no sampled input satisfies the guard and invariants)"
    share = (time.perf_counter() - t0) / max(1, len(exprs))
    return [ExamplesCheck(bad[i] == 0, total[i], bad[i], against, first[i], engine_name, share)
            for i in range(len(exprs))]


# ---------------------------------------------------------------- a hole's candidates
@dataclass(slots=True)
class TierTimes:
    """Seconds spent per tier on one hole, and how many candidates each tier saw."""

    seconds: dict[str, float] = field(default_factory=dict)
    checked: dict[str, int] = field(default_factory=dict)

    def add(self, tier: str, seconds: float, n: int) -> None:
        self.seconds[tier] = self.seconds.get(tier, 0.0) + seconds
        self.checked[tier] = self.checked.get(tier, 0) + n

    def to_json(self) -> dict[str, Any]:
        return {"seconds": {k: round(v, 6) for k, v in self.seconds.items()}, "checked": dict(self.checked)}


def validate(spec: Spec, hole_id: str, terms: Sequence[str], checks: Sequence[Checks],
             settings: ValidationSettings, times: TierTimes | None = None,
             order: Iterable[int] | None = None) -> None:
    """Fill `checks[i]` for `terms[i]` up to `settings.tier`, skipping tiers already run.

    `order` lists candidate indices best-first: Z3 (the `max_full` cap) goes to the
    best-ranked ones first.
    """
    level = tier_level(settings.tier)
    times = times if times is not None else TierTimes()
    if level >= 1:
        grammar = grammar_for_hole(spec, hole_id)
        todo = [i for i, c in enumerate(checks) if c.cheap is None]
        t0 = time.perf_counter()
        for i in todo:
            checks[i].cheap = check_cheap(spec, grammar, terms[i])
        if todo:
            times.add("cheap", time.perf_counter() - t0, len(todo))
    if level >= 2:
        todo = [i for i, c in enumerate(checks) if c.examples is None and c.cheap is not None and c.cheap.ok]
        if todo:
            t0 = time.perf_counter()
            for i, result in zip(todo, check_examples(spec, hole_id, [terms[i] for i in todo],
                                                      settings.example_inputs, settings.seed)):
                checks[i].examples = result
            times.add("examples", time.perf_counter() - t0, len(todo))
    if level >= 3:
        ranked = list(order) if order is not None else list(range(len(checks)))
        done = sum(1 for c in checks if c.full is not None and c.full.status != "skipped")
        t0 = time.perf_counter()
        n = 0
        for i in ranked:
            c = checks[i]
            if c.full is not None or not c.passes("examples"):
                continue
            if done >= settings.max_full:
                c.full = FullCheck("skipped", reason=f"only the best {plural(settings.max_full, 'candidate')} go to Z3")
                continue
            c.full = check_full(spec, hole_id, terms[i], settings.candidate_timeout_ms, settings.seed)
            done += 1
            n += 1
        if n:
            times.add("full", time.perf_counter() - t0, n)


def canonical_or_none(term: str) -> str | None:
    try:
        return to_sexpr(parse_term(term))
    except (TermSyntaxError, RecursionError):
        return None


def tier_counts(checks: Iterable[Checks]) -> dict[str, int]:
    """How many candidates pass each tier (a tier not run counts nobody)."""
    out = {"candidates": 0, "cheap": 0, "examples": 0, "full": 0}
    for c in checks:
        out["candidates"] += 1
        for tier in ("cheap", "examples", "full"):
            if getattr(c, tier) is not None and c.passes(tier):
                out[tier] += 1
    return out
