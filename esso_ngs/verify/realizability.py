"""Is a hole realizable at all? Decided before any search (ESSO_FORMATS "Infeasible specs").

A hole is infeasible when some input of one of its places (within the bounds, the
invariants in inductive scope and the guard) admits no value of `result` that
satisfies the semantic constraints: `exists input. forall result. not constraints`.
Where every constraint is linear in `result` with coefficient 1 (`result <= t`,
`t < result`, `result = t`, or no `result` at all), the set of admitted values is an
interval, and the question needs no quantifier: is there an input where a lower bound
exceeds an upper bound (or a condition without `result` is false)? That also names
the clashing constraints. Otherwise Z3 decides the quantified formula directly.

With a reference kernel whose field holds the hole's value at its site, the
reference's own value must satisfy the constraints: where it does not, no term can
both equal the reference and meet the constraints.

`unknown` (Z3 gave up within its short budget) never stops a search.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

import z3

from ..lang.evaluate import EvalError, Value, evaluate
from ..lang.expr import BoolLit, Const, Expr, Hole, Op, Var, children, free_vars, substitute
from ..lang.z3enc import EncodeError, to_z3, z3_value_to_py
from ..formats.model import BoolType, Constraint, Place, Spec
from .domain import Domain, simpler_input
from .obligations import holed_field, premise_of
from .verifier import VerifyOptions, verify_terms

RESULT = "result"
DEFAULT_TIMEOUT_MS = 500
# Ops along a site's path through which a field's value determines the hole's value.
_INJECTIVE = frozenset({"+", "-"})


@dataclass(frozen=True, slots=True)
class Realizability:
    hole_id: str
    status: str  # "realizable" | "infeasible" | "unknown"
    place: Place | None = None  # where it is infeasible
    witness: Mapping[str, Value] = field(default_factory=dict)  # an input with no admissible result
    clashing: tuple[str, ...] = ()  # the constraints (and the reference) that clash there
    method: str = ""
    reason: str = ""

    @property
    def infeasible(self) -> bool:
        return self.status == "infeasible"

    def describe(self) -> str:
        if self.status != "infeasible":
            return self.status + (f" ({self.reason or self.method})" if self.reason or self.method else "")
        ins = ", ".join(f"{k}={v}" for k, v in self.witness.items())
        where = f"{self.place.action}.{self.place.field}" if self.place else "?"
        return (f"infeasible at {where}: at {ins}: {self.reason}; clashing: "
                + "; ".join(self.clashing))

    def to_json(self) -> dict[str, Any]:
        return {"status": self.status, "place": f"{self.place.action}.{self.place.field}" if self.place else None,
                "witness": dict(self.witness), "clashing": list(self.clashing), "method": self.method,
                "reason": self.reason}


def check_realizability(spec: Spec, hole_id: str, timeout_ms: int = DEFAULT_TIMEOUT_MS) -> Realizability:
    """The first place (in `used_in` order) where the hole is infeasible, else realizable/unknown."""
    hole = spec.hole(hole_id)
    constraints = list(hole.constraints)
    unknown: Realizability | None = None
    methods: list[str] = []
    seen: set[str] = set()
    for place in hole.used_in:
        if place.action in seen:  # constraints and domain depend on the action only
            continue
        seen.add(place.action)
        action = spec.kernel.action(place.action)
        assert action is not None, "the loader checks used_in actions"
        domain = Domain.of(spec.kernel, action)
        premise = premise_of(spec, action)
        if constraints:
            found = _by_constraints(spec, hole_id, hole.type, place, domain, premise, constraints, timeout_ms)
            if found.status == "infeasible":
                return found
            methods.append(found.method)
            if found.status == "unknown" and unknown is None:
                unknown = found
    ref_term = reference_value(spec, hole_id) if spec.ref is not None and constraints else None
    found = _by_reference(spec, hole_id, ref_term, timeout_ms) if ref_term is not None else None
    if found is not None:
        return found
    method = ", ".join(dict.fromkeys(m for m in methods if m)) + (" + reference" if ref_term is not None else "")
    return unknown or Realizability(hole_id, "realizable", method=method.strip(" +") or "nothing to check")


# ------------------------------------------------------------------ constraints
def _by_constraints(spec: Spec, hole_id: str, sort: str, place: Place, domain: Domain, premise: Expr,
                    constraints: list[Constraint], timeout_ms: int) -> Realizability:
    enums = spec.kernel.enum_index()
    solver, env = _solver(domain, timeout_ms)
    enc = lambda e: to_z3(e, env, enums)  # noqa: E731
    bounds = None if sort == "Bool" else _interval_form(constraints)
    try:
        solver.add(enc(premise))
        if sort == "Bool":
            method = "z3 (both Boolean values)"
            solver.add(*[z3.Not(enc(_all(constraints, BoolLit(v)))) for v in (True, False)])
        elif bounds is not None:
            method = "interval (constraints linear in result)"
            lows, highs, plain = bounds
            clash = [enc(lo.expr) > enc(hi.expr) for lo in lows for hi in highs]
            clash += [z3.Not(enc(c.expr)) for c in plain]
            solver.add(z3.Or(clash) if clash else z3.BoolVal(False))
        else:
            method = "z3 (exists input, forall result)"
            r = z3.Int(RESULT)
            solver.add(z3.ForAll([r], z3.Not(to_z3(_all(constraints, Var(RESULT)), {**env, RESULT: r}, enums))))
    except EncodeError as err:
        return Realizability(hole_id, "unknown", reason=f"cannot encode: {err}")
    answer = solver.check()
    if answer == z3.unsat:
        return Realizability(hole_id, "realizable", method=method)
    if answer != z3.sat:
        return Realizability(hole_id, "unknown", method=method, reason=f"z3: {solver.reason_unknown()}")
    witness = _model_values(solver.model(), env)
    clashing = _clashing(constraints, bounds, witness, enums) if _holds(premise, witness, enums) else ()
    if not clashing:  # the exact evaluator must agree with Z3
        return Realizability(hole_id, "unknown", method=method, reason="witness did not replay")
    if bounds is not None:  # the clash is decidable at a point: show a simple one
        witness = simpler_input(domain, witness, lambda env: _holds(premise, env, enums)
                                and _clashing(constraints, bounds, env, enums) == clashing)
    return Realizability(hole_id, "infeasible", place, witness, clashing, method,
                         "no value of result satisfies the constraints")


def _interval_form(constraints: list[Constraint]
                   ) -> tuple[list[Constraint], list[Constraint], list[Constraint]] | None:
    """(lower bounds `result >= t`, upper bounds `result <= t`, conditions without
    result) as constraints over the inputs, or None when some conjunct is not of that
    form. Integer strictness is folded in: `result > t` is `result >= t + 1`."""
    lows: list[Constraint] = []
    highs: list[Constraint] = []
    plain: list[Constraint] = []
    for c in constraints:
        for part in _conjuncts(c.expr):
            if RESULT not in free_vars(part):
                plain.append(Constraint(c.text, part))
                continue
            bound = _bound(part)
            if bound is None:
                return None
            lo, hi = bound
            if lo is not None:
                lows.append(Constraint(c.text, lo))
            if hi is not None:
                highs.append(Constraint(c.text, hi))
    return lows, highs, plain


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Op) and e.op == "and":
        return [p for a in e.args for p in _conjuncts(a)]
    return [e]


_ONE = Const(1)
_FLIP = {"<": ">", "<=": ">=", ">": "<", ">=": "<=", "=": "="}


def _bound(e: Expr) -> tuple[Expr | None, Expr | None] | None:
    """`result OP t` (either side) -> (lower, upper) bound expressions, or None."""
    if not (isinstance(e, Op) and e.op in _FLIP and len(e.args) == 2):
        return None
    a, b = e.args
    op = e.op
    if b == Var(RESULT) and a != Var(RESULT):
        a, b, op = b, a, _FLIP[op]
    if a != Var(RESULT) or RESULT in free_vars(b):
        return None
    one = Op("+", (b, _ONE)), Op("-", (b, _ONE))
    return {"<": (None, one[1]), "<=": (None, b), ">": (one[0], None), ">=": (b, None), "=": (b, b)}[op]


def _holds(e: Expr, env: Mapping[str, Value], enums: Mapping[str, int]) -> bool:
    try:
        return bool(evaluate(e, env, enums))
    except EvalError:
        return False


def _clashing(constraints: list[Constraint], bounds: Any, witness: Mapping[str, Value],
              enums: Mapping[str, int]) -> tuple[str, ...]:
    """The constraints that clash at the witness: with bounds, a pair lower > upper or a
    false condition; otherwise every constraint that mentions result."""
    if bounds is None:
        return tuple(dict.fromkeys(c.text for c in constraints if RESULT in free_vars(c.expr)))
    lows, highs, plain = bounds
    try:
        for c in plain:
            if not evaluate(c.expr, witness, enums):
                return (c.text,)
        for lo in lows:
            for hi in highs:
                if evaluate(lo.expr, witness, enums) > evaluate(hi.expr, witness, enums):  # type: ignore[operator]
                    return tuple(dict.fromkeys((lo.text, hi.text)))
    except EvalError:
        return ()
    return ()


# ------------------------------------------------------------------ reference
def _by_reference(spec: Spec, hole_id: str, term: Expr, timeout_ms: int) -> Realizability | None:
    """Infeasible when the reference's own value `term` at the hole's site breaks a constraint."""
    options = VerifyOptions(timeout_ms=timeout_ms)
    verdict = verify_terms(spec, {hole_id: term}, options, kinds=frozenset({"constraint"}))
    if verdict.status != "refuted" or verdict.counterexample is None:
        return None
    cex = verdict.counterexample
    action, fld = cex.place.split(".", 1)
    return Realizability(hole_id, "infeasible", Place(action, fld), dict(cex.inputs),
                         (cex.label, f"the reference's {cex.place}"), "reference",
                         f"the reference's value {cex.term_values.get(hole_id)} breaks a constraint")


def reference_value(spec: Spec, hole_id: str) -> Expr | None:
    """The reference's subterm standing where the hole stands, when the holed field
    and the reference's field agree elsewhere and the path to the site determines
    the hole's value (only `+`/`-` above it); the same at every place, else None."""
    assert spec.ref is not None
    found: set[Expr] = set()
    for site in spec.sites_of(hole_id):
        action = spec.kernel.action(site.place.action)
        ref_action = spec.ref.action(site.place.action)
        if site.path is None or action is None or ref_action is None:
            continue
        holed = holed_field(spec, action, site.place.field)
        ref_field = ref_action.field_expr(site.place.field)
        if holed is None or ref_field is None:
            continue
        value = _aligned(holed, ref_field, hole_id)
        if value is not None:
            found.add(value)
    return found.pop() if len(found) == 1 else None


