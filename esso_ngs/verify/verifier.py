"""Decide whether terms fill a spec's holes correctly.

Per obligation: refute cheaply first (the batched evaluator on sampled boundary and
random inputs), then prove with Z3. Z3 gets the integer encoding first; when it
answers `unknown` (nonlinear arithmetic) and every name is bounded, the obligation
is re-posed over bit-vectors wide enough that nothing can overflow, which is a
decision procedure. Every counterexample is re-checked with the exact evaluator
before it is reported, and `unknown` is never reported as verified.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import numpy as np
import z3

from ..lang.batched import evaluate_batch
from ..lang.evaluate import EvalError, Value, evaluate
from ..lang.expr import Expr, Op, fill_holes
from ..lang.intervals import bit_width_for
from ..lang.sexpr import to_sexpr
from ..lang.z3enc import int_then_bv, to_z3, to_z3_bv, z3_value_to_py
from ..memo import IdentityCache
from ..formats.model import BoolType, Spec
from ..wording import plural
from .domain import row, sample_inputs, take
from .obligations import Obligation, obligations_for

DEFAULT_TIMEOUT_MS = 10_000
DEFAULT_RLIMIT = 50_000_000
SAMPLE_SIZE = 2048


@dataclass(frozen=True, slots=True)
class Counterexample:
    obligation: str  # kind: constraint | reference | inductive
    place: str  # "action.field"
    label: str
    inputs: Mapping[str, Value]
    term_values: Mapping[str, Value]  # hole id -> the term's value here
    observed: Value | None = None
    expected: Value | None = None

    def describe(self) -> str:
        ins = ", ".join(f"{k}={v}" for k, v in self.inputs.items())
        vals = ", ".join(f"{k}={v}" for k, v in self.term_values.items())
        text = f"{self.obligation} obligation at {self.place} fails: {self.label}\n  inputs: {ins}\n  term: {vals}"
        if self.expected is not None:
            text += f"\n  field value {self.observed}, reference expects {self.expected}"
        return text

    def to_json(self) -> dict[str, Any]:
        return {"obligation": self.obligation, "place": self.place, "label": self.label,
                "inputs": dict(self.inputs), "term_values": dict(self.term_values),
                "observed": self.observed, "expected": self.expected}


@dataclass(frozen=True, slots=True)
class Verdict:
    status: str  # "verified" | "refuted" | "unknown"
    terms: Mapping[str, str]  # hole id -> canonical term
    counterexample: Counterexample | None = None
    reason: str = ""
    methods: tuple[str, ...] = ()  # how each obligation was decided
    notes: tuple[str, ...] = ()
    time_s: float = 0.0
    obligations: int = 0

    @property
    def ok(self) -> bool:
        return self.status == "verified"

    def describe(self) -> str:
        terms = ", ".join(f"{k} = {v}" for k, v in self.terms.items())
        head = f"{self.status.upper()}: {terms}"
        if self.status == "verified":
            head += f" ({plural(self.obligations, 'obligation')}, {self.time_s * 1000:.0f} ms)"
        lines = [head]
        if self.counterexample is not None:
            lines.append(self.counterexample.describe())
        if self.reason:
            lines.append(f"  reason: {self.reason}")
        lines.extend(f"  note: {n}" for n in self.notes)
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "terms": dict(self.terms),
                "counterexample": self.counterexample.to_json() if self.counterexample else None,
                "reason": self.reason, "methods": list(self.methods), "notes": list(self.notes),
                "time_s": round(self.time_s, 6), "obligations": self.obligations}


@dataclass(frozen=True, slots=True)
class VerifyOptions:
    timeout_ms: int = DEFAULT_TIMEOUT_MS  # per Z3 query
    rlimit: int = DEFAULT_RLIMIT  # per Z3 query, deterministic
    strategy: str = "auto"  # "auto" (int then bv) | "int" | "bv" | "sample" (refute only)
    sample_size: int = SAMPLE_SIZE
    seed: int = 0


@dataclass(slots=True)
class _Outcome:
    status: str
    method: str
    cex: Counterexample | None = None
    reason: str = ""


def verify(spec: Spec, hole_id: str, term: Expr, options: VerifyOptions | None = None,
           others: Mapping[str, Expr] | None = None) -> Verdict:
    """Check one hole's term (other holes' terms in `others`, when obligations share them)."""
    return verify_terms(spec, {**(others or {}), hole_id: term}, options, only=(hole_id,))


def verify_terms(spec: Spec, terms: Mapping[str, Expr], options: VerifyOptions | None = None,
                 only: tuple[str, ...] | None = None, kinds: frozenset[str] | None = None) -> Verdict:
    """Check the obligations of the holes in `only` (default: all in `terms`),
    restricted to the obligation `kinds` when given."""
    options = options or VerifyOptions()
    start = time.perf_counter()
    canon = {h: to_sexpr(t) for h, t in terms.items()}
    obligations: list[Obligation] = []
    notes: list[str] = []
    for hole_id in only or tuple(terms):
        oset = obligations_for(spec, hole_id)
        notes.extend(oset.notes)
        for ob in oset.obligations:
            if kinds is not None and ob.kind not in kinds:
                continue
            missing = ob.holes - set(terms)
            if missing:
                notes.append(f"{ob.label}: skipped, needs the term of {', '.join(sorted(missing))}")
            elif ob not in obligations:
                obligations.append(ob)
    if not obligations:
        return Verdict("unknown", canon, reason="nothing to check: no constraint, reference or invariant applies",
                       notes=tuple(notes), time_s=time.perf_counter() - start)
    enums = spec.kernel.enum_index()
    methods: list[str] = []
    unknown: _Outcome | None = None
    # Refute everything cheaply before any proof: a wrong term usually fails on samples.
    for ob in obligations:
        cex = _refute_by_sampling(ob, terms, enums, options)
        if cex is not None:
            return Verdict("refuted", canon, cex, methods=("sampling",), notes=tuple(notes),
                           time_s=time.perf_counter() - start, obligations=len(obligations))
    if options.strategy == "sample":
        return Verdict("unknown", canon, reason="sampling found no counterexample (no proof requested)",
                       methods=("sampling",), notes=tuple(notes),
                       time_s=time.perf_counter() - start, obligations=len(obligations))
    for group in _same_query(obligations):
        outcome = _prove(group, terms, enums, options)
        if outcome.status == "unknown" and len(group) > 1:
            # One hard conjunct should not hide the verdicts of the easy ones.
            for ob in group:
                outcome = _prove([ob], terms, enums, options)
                if outcome.status != "verified":
                    break
        methods.append(outcome.method)
        if outcome.status == "refuted":
            return Verdict("refuted", canon, outcome.cex, methods=tuple(methods), notes=tuple(notes),
                           time_s=time.perf_counter() - start, obligations=len(obligations))
        if outcome.status == "unknown" and unknown is None:
            unknown = outcome
    if unknown is not None:
        return Verdict("unknown", canon, reason=unknown.reason, methods=tuple(methods), notes=tuple(notes),
                       time_s=time.perf_counter() - start, obligations=len(obligations))
    return Verdict("verified", canon, methods=tuple(methods), notes=tuple(notes),
                   time_s=time.perf_counter() - start, obligations=len(obligations))


# ------------------------------------------------------------------ refutation
# The one sample-and-refute: the verifier, the examples tier and CEGIS's examples
# sample a domain where the premise holds (`premise_sample`) and re-check every
# mismatch the batched evaluator finds with the exact one (`first_counterexample`).
def premise_sample(ob: Obligation, n: int, seed: int, enums: Mapping[str, int]
                   ) -> tuple[dict[str, np.ndarray], int]:
    """`n` sampled inputs of the obligation's domain, kept (in order) where its
    premise holds, and how many were kept. Sampling is deterministic and costs most
    of a verifier call, so it is done once per (domain object, premise, n, seed);
    the arrays are shared: read them, never write into them."""
    key = (ob.premise, n, seed, tuple(sorted(enums.items())))
    hit = _PREMISE_SAMPLES.get((ob.domain,), key)
    if hit is None:
        columns = sample_inputs(ob.domain, n, seed)
        premise = np.asarray(evaluate_batch(ob.premise, columns, enums, n), dtype=bool)
        hit = _PREMISE_SAMPLES.put((ob.domain,), key, (take(columns, premise), int(premise.sum())))
    return hit


_PREMISE_SAMPLES: IdentityCache[tuple[dict[str, np.ndarray], int]] = IdentityCache(64)


def first_counterexample(ob: Obligation, terms: Mapping[str, Expr], enums: Mapping[str, int],
                         columns: Mapping[str, np.ndarray], rows: Iterable[int]) -> Counterexample | None:
    """The first of `rows` (suspected failures) that the exact evaluator confirms."""
    for i in rows:
        cex = confirm(ob, terms, enums, row(columns, int(i)))
        if cex is not None:
            return cex
    return None


def _refute_by_sampling(ob: Obligation, terms: Mapping[str, Expr], enums: Mapping[str, int],
                        options: VerifyOptions) -> Counterexample | None:
    columns, size = premise_sample(ob, options.sample_size, options.seed, enums)
    if not size:
        return None
    goal = np.asarray(evaluate_batch(fill_holes(ob.goal, dict(terms)), columns, enums, size), dtype=bool)
    return first_counterexample(ob, terms, enums, columns, np.flatnonzero(~goal)[:8])


def confirm(ob: Obligation, terms: Mapping[str, Expr], enums: Mapping[str, int],
            inputs: dict[str, Value]) -> Counterexample | None:
    """A counterexample re-checked with the exact evaluator, or None if it does not hold."""
    try:
        if not evaluate(ob.premise, inputs, enums):
            return None
        if evaluate(fill_holes(ob.goal, dict(terms)), inputs, enums):
            return None
        values = {h: evaluate(t, inputs, enums) for h, t in terms.items() if h in ob.holes}
        observed = evaluate(fill_holes(ob.observed, dict(terms)), inputs, enums) if ob.observed else None
        expected = evaluate(ob.expected, inputs, enums) if ob.expected is not None else None
    except EvalError:
        return None
    return Counterexample(ob.kind, f"{ob.place.action}.{ob.place.field}", ob.label, inputs, values,
                          observed, expected)


# ------------------------------------------------------------------ proof
def _same_query(obligations: list[Obligation]) -> list[list[Obligation]]:
    """Obligations over one domain under one premise: proven together in one Z3 query."""
    groups: dict[tuple[str, Expr], list[Obligation]] = {}
    for ob in obligations:
        groups.setdefault((ob.domain.action_id, ob.premise), []).append(ob)
    return list(groups.values())


def _prove(group: list[Obligation], terms: Mapping[str, Expr], enums: Mapping[str, int],
           options: VerifyOptions) -> _Outcome:
    goals = [fill_holes(ob.goal, dict(terms)) for ob in group]
    goal = goals[0] if len(goals) == 1 else Op("and", tuple(goals))
    ob = group[0]

    def attempt(width: int | None) -> tuple[bool, _Outcome, str]:
        outcome = _prove_with(group, terms, goal, enums, options, width=width)
        return outcome.status != "unknown", outcome, outcome.reason

    def width_for() -> int | str:
        width = bit_width_for([ob.premise, goal], ob.domain.bounds()) if ob.domain.is_bounded() else None
        return width if width is not None else "bit-vector encoding impossible: some name is unbounded"

    last, decided, tried = int_then_bv(attempt, width_for, options.strategy)
    if last is not None and (decided or options.strategy == "int"):
        return last
    return _Outcome("unknown", "z3", reason="; ".join(tried))


def _prove_with(group: list[Obligation], terms: Mapping[str, Expr], goal: Expr, enums: Mapping[str, int],
                options: VerifyOptions, width: int | None) -> _Outcome:
    ob = group[0]
    method = "z3-int" if width is None else f"z3-bv{width}"
    solver = z3.Solver()
    solver.set("timeout", options.timeout_ms)
    solver.set("rlimit", options.rlimit)
    env: dict[str, z3.ExprRef] = {}
    for name, (lo, hi), t in zip(ob.domain.names, ob.domain.bounds().values(), ob.domain.types):
        if isinstance(t, BoolType):
            env[name] = z3.Bool(name)
            continue
        if width is None:
            v = z3.Int(name)
            if lo is not None:
                solver.add(v >= lo)
            if hi is not None:
                solver.add(v <= hi)
        else:
            v = z3.BitVec(name, width)
            solver.add(v >= z3.BitVecVal(lo, width), v <= z3.BitVecVal(hi, width))  # signed compares
        env[name] = v
    encode = (lambda e: to_z3(e, env, enums)) if width is None else (lambda e: to_z3_bv(e, env, width, enums))
    solver.add(encode(ob.premise))
    solver.add(z3.Not(encode(goal)))
    answer = solver.check()
    if answer == z3.unsat:
        return _Outcome("verified", method)
    if answer == z3.sat:
        model = solver.model()
        inputs: dict[str, Value] = {}
        for name, v in env.items():
            raw = model.eval(v, model_completion=True)
            inputs[name] = _bv_signed(raw, width) if width is not None and not isinstance(v, z3.BoolRef) \
                else z3_value_to_py(raw)
        for failed in group:
            cex = confirm(failed, terms, enums, inputs)
            if cex is not None:
                return _Outcome("refuted", method, cex)
        return _Outcome("unknown", method, reason=f"{method}: model did not replay under the exact evaluator")
    return _Outcome("unknown", method, reason=f"{method}: {solver.reason_unknown()}")


def _bv_signed(value: z3.ExprRef, width: int) -> int:
    raw = value.as_long()  # type: ignore[attr-defined]
    return raw - (1 << width) if raw >= 1 << (width - 1) else raw
