"""Rule templates evaluated in bulk: a template with numbered slots, over rows of
values at once, with the batched evaluator's operations (`batched.apply_batch`,
`batched.ite_batch`, which work elementwise on 2-D arrays: rows x examples).

The enumerator evaluates a grammar rule's template once for a whole chunk of slot
combinations, and hint repair once per hole filling. A slot is the variable
`slot_var(i)`. Overflow: `magnitudes` bounds every intermediate value row by row;
rows whose bounds stay within `SAFE_MAGNITUDE` run in int64 (`safe_template_value`,
every int array bounded by +-`SAFE_BOUND`), the others through `template_value`,
which keeps the batched evaluator's own bounds discipline (int64 only where its
bounds allow, exact ints otherwise). `canonical_rows` brings the result back to
the canonical dtype. `template_kind` says whether a template is well typed for its
slots' kinds: only those are evaluated in bulk.
"""
from __future__ import annotations

import math

import numpy as np

from . import ops
from .batched import (
    I64_MAX,
    I64_MIN,
    BatchEnv,
    BatchValue,
    apply_batch,
    batch_value,
    ite_batch,
    scalar_value,
)
from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var

_SLOT = "\x00slot"


def slot_var(i: int) -> Var:
    """The placeholder for slot `i` in a template evaluated by `template_value`."""
    return Var(f"{_SLOT}{i}")


def canonical_rows(v: BatchValue, m: int) -> tuple[str, np.ndarray, dict[int, tuple[np.ndarray, int, int]]]:
    """A chunk's values (rows x examples) in canonical form: ("b" or "i", rows,
    rows outside int64). Bool rows stay bool; int rows become int64, with zeros in
    place of the rows outside int64, which map to (exact object row, lo, hi)."""
    d = v.data
    assert isinstance(d, np.ndarray)
    if d.dtype == np.bool_:
        return "b", np.ascontiguousarray(d), {}
    if d.dtype == np.int64:
        return "i", np.ascontiguousarray(d), {}
    # Exact Python ints: rows that fit go back to int64 (the canonical dtype).
    if d.dtype != object:
        d = d.astype(object)
    lo, hi = d.min(axis=1), d.max(axis=1)
    fits = np.asarray((lo >= I64_MIN) & (hi <= I64_MAX), dtype=np.bool_)
    rows = np.zeros(d.shape, dtype=np.int64)
    if fits.all():
        rows[:] = d.astype(np.int64)
        return "i", rows, {}
    if fits.any():
        rows[fits] = d[fits].astype(np.int64)
    big = {j: (np.array(d[j], dtype=object), int(lo[j]), int(hi[j])) for j in np.flatnonzero(~fits).tolist()}
    return "i", rows, big


# Rows whose every intermediate value has magnitude <= SAFE_MAGNITUDE (as computed in floats,
# whose rounding is far below the margin) run in int64 with bounds +-SAFE_BOUND: sums of
# two such values fit, and products are proven to fit row by row.
SAFE_MAGNITUDE = float(1 << 61)
SAFE_BOUND = (1 << 62) - 1


def _fmag(x: int) -> float:
    x = abs(int(x))
    return float(x) if x < (1 << 1000) else math.inf


def magnitudes(t: Expr, slots: list, env: BatchEnv) -> tuple:
    """Upper bounds (floats, or float arrays: one per row) of |value| of the
    template, and of every value computed on the way (the second result).

    Per row, unlike the batched evaluator's bounds (one interval per operand over
    the whole batch): a product of a large and a small value is small on its row.
    |a div b| <= |a| and |a mod b| < |b| for Euclidean division (and 0 for b = 0).
    Boolean values count 0. Callers ignore float overflow: inf and NaN (inf * 0)
    are never <= SAFE_MAGNITUDE.
    """
    if isinstance(t, Var):
        if t.name.startswith(_SLOT):
            f = slots[int(t.name[len(_SLOT):])]
        else:
            v = env.values.get(t.name)
            if v is None:
                f = _fmag(env.enums[t.name])
            elif v.is_bool:
                f = 0.0
            elif isinstance(v.data, np.ndarray) and v.data.dtype != np.int64:
                f = math.inf
            else:
                f = max(_fmag(v.lo), _fmag(v.hi))  # type: ignore[arg-type]
        return f, f
    if isinstance(t, Const):
        f = _fmag(t.value)
        return f, f
    if isinstance(t, EnumLit):
        f = _fmag(env.enums[t.symbol])
        return f, f
    if isinstance(t, BoolLit):
        return 0.0, 0.0
    if isinstance(t, Ite):
        (_, wc), (ft, wt), (fe, we) = (magnitudes(x, slots, env) for x in (t.cond, t.then, t.else_))
        f = np.maximum(ft, fe)
        return f, np.maximum(np.maximum(wc, wt), np.maximum(we, f))
    assert isinstance(t, Op)
    parts = [magnitudes(a, slots, env) for a in t.args]
    fs = [p[0] for p in parts]
    w = parts[0][1]
    for p in parts[1:]:
        w = np.maximum(w, p[1])
    op = t.op
    if op in ("+", "-"):
        f = fs[0]
        for x in fs[1:]:
            f = f + x  # partial sums only grow
    elif op == "*":
        f = fs[0]
        for x in fs[1:]:
            f = f * x
            w = np.maximum(w, f)  # a later factor 0 does not undo an overflow
    elif op in ("min", "max"):
        f = fs[0]
        for x in fs[1:]:
            f = np.maximum(f, x)
    elif op in ("div", "safe_div"):
        f = fs[0]
    elif op in ("mod", "safe_mod"):
        f = fs[1]
    else:  # comparisons and logic: Booleans
        f = 0.0
    return f, np.maximum(w, f)


