"""Check candidate functions against a SyGuS problem's constraints with Z3.

The constraints are instantiated (each application placeholder replaced by the
function's term at the application's arguments) and each one is checked on its own:
a model of its negation is a counterexample, which is replayed with the exact
evaluator before it is believed. When Z3's integer theory answers `unknown`
(nonlinear arithmetic) and the constraint's premise bounds every variable (as in
the files we export from ESSO specs), it is re-posed over bit-vectors wide enough
that nothing overflows, which decides it.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping

import z3

from ..lang.evaluate import EvalError, Value, evaluate
from ..lang.expr import Const, Expr, Op, Var, free_vars, substitute
from ..lang.intervals import bit_width_for
from ..lang.z3enc import EncodeError, int_then_bv, to_z3, to_z3_bv, z3_value_to_py
from ..wording import noun
from .problem import SygusProblem
from .terms import BOOL

Assignment = dict[str, Value]


@dataclass(slots=True)
class CheckResult:
    status: str  # "valid" | "invalid" | "unknown"
    counterexamples: list[tuple[int, Assignment]] = field(default_factory=list)  # (constraint index, inputs)
    reason: str = ""

    @property
    def ok(self) -> bool:
        return self.status == "valid"


def instantiate_apps(problem: SygusProblem, terms: Mapping[str, Expr]) -> dict[str, Expr]:
    """Placeholder -> the function's term at the application's (instantiated) arguments.

    Inner applications come first in the table (their arguments are read before the
    outer application is recorded), so one pass in table order suffices."""
    out: dict[str, Expr] = {}
    for app in problem.apps:
        if app.fun not in terms:
            continue
        f = problem.fun(app.fun)
        args = [substitute(a, out) for a in app.args]
        out[app.var] = substitute(terms[app.fun], dict(zip(f.params, args)))
    return out


def instantiate(problem: SygusProblem, terms: Mapping[str, Expr],
                indices: list[int] | None = None) -> list[tuple[int, Expr]]:
    mapping = instantiate_apps(problem, terms)
    idx = range(len(problem.constraints)) if indices is None else indices
    return [(i, substitute(problem.constraints[i], mapping)) for i in idx]


def check(problem: SygusProblem, terms: Mapping[str, Expr], timeout_ms: int = 5000,
          indices: list[int] | None = None, all_failures: bool = True, deadline: float | None = None
          ) -> CheckResult:
    """Whether the terms satisfy the constraints (those in `indices`, default all).
    With a `deadline` (a `time.perf_counter()` value) no Z3 call runs past it."""
    sorts = problem.var_sorts
    unknown: list[str] = []
    out = CheckResult("valid")
    shared = _SharedApps.build(problem, terms)
    for i, c in instantiate(problem, terms, indices):
        limit = z3_limit_ms(timeout_ms, deadline)
        if limit <= 0:
            unknown.append("time limit reached")
            break
        status, cex, reason = shared.check(problem.constraints[i], c, limit) if shared else ("unknown", None, "")
        if status == "unknown":  # the fallback gets what is left, not a second full limit
            status, cex, reason = check_formula(c, sorts, timeout_ms, deadline)
        if status == "invalid":
            assert cex is not None
            out.status = "invalid"
            out.counterexamples.append((i, cex))
            if not all_failures:
                return out
        elif status == "unknown":
            unknown.append(f"constraint {i + 1}: {reason}")
    if out.status == "valid" and unknown:
        return CheckResult("unknown", reason="; ".join(unknown))
    return out


class _SharedApps:
    """Each application's value as one Z3 constant defined by the function's term, so a
    term that a constraint applies many times (`(or (= x1 (f x)) (= x2 (f x)) ...)`) is
    encoded and reasoned about once. Integer theory only; a constraint it cannot
    decide goes to `check_formula` (which has the bit-vector fallback)."""

    def __init__(self, solver: z3.Solver, env: dict[str, z3.ExprRef], sorts: Mapping[str, str]) -> None:
        self.solver, self.env, self.sorts = solver, env, sorts

    @classmethod
    def build(cls, problem: SygusProblem, terms: Mapping[str, Expr]) -> "_SharedApps | None":
        sorts = problem.var_sorts
        env: dict[str, z3.ExprRef] = {n: (z3.Bool(n) if s == BOOL else z3.Int(n)) for n, s in sorts.items()}
        solver = z3.Solver()
        try:
            for app in problem.apps:
                if app.fun not in terms:
                    return None
                f = problem.fun(app.fun)
                value = substitute(terms[app.fun], dict(zip(f.params, app.args)))
                env[app.var] = z3.Bool(app.var) if f.sort == BOOL else z3.Int(app.var)
                solver.add(env[app.var] == to_z3(value, env))
        except EncodeError:
            return None
        return cls(solver, env, sorts)

    def check(self, constraint: Expr, instantiated: Expr, timeout_ms: int) -> tuple[str, Assignment | None, str]:
        try:
            goal = to_z3(constraint, self.env)
        except EncodeError as err:
            return "unknown", None, f"cannot encode: {err}"
        self.solver.push()
        try:
            self.solver.add(z3.Not(goal))
            self.solver.set("timeout", timeout_ms)
            answer = self.solver.check()
            if answer == z3.unsat:
                return "valid", None, ""
            if answer != z3.sat:
                return "unknown", None, f"z3-int: {self.solver.reason_unknown()}"
            model = self.solver.model()
            names = sorted(free_vars(instantiated))
            cex = {n: z3_value_to_py(model.eval(self.env[n], model_completion=True)) for n in names}
            return _replayed(instantiated, cex, "z3-int")
        finally:
            self.solver.pop()


def z3_limit_ms(cap_ms: int, deadline: float | None) -> int:
    """The time limit of one Z3 call: `cap_ms`, but never past the `deadline` (a
    `time.perf_counter()` value; None: no deadline). 0 or less: no time is left."""
    if deadline is None:
        return cap_ms
    return min(cap_ms, int((deadline - time.perf_counter()) * 1000))


def check_formula(c: Expr, sorts: Mapping[str, str], timeout_ms: int = 5000, deadline: float | None = None
                  ) -> tuple[str, Assignment | None, str]:
    """("valid" | "invalid" | "unknown", counterexample, reason) for a closed-over-vars formula.
    Each query (integers, then bit-vectors) gets `z3_limit_ms(timeout_ms, deadline)`."""
    names = sorted(free_vars(c))
    missing = [n for n in names if n not in sorts]
    if missing:
        return "unknown", None, f"unbound {noun(len(missing), 'name')} {', '.join(missing)}"
    bounds: dict[str, tuple[int | None, int | None]] = {}

    def attempt(width: int | None) -> tuple[bool, tuple[str, Assignment | None, str], str]:
        limit = z3_limit_ms(timeout_ms, deadline)
        if limit <= 0:
            return False, ("unknown", None, "time limit reached"), "time limit reached"
        out = (_int_check(c, names, sorts, limit) if width is None
               else _bv_check(c, names, sorts, bounds, width, limit))  # type: ignore[arg-type]
        return out[0] != "unknown", out, out[2]

    def width_for() -> int | None:
        bounds.update(premise_bounds(c))
        for n in names:
            if sorts[n] == BOOL:
                bounds[n] = (0, 1)
        if all(n in bounds and None not in bounds[n] for n in names):
            return bit_width_for([c], bounds)
        return None

    last, decided, reasons = int_then_bv(attempt, width_for)
    if decided and last is not None:
        return last
    return "unknown", None, "; ".join(reasons)


def _int_check(c: Expr, names: list[str], sorts: Mapping[str, str], timeout_ms: int
               ) -> tuple[str, Assignment | None, str]:
    env = {n: (z3.Bool(n) if sorts[n] == BOOL else z3.Int(n)) for n in names}
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    try:
        solver.add(z3.Not(to_z3(c, env)))
    except EncodeError as err:
        return "unknown", None, f"cannot encode: {err}"
    return _answer(solver, env, c, "z3-int", lambda n, raw: z3_value_to_py(raw))


def _bv_check(c: Expr, names: list[str], sorts: Mapping[str, str], bounds: Mapping[str, tuple[int, int]],
              width: int, timeout_ms: int) -> tuple[str, Assignment | None, str]:
    env: dict[str, z3.ExprRef] = {}
    solver = z3.Solver()
    solver.set("timeout", timeout_ms)
    for n in names:
        if sorts[n] == BOOL:
            env[n] = z3.Bool(n)
            continue
        v = z3.BitVec(n, width)
        lo, hi = bounds[n]
        solver.add(v >= z3.BitVecVal(lo, width), v <= z3.BitVecVal(hi, width))
        env[n] = v
    try:
        solver.add(z3.Not(to_z3_bv(c, env, width)))
    except EncodeError as err:
        return "unknown", None, f"cannot encode over bit-vectors: {err}"
    return _answer(solver, env, c, f"z3-bv{width}",
                   lambda n, raw: z3_value_to_py(raw) if sorts[n] == BOOL else _signed(raw.as_long(), width))


def _answer(solver: z3.Solver, env: Mapping[str, z3.ExprRef], c: Expr, method: str,
            read: Callable[[str, z3.ExprRef], int | bool]) -> tuple[str, Assignment | None, str]:
    """The solver's answer for `not c`: valid, a replayed counterexample, or unknown."""
    answer = solver.check()
    if answer == z3.unsat:
        return "valid", None, ""
    if answer == z3.sat:
        model = solver.model()
        cex: Assignment = {n: read(n, model.eval(v, model_completion=True)) for n, v in env.items()}
        return _replayed(c, cex, method)
    return "unknown", None, f"{method}: {solver.reason_unknown()}"


