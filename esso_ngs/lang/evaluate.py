"""The exact evaluator: one expression, one environment, Python ints and bools."""
from __future__ import annotations

from functools import reduce
from typing import Mapping

from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var
from .semantics import euclid_div, euclid_mod

Value = int | bool


class EvalError(ValueError):
    """An expression that cannot be evaluated (unbound name, hole, enum symbol)."""


def evaluate(e: Expr, env: Mapping[str, Value], enums: Mapping[str, int] | None = None) -> Value:
    """Evaluate `e` under `env`. Enum values are their symbol's index in `enums`."""
    if isinstance(e, Const):
        return e.value
    if isinstance(e, BoolLit):
        return e.value
    if isinstance(e, Var):
        if e.name in env:
            return env[e.name]
        # Grammars write enum symbols as bare atoms: a name that is no variable but an
        # enum symbol is that symbol (the same rule holds in every evaluator).
        if enums is not None and e.name in enums:
            return enums[e.name]
        raise EvalError(f"unbound name {e.name!r}")
    if isinstance(e, EnumLit):
        if enums is None or e.symbol not in enums:
            raise EvalError(f"unknown enum symbol {e.symbol!r}")
        return enums[e.symbol]
    if isinstance(e, Ite):
        return evaluate(e.then if evaluate(e.cond, env, enums) else e.else_, env, enums)
    if isinstance(e, Hole):
        raise EvalError(f"unfilled hole {e.hole_id!r}")
    if isinstance(e, Op):
        return apply_op(e.op, [evaluate(a, env, enums) for a in e.args])
    raise TypeError(f"not an expression: {e!r}")


def apply_op(op: str, vals: list[Value]) -> Value:
    if op == "+":
        return sum(vals)
    if op == "-":
        return -vals[0] if len(vals) == 1 else reduce(lambda a, b: a - b, vals)
    if op == "*":
        return reduce(lambda a, b: a * b, vals)
    if op in ("div", "safe_div"):
        return euclid_div(vals[0], vals[1])
    if op in ("mod", "safe_mod"):
        return euclid_mod(vals[0], vals[1])
    if op == "min":
        return min(vals)
    if op == "max":
        return max(vals)
    if op == "=":
        return vals[0] == vals[1]
    if op == "!=":
        return vals[0] != vals[1]
    if op == "<":
        return vals[0] < vals[1]
    if op == "<=":
        return vals[0] <= vals[1]
    if op == ">":
        return vals[0] > vals[1]
    if op == ">=":
        return vals[0] >= vals[1]
    if op == "and":
        return all(vals)
    if op == "or":
        return any(vals)
    if op == "xor":
        return reduce(lambda a, b: bool(a) != bool(b), vals, False)
    if op == "not":
        return not vals[0]
    if op == "=>":
        return (not vals[0]) or bool(vals[1])
    raise EvalError(f"unknown operator {op!r}")
