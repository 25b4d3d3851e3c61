"""Affine functions by template CEGIS, for functions written without a grammar.

Without a grammar any term of the logic is allowed, and the default grammar's
constants (the problem's literals, 0 and 1) cannot build `1000 * x + 12345` within
any sensible size. So first try f(x) = c0 + c1*x1 + ... + cn*xn with unknown integer
coefficients: on concrete examples every application becomes a linear expression in
the c's, Z3 solves for them, the candidate is checked like any other, and a
counterexample joins the examples. When no affine function fits the examples the
attempt stops at once (unsat), leaving the problem to the enumerative solvers.
Only for Int functions of Int/Bool parameters (Bool parameters get no coefficient),
with no application nested in another's arguments (that would make the
coefficients multiply each other).
"""
from __future__ import annotations

import z3

from ..lang.evaluate import evaluate
from ..lang.expr import Const, Expr, Op, Var
from ..lang.z3enc import EncodeError, to_z3
from .common import Run
from .examples import Examples, apps_in
from .problem import SygusProblem, SynthFun
from .terms import BOOL, INT

MAX_ROUNDS = 30


def affine_applicable(problem: SygusProblem, funs: list[SynthFun], cidx: list[int]) -> bool:
    if not all(f.default_grammar and f.sort == INT and not f.is_inv for f in funs):
        return False
    return not any(a.nested for a in apps_in(problem, cidx))


def solve_affine(run: Run, funs: list[SynthFun], cidx: list[int]) -> dict[str, Expr] | None:
    """Affine terms satisfying the constraints, or None (none fits, undecided, or out of rounds)."""
    problem, res = run.problem, run.result
    coeffs = {f.name: [z3.Int(f"c!{f.name}!{i}") for i in range(len(f.params) + 1)] for f in funs}
    examples = Examples(problem.variables)
    examples.seed(run.options.random_examples, run.options.seed)
    apps = apps_in(problem, cidx)
    by_fun = {f.name: f for f in funs}
    for _ in range(MAX_ROUNDS):
        if run.out_of_time():
            return None
        solver = z3.Solver()
        solver.set("timeout", run.z3_ms())
        for row in examples.rows:
            env_vals = dict(zip((n for n, _ in problem.variables), row))
            env: dict[str, z3.ExprRef] = {n: (z3.BoolVal(v) if s == BOOL else z3.IntVal(v))
                                          for (n, s), v in zip(problem.variables, row)}
            for app in apps:
                f = by_fun[app.fun]
                point = [evaluate(a, env_vals) for a in app.args]
                cs = coeffs[app.fun]
                env[app.var] = cs[0] + z3.Sum([c * int(x) for c, x, s in zip(cs[1:], point, f.sorts) if s == INT]
                                              or [z3.IntVal(0)])
            try:
                for i in cidx:
                    solver.add(to_z3(problem.constraints[i], env))
            except EncodeError:
                return None
        res.z3_calls += 1
        if solver.check() != z3.sat:
            return None  # no affine function fits the examples (or Z3 gave up)
        model = solver.model()
        terms = {f.name: _affine_term(f, [model.eval(c, model_completion=True).as_long() for c in coeffs[f.name]])
                 for f in funs}
        verdict = run.check(terms, cidx)
        res.rounds += 1
        if verdict.ok:
            return terms
        if verdict.status != "invalid" or not any([examples.add(cex) for _, cex in verdict.counterexamples]):
            return None
    return None


def _affine_term(f: SynthFun, cs: list[int]) -> Expr:
    parts: list[Expr] = []
    for c, p, s in zip(cs[1:], f.params, f.sorts):
        if s != INT or c == 0:
            continue
        x = Var(p)
        parts.append(x if c == 1 else Op("-", (x,)) if c == -1 else Op("*", (Const(c), x)))
    if parts and cs[0] < 0:  # x - 1 rather than x + -1
        return Op("-", (parts[0] if len(parts) == 1 else Op("+", tuple(parts)), Const(-cs[0])))
    if cs[0] != 0 or not parts:
        parts.append(Const(cs[0]))
    return parts[0] if len(parts) == 1 else Op("+", tuple(parts))