def _signed(raw: int, width: int) -> int:
    return raw - (1 << width) if raw >= 1 << (width - 1) else raw


def _replayed(c: Expr, cex: Assignment, method: str) -> tuple[str, Assignment | None, str]:
    """A Z3 model is a counterexample only if the exact evaluator agrees."""
    try:
        if evaluate(c, cex) is False:
            return "invalid", cex, ""
    except EvalError as err:
        return "unknown", None, f"{method}: model does not evaluate ({err})"
    return "unknown", None, f"{method}: model did not replay under the exact evaluator"


def premise_bounds(c: Expr) -> dict[str, tuple[int | None, int | None]]:
    """Variable bounds stated by the premise of `(=> P goal)` (nested implications too):
    conjuncts of P comparing a variable with a literal."""
    bounds: dict[str, list[int | None]] = {}

    def tighten(name: str, lo: int | None, hi: int | None) -> None:
        cur = bounds.setdefault(name, [None, None])
        if lo is not None:
            cur[0] = lo if cur[0] is None else max(cur[0], lo)
        if hi is not None:
            cur[1] = hi if cur[1] is None else min(cur[1], hi)

    def atom(e: Expr) -> None:
        if not (isinstance(e, Op) and e.op in ("<=", "<", ">=", ">", "=") and len(e.args) == 2):
            return
        a, b = e.args
        op = e.op
        if isinstance(a, Const) and isinstance(b, Var):  # c <= x  is  x >= c
            a, b = b, a
            op = {"<=": ">=", "<": ">", ">=": "<=", ">": "<", "=": "="}[op]
        if not (isinstance(a, Var) and isinstance(b, Const)):
            return
        k = b.value
        if op == "<=":
            tighten(a.name, None, k)
        elif op == "<":
            tighten(a.name, None, k - 1)
        elif op == ">=":
            tighten(a.name, k, None)
        elif op == ">":
            tighten(a.name, k + 1, None)
        else:
            tighten(a.name, k, k)

    def premise(e: Expr) -> None:
        if isinstance(e, Op) and e.op == "and":
            for a in e.args:
                premise(a)
        else:
            atom(e)

    e = c
    while isinstance(e, Op) and e.op == "=>":
        premise(e.args[0])
        e = e.args[1]
    return {k: (v[0], v[1]) for k, v in bounds.items()}
