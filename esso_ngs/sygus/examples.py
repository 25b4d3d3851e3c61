"""Examples for SyGuS CEGIS: assignments of the declared variables, as columns, and the
points at which a candidate function is evaluated on them.

Each distinct application f(e1..en) of the constraints gives, per example, a point:
the values of e1..en there. A function's enumeration environment holds all its
points as rows (its formal parameters are the columns), so the Enumerator's
observational-equivalence pruning is exact for what the constraints can observe,
and a candidate's values at the application are a slice of its enumerated values.
Applications nested inside another application's arguments have points that depend
on the candidate; they are evaluated directly, and the points met at a
counterexample are kept as extra rows.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np

from ..lang.batched import BatchEnv, BatchValue, batch_value, column_value, evaluate_batch, to_array
from ..lang.evaluate import Value, evaluate
from ..lang.expr import Expr, Var, substitute, walk
from .check import instantiate_apps
from .problem import SygusProblem, SynthFun
from .terms import APP_PREFIX, BOOL, App


class Examples:
    """Assignments of the problem's declared variables, without duplicates."""

    def __init__(self, variables: Sequence[tuple[str, str]]) -> None:
        self.variables = tuple(variables)
        self.rows: list[tuple[Value, ...]] = []
        self._seen: set[tuple[Value, ...]] = set()

    @property
    def size(self) -> int:
        return len(self.rows)

    def add(self, assignment: Mapping[str, Value]) -> bool:
        """Add an assignment (missing names: 0/false); False when already present."""
        row = tuple(_coerce(assignment.get(n, False if s == BOOL else 0), s) for n, s in self.variables)
        if row in self._seen:
            return False
        self._seen.add(row)
        self.rows.append(row)
        return True

    def seed(self, count: int, seed: int) -> None:
        """The all-zero assignment, then `count` small random ones: cheap first distinctions."""
        self.add({})
        rng = random.Random(seed)
        for _ in range(count):
            self.add({n: (rng.random() < 0.5) if s == BOOL else rng.randint(-4, 9) for n, s in self.variables})

    def columns(self) -> dict[str, np.ndarray]:
        out: dict[str, np.ndarray] = {}
        for j, (name, sort) in enumerate(self.variables):
            vals = [r[j] for r in self.rows]
            out[name] = np.array(vals, dtype=bool) if sort == BOOL else _int_array(vals)
        return out


def _coerce(v: Value, sort: str) -> Value:
    return bool(v) if sort == BOOL else int(v)


def _int_array(vals: Sequence[Value]) -> np.ndarray:
    if all(-(1 << 62) <= int(v) <= (1 << 62) for v in vals):
        return np.array(vals, dtype=np.int64)
    return np.array([int(v) for v in vals], dtype=object)


def apps_in(problem: SygusProblem, constraints: Sequence[int]) -> list[App]:
    """The applications the given constraints use (with those inside their arguments), table order."""
    wanted: set[str] = set()
    for i in constraints:
        wanted |= _placeholders(problem.constraints[i])
    by_var = {a.var: a for a in problem.apps}
    stack = list(wanted)
    while stack:
        app = by_var[stack.pop()]
        for a in app.args:
            for v in _placeholders(a) - wanted:
                wanted.add(v)
                stack.append(v)
    return [a for a in problem.apps if a.var in wanted]


def _placeholders(e: Expr) -> set[str]:
    return {n.name for _, n in walk(e) if isinstance(n, Var) and n.name.startswith(APP_PREFIX)}


@dataclass(slots=True)
class _Slice:
    start: int
    stop: int


