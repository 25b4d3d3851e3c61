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
from dataclasses import dataclass, field
from typing import Any, Iterable, Mapping, Sequence

import numpy as np

from ..errors import UserError
from ..extras import require_extra
from ..grammar import CompiledGrammar, Membership, check_term, grammar_for_hole, style_metrics
from ..lang.batched import BatchEnv, evaluate_many
from ..lang.expr import Expr, fill_holes
from ..lang.sexpr import TermSyntaxError, parse_term
from ..memo import IdentityCache
from ..formats.model import Spec
from ..wording import plural
from .candidate import Candidate, CheapCheck, Checks, ExamplesCheck, FullCheck, tier_level
from .obligations import Obligation, obligations_for
from .verifier import Verdict, VerifyOptions, first_counterexample, premise_sample, verify

DEFAULT_TIER = "examples"
DEFAULT_EXAMPLE_INPUTS = 20_000
DEFAULT_CANDIDATE_TIMEOUT_MS = 4_000


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
def check_cheap(spec: Spec, grammar: CompiledGrammar, term: str | Expr,
                membership: Membership | None = None) -> CheapCheck:
    """Grammar membership and the style profile; `membership` when already checked in `grammar`."""
    t0 = time.perf_counter()
    if isinstance(term, str):
        try:
            term = parse_term(term)
        except (TermSyntaxError, RecursionError) as exc:
            return CheapCheck(False, False, False, None, f"not a term: {exc}", time.perf_counter() - t0)
    if membership is None:
        membership = check_term(grammar, term)
    metrics = membership.style if membership.style is not None else style_metrics(term, spec.synth.style)
    reason = "" if membership.ok else f"not in the grammar: {membership.explanation}"
    if membership.ok and not metrics.fits:
        reason = "over the style profile: " + "; ".join(metrics.violations)
    ok = bool(membership.ok) and metrics.fits
    return CheapCheck(ok, bool(membership.ok), metrics.fits, metrics.cost, reason, time.perf_counter() - t0)


# ---------------------------------------------------------------- full
def check_full(spec: Spec, hole_id: str, term: str | Expr, timeout_ms: int, seed: int = 0) -> FullCheck:
    """Z3 with a per-candidate limit: spread over the candidate's queries (one per
    action and premise, and a bit-vector retry each when integers give up)."""
    return _full(spec, hole_id, term, timeout_ms, seed)[0]


def _full(spec: Spec, hole_id: str, term: str | Expr, timeout_ms: int, seed: int
          ) -> tuple[FullCheck, Verdict | None]:
    t0 = time.perf_counter()
    if isinstance(term, str):
        try:
            term = parse_term(term)
        except (TermSyntaxError, RecursionError) as exc:
            return FullCheck("skipped", reason=f"not a term: {exc}"), None
    obs = obligations_for(spec, hole_id).obligations
    queries = max(1, len({(ob.domain.action_id, ob.premise) for ob in obs}))
    per_query = max(1, timeout_ms // (2 * queries))
    verdict = verify(spec, hole_id, term, VerifyOptions(timeout_ms=per_query, seed=seed))
    cex = verdict.counterexample.to_json() if verdict.counterexample is not None else None
    return FullCheck(verdict.status, cex, verdict.reason, time.perf_counter() - t0), verdict


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
_INPUTS: IdentityCache[_Inputs] = IdentityCache(64)


def _premise_inputs(spec: Spec, ob: Obligation, n: int, seed: int) -> _Inputs:
    key = (ob.domain.action_id, ob.premise, n, seed)
    hit = _INPUTS.get((spec,), key)
    if hit is not None:
        return hit
    enums = spec.kernel.enum_index()
    kept, size = premise_sample(ob, n, seed, enums)
    out = _Inputs(BatchEnv(kept, enums, size) if size else BatchEnv({}, enums, 1), kept, size)
    return _INPUTS.put((spec,), key, out)


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
        from ..lang.batched_torch import torch_device
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
                     columns: Mapping[str, np.ndarray], rows: Iterable[int]) -> dict[str, Any] | None:
    """The first mismatch, re-checked and described with the exact evaluator."""
    cex = first_counterexample(ob, {hole_id: term}, spec.kernel.enum_index(), columns, rows)
    if cex is None:
        return None
    return {"obligation": cex.obligation, "place": cex.place, "label": cex.label, "inputs": cex.inputs,
            "term_value": cex.term_values[hole_id], "observed": cex.observed, "expected": cex.expected}


def check_examples(spec: Spec, hole_id: str, terms: Sequence[str | Expr], n: int = DEFAULT_EXAMPLE_INPUTS,
                   seed: int = 0) -> list[ExamplesCheck]:
    """Evaluate all `terms` of one hole at once on `n` sampled inputs per obligation."""
    t0 = time.perf_counter()
    exprs = [parse_term(t) if isinstance(t, str) else t for t in terms]
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
                first[i] = _mismatch_record(spec, hole_id, ob, exprs[i], inputs.columns, misses[:4])
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


def validate(spec: Spec, hole_id: str, candidates: Sequence[Candidate], settings: ValidationSettings,
             times: TierTimes | None = None, order: Iterable[int] | None = None) -> None:
    """Record on each candidate the tiers up to `settings.tier` it has not been through.

    `order` lists candidate indices best-first: Z3 (the `max_full` cap) goes to the
    best-ranked ones first (default: the given order).
    """
    level = tier_level(settings.tier)
    times = times if times is not None else TierTimes()
    checks = [c.checks for c in candidates]
    terms: list[str | Expr] = [c.expr if c.expr is not None else c.term for c in candidates]
    if level >= 1:
        grammar = grammar_for_hole(spec, hole_id)
        todo = [i for i, c in enumerate(checks) if c.cheap is None]
        t0 = time.perf_counter()
        for i in todo:
            checks[i].cheap = check_cheap(spec, grammar, terms[i], checks[i].membership_in(grammar))
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
            c.full, c.verdict = _full(spec, hole_id, terms[i], settings.candidate_timeout_ms, settings.seed)
            done += 1
            n += 1
        if n:
            times.add("full", time.perf_counter() - t0, n)


def tier_counts(checks: Iterable[Checks]) -> dict[str, int]:
    """How many candidates pass each tier (a tier not run counts nobody)."""
    out = {"candidates": 0, "cheap": 0, "examples": 0, "full": 0}
    for c in checks:
        out["candidates"] += 1
        for tier in ("cheap", "examples", "full"):
            if getattr(c, tier) is not None and c.passes(tier):
                out[tier] += 1
    return out