def _aligned(holed: Expr, ref: Expr, hole_id: str) -> Expr | None:
    if holed == Hole(hole_id):
        return ref
    if not (isinstance(holed, Op) and isinstance(ref, Op) and holed.op == ref.op
            and holed.op in _INJECTIVE and len(holed.args) == len(ref.args)):
        return None
    value: Expr | None = None
    for h, r in zip(children(holed), children(ref)):
        sub = _aligned(h, r, hole_id)
        if sub is not None:
            value = sub
        elif h != r:
            return None
    return value


# ------------------------------------------------------------------ z3 helpers
def _all(constraints: list[Constraint], result: Expr) -> Expr:
    parts = [substitute(c.expr, {RESULT: result}) for c in constraints]
    return parts[0] if len(parts) == 1 else Op("and", tuple(parts))


def _solver(domain: Domain, timeout_ms: int) -> tuple[z3.Solver, dict[str, z3.ExprRef]]:
    """A solver with the domain's names declared within their type bounds."""
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    env: dict[str, z3.ExprRef] = {}
    for (name, (lo, hi)), t in zip(domain.bounds().items(), domain.types):
        if isinstance(t, BoolType):
            env[name] = z3.Bool(name)
            continue
        v = z3.Int(name)
        solver.add(*([v >= lo] if lo is not None else []), *([v <= hi] if hi is not None else []))
        env[name] = v
    return solver, env


def _model_values(model: z3.ModelRef, env: Mapping[str, z3.ExprRef]) -> dict[str, Value]:
    return {name: z3_value_to_py(model.eval(v, model_completion=True)) for name, v in env.items()}