class PointContext:
    """For one set of functions and constraints on the current examples: each function's
    enumeration environment, and the batched check of candidates against the constraints."""

    def __init__(self, problem: SygusProblem, funs: Sequence[SynthFun], constraints: Sequence[int],
                 examples: Examples, extra_points: Mapping[str, list[dict[str, Value]]]) -> None:
        self.problem = problem
        self.funs = {f.name: f for f in funs}
        self.constraints = list(constraints)
        self.n = examples.size
        self.base = BatchEnv(examples.columns(), size=self.n)
        self.apps = apps_in(problem, constraints)
        self.slices: dict[str, _Slice] = {}
        self.envs: dict[str, BatchEnv] = {}
        for f in funs:
            parts: dict[str, list[np.ndarray]] = {p: [] for p in f.params}
            rows = 0
            for app in self.apps:
                if app.fun != f.name or app.nested:
                    continue
                for p, arg in zip(f.params, app.args):
                    parts[p].append(np.asarray(evaluate_batch(arg, self.base)))
                self.slices[app.var] = _Slice(rows, rows + self.n)
                rows += self.n
            extra = extra_points.get(f.name, [])
            if extra or rows == 0:
                # Nested applications only: at least one point, or every term looks alike.
                points = extra or [{p: (False if s == BOOL else 0) for p, s in zip(f.params, f.sorts)}]
                for p, s in zip(f.params, f.sorts):
                    col = [pt[p] for pt in points]
                    parts[p].append(np.array(col, dtype=bool) if s == BOOL else _int_array(col))
                rows += len(points)
            columns = {p: _concat(arrs) for p, arrs in parts.items()}
            self.envs[f.name] = BatchEnv(columns, size=rows)

    def passes(self, candidates: Mapping[str, tuple[Expr, np.ndarray]]) -> bool:
        """Whether the candidates (term, values on the function's environment) satisfy
        every constraint on every example."""
        env = self._with_apps(candidates)
        for k, i in enumerate(self.constraints):
            ok = evaluate_batch(self.problem.constraints[i], env)
            if not bool(np.all(ok)):
                if k:  # the constraint that failed is likely to fail the next candidate too
                    self.constraints.insert(0, self.constraints.pop(k))
                return False
        return True

    def cover(self, candidates: Mapping[str, tuple[Expr, np.ndarray]]) -> np.ndarray:
        """Per example, whether the candidates satisfy every constraint there."""
        env = self._with_apps(candidates)
        out = np.ones(self.n, dtype=bool)
        for i in self.constraints:
            out &= np.asarray(evaluate_batch(self.problem.constraints[i], env), dtype=bool)
        return out

    def nested_points(self, candidates: Mapping[str, Expr], assignment: Mapping[str, Value]
                      ) -> dict[str, list[dict[str, Value]]]:
        """Points of nested applications at one assignment, under the candidates."""
        out: dict[str, list[dict[str, Value]]] = {}
        mapping = instantiate_apps(self.problem, candidates)
        for app in self.apps:
            if not app.nested or app.fun not in candidates:
                continue
            f = self.problem.fun(app.fun)
            point = {p: evaluate(substitute(a, mapping), assignment) for p, a in zip(f.params, app.args)}
            out.setdefault(app.fun, []).append(point)
        return out

    def _with_apps(self, candidates: Mapping[str, tuple[Expr, np.ndarray]]) -> BatchEnv:
        env = BatchEnv({}, size=self.n)
        values: dict[str, BatchValue] = dict(self.base.values)
        env.values = values
        for app in self.apps:
            term, arr = candidates[app.fun]
            sl = self.slices.get(app.var)
            if sl is not None:
                values[app.var] = column_value(arr[sl.start:sl.stop])
                continue
            f = self.funs[app.fun]
            args = {p: to_array(_value(a, env), self.n) for p, a in zip(f.params, app.args)}
            values[app.var] = column_value(evaluate_batch(term, BatchEnv(args, size=self.n)))
        return env


def _value(e: Expr, env: BatchEnv) -> BatchValue:
    return batch_value(e, env)


def _concat(arrs: list[np.ndarray]) -> np.ndarray:
    if not arrs:
        return np.zeros(0, dtype=np.int64)
    if any(a.dtype == object for a in arrs):
        return np.concatenate([a.astype(object) for a in arrs])
    return np.concatenate(arrs)