def safe_template_value(t: Expr, slots: list[BatchValue], env: BatchEnv) -> BatchValue:
    """`template_value` on rows whose intermediate values are all within +-SAFE_MAGNITUDE.

    Every int array gets the bounds +-SAFE_BOUND (sound there), so the batched
    operations all run in int64; products are taken directly (their batch-wide
    bounds, corners of two wide intervals, would not fit though each row does).
    """
    if isinstance(t, Op):
        args = [safe_template_value(a, slots, env) for a in t.args]
        if t.op == "*" and any(isinstance(a.data, np.ndarray) for a in args):
            acc = args[0].data
            for a in args[1:]:
                acc = np.multiply(acc, a.data)
            return BatchValue(acc, -SAFE_BOUND, SAFE_BOUND)
        v = apply_batch(t.op, args)
    elif isinstance(t, Ite):
        v = ite_batch(safe_template_value(t.cond, slots, env), safe_template_value(t.then, slots, env),
                      safe_template_value(t.else_, slots, env))
    else:
        return template_value(t, slots, env)
    if v.lo is not None and isinstance(v.data, np.ndarray):
        return BatchValue(v.data, -SAFE_BOUND, SAFE_BOUND)
    return v


_KIND = {ops.INT: "int", ops.BOOL: "bool"}  # the operator table's sorts as template kinds


def template_kind(t: Expr, kinds: tuple[str, ...], env: BatchEnv) -> str | None:
    """"int" or "bool", the type of the template's values given its slots' kinds, or
    None when the template is not well typed (or unusual: wrong arities, unknown
    names). Only well-typed templates are built in bulk: there, the batched
    evaluator's scalar and array paths agree (an ill-typed `ite` with a constant
    condition would keep its branch's type, and a varying one would not)."""
    if isinstance(t, Var):
        if t.name.startswith(_SLOT):
            k = kinds[int(t.name[len(_SLOT):])]
            return k if k in ("int", "bool") else None
        if t.name in env.values:
            return "bool" if env.values[t.name].is_bool else "int"
        return "int" if t.name in env.enums else None
    if isinstance(t, (Const, EnumLit)):
        return "int"
    if isinstance(t, BoolLit):
        return "bool"
    if isinstance(t, Ite):
        c, a, b = (template_kind(x, kinds, env) for x in (t.cond, t.then, t.else_))
        return a if c == "bool" and a is not None and a == b else None
    if isinstance(t, Op):
        args = [template_kind(x, kinds, env) for x in t.args]
        if None in args or not args:
            return None
        entry = ops.TABLE.get(t.op)
        if entry is None or entry.arity_error(len(args)) is not None:
            return None
        if entry.arg_sort is None and entry.family == "compare":  # = and !=: both alike
            return "bool" if args[0] == args[1] else None
        ok = all(k == _KIND.get(entry.arg_sort_at(i)) for i, k in enumerate(args))  # type: ignore[arg-type]
        return _KIND.get(entry.result) if ok else None
    return None


def template_value(t: Expr, slots: list[BatchValue], env: BatchEnv) -> BatchValue:
    """The template's value, slot i taking `slots[i]`, by the batched evaluator."""
    if isinstance(t, Var):
        if t.name.startswith(_SLOT):
            return slots[int(t.name[len(_SLOT):])]
        return batch_value(t, env)
    if isinstance(t, Op):
        return apply_batch(t.op, [template_value(a, slots, env) for a in t.args])
    if isinstance(t, Ite):
        return ite_batch(template_value(t.cond, slots, env), template_value(t.then, slots, env),
                         template_value(t.else_, slots, env))
    if isinstance(t, Const):
        return scalar_value(t.value)
    if isinstance(t, BoolLit):
        return scalar_value(t.value)
    if isinstance(t, EnumLit):
        return scalar_value(env.enums[t.symbol])
    if isinstance(t, Hole):
        raise ValueError("a grammar rule cannot hold a hole")
    raise TypeError(f"not an expression: {t!r}")

