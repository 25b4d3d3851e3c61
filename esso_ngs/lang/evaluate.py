"""The exact evaluator: one expression, one environment, Python ints and bools."""
from __future__ import annotations

from typing import Mapping

from . import ops
from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var, expand

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
        entry = ops.TABLE.get(e.op)
        if entry is None:
            raise EvalError(f"unknown operator {e.op!r}")
        if entry.exact is None:  # a defined operator: its body
            return evaluate(expand(e), env, enums)
        return entry.exact([evaluate(a, env, enums) for a in e.args])
    raise TypeError(f"not an expression: {e!r}")


def apply_op(op: str, vals: list[Value]) -> Value:
    entry = ops.TABLE.get(op)
    if entry is None:
        raise EvalError(f"unknown operator {op!r}")
    if entry.exact is None:  # a defined operator: its body over the values
        return evaluate(expand(Op(op, tuple(_literal(v) for v in vals))), {})
    return entry.exact(vals)


def _literal(v: Value) -> Expr:
    return BoolLit(v) if isinstance(v, bool) else Const(v)
