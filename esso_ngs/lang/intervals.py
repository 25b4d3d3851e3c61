"""Interval analysis: sound integer ranges for terms, and bit widths that cannot overflow.

An interval is `(lo, hi)` with inclusive Python-int ends; `None` is an unbounded end.
Every transfer function over-approximates ESSO's semantics (see `semantics.py`):
Euclidean `div`/`mod` with `x div 0 = x mod 0 = 0`, n-ary operators as left folds.
Boolean-valued nodes get `(0, 1)`.

The batched evaluator uses `op_interval` to decide, per operation, whether int64
arithmetic is safe; the bit-vector Z3 encoding uses `bit_width_for`.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from .expr import (
    ARITH_BINARY,
    BOOL_OPS,
    COMPARE,
    LOGIC_BINARY,
    LOGIC_NARY,
    LOGIC_UNARY,
    BoolLit,
    Const,
    EnumLit,
    Expr,
    Ite,
    Op,
    Var,
    is_bool,
)

Interval = tuple[int | None, int | None]
BOOL_INTERVAL: Interval = (0, 1)
TOP: Interval = (None, None)

# Internally an unbounded end is +-math.inf: comparisons of ints with inf are exact in
# Python, but arithmetic is not (huge int + inf raises OverflowError), so the few
# operations we need on extended ints are written out below.
_Ext = int | float
_NEG_INF: float = -math.inf
_POS_INF: float = math.inf


def _lo(x: int | None) -> _Ext:
    return _NEG_INF if x is None else x


def _hi(x: int | None) -> _Ext:
    return _POS_INF if x is None else x


def _out(lo: _Ext, hi: _Ext) -> Interval:
    return (None if lo == _NEG_INF else int(lo), None if hi == _POS_INF else int(hi))


def _is_inf(x: _Ext) -> bool:
    return isinstance(x, float)


def _sign(x: _Ext) -> int:
    return (x > 0) - (x < 0)


def _ext_add(a: _Ext, b: _Ext) -> _Ext:
    if _is_inf(a) or _is_inf(b):
        # inf + -inf never occurs: lower ends are only added to lower ends.
        return a if _is_inf(a) else b
    return a + b


def _ext_mul(a: _Ext, b: _Ext) -> _Ext:
    # 0 * inf = 0 is the right convention for interval end points.
    if a == 0 or b == 0:
        return 0
    if _is_inf(a) or _is_inf(b):
        return _POS_INF if _sign(a) * _sign(b) > 0 else _NEG_INF
    return a * b


def _ext_neg(a: _Ext) -> _Ext:
    return -a


# ---------------------------------------------------------------- transfer functions


def iv_add(a: Interval, b: Interval) -> Interval:
    return _out(_ext_add(_lo(a[0]), _lo(b[0])), _ext_add(_hi(a[1]), _hi(b[1])))


def iv_neg(a: Interval) -> Interval:
    return _out(_ext_neg(_hi(a[1])), _ext_neg(_lo(a[0])))


def iv_sub(a: Interval, b: Interval) -> Interval:
    return iv_add(a, iv_neg(b))


def iv_mul(a: Interval, b: Interval) -> Interval:
    corners = [_ext_mul(x, y) for x in (_lo(a[0]), _hi(a[1])) for y in (_lo(b[0]), _hi(b[1]))]
    return _out(min(corners), max(corners))


def iv_min(a: Interval, b: Interval) -> Interval:
    return _out(min(_lo(a[0]), _lo(b[0])), min(_hi(a[1]), _hi(b[1])))


def iv_max(a: Interval, b: Interval) -> Interval:
    return _out(max(_lo(a[0]), _lo(b[0])), max(_hi(a[1]), _hi(b[1])))


def iv_union(a: Interval, b: Interval) -> Interval:
    return _out(min(_lo(a[0]), _lo(b[0])), max(_hi(a[1]), _hi(b[1])))


def _floor_div_corner(a: _Ext, p: _Ext) -> _Ext:
    """floor(a / p) for p >= 1, extended to the limits a -> +-inf and p -> +inf."""
    if _is_inf(a):
        return a
    if _is_inf(p):
        return 0 if a >= 0 else -1
    return a // p


def _div_by_positive(alo: _Ext, ahi: _Ext, plo: _Ext, phi: _Ext) -> tuple[_Ext, _Ext]:
    # floor(a/p) is monotone in each argument separately, so extremes sit at corners.
    corners = [_floor_div_corner(a, p) for a in (alo, ahi) for p in (plo, phi)]
    return min(corners), max(corners)


def iv_div(a: Interval, b: Interval) -> Interval:
    """Euclidean division with `x div 0 = 0`: split the divisor by sign."""
    alo, ahi, blo, bhi = _lo(a[0]), _hi(a[1]), _lo(b[0]), _hi(b[1])
    parts: list[tuple[_Ext, _Ext]] = []
    if blo <= 0 <= bhi:
        parts.append((0, 0))
    if bhi >= 1:  # positive divisors: Euclidean = floor division
        parts.append(_div_by_positive(alo, ahi, max(blo, 1), bhi))
    if blo <= -1:  # negative divisors: a div b = -(a div |b|)
        lo, hi = _div_by_positive(alo, ahi, _ext_neg(min(bhi, -1)), _ext_neg(blo))
        parts.append((_ext_neg(hi), _ext_neg(lo)))
    if not parts:  # empty divisor interval: nothing is reachable; stay sound
        return (0, 0)
    return _out(min(p[0] for p in parts), max(p[1] for p in parts))


def iv_mod(a: Interval, b: Interval) -> Interval:
    """Euclidean remainder: 0 <= r < |b| (and r = 0 when b = 0); r <= a when a >= 0."""
    alo, ahi, blo, bhi = _lo(a[0]), _hi(a[1]), _lo(b[0]), _hi(b[1])
    max_abs_b = max(_ext_neg(blo), bhi)
    hi: _Ext = max(max_abs_b - 1, 0) if not _is_inf(max_abs_b) else _POS_INF
    lo: _Ext = 0
    if alo >= 0:
        hi = min(hi, ahi)
        # a < |b| for every nonzero b (and b is never 0): a mod b = a.
        if not (blo <= 0 <= bhi):
            min_abs_b = blo if blo > 0 else _ext_neg(bhi)
            if ahi < min_abs_b:
                lo = alo
    return _out(lo, hi)


BINARY_TRANSFER = {
    "+": iv_add,
    "-": iv_sub,
    "*": iv_mul,
    "min": iv_min,
    "max": iv_max,
    "div": iv_div,
    "safe_div": iv_div,
    "mod": iv_mod,
    "safe_mod": iv_mod,
}


def fold_intervals(op: str, args: Sequence[Interval]) -> list[Interval]:
    """Intervals of the left-fold partial results of an int operator (last = result).

    The partials matter for bit widths: in `(+ a b c)` the value `a + b` is computed
    even when the whole sum is small.
    """
    if op == "-" and len(args) == 1:
        return [iv_neg(args[0])]
    if op == "+" and not args:
        return [(0, 0)]
    fn = BINARY_TRANSFER[op]
    out = [args[0]]
    for b in args[1:]:
        out.append(fn(out[-1], b))
    return out[1:] if len(args) > 1 else out


def op_interval(op: str, args: Sequence[Interval]) -> Interval:
    """Interval of `op` applied to arguments in the given intervals."""
    if op in BOOL_OPS:
        return BOOL_INTERVAL
    if op in ARITH_BINARY and len(args) != 2:
        raise ValueError(f"{op} takes 2 arguments, got {len(args)}")
    return fold_intervals(op, args)[-1]


# ---------------------------------------------------------------- whole terms


def _leaf_interval(e: Expr, bounds: Mapping[str, Interval], enums: Mapping[str, int] | None) -> Interval:
    if isinstance(e, Const):
        return (e.value, e.value)
    if isinstance(e, BoolLit):
        return BOOL_INTERVAL
    if isinstance(e, Var):
        if e.name not in bounds and enums is not None and e.name in enums:  # enum symbol as an atom
            return (enums[e.name], enums[e.name])
        return tuple(bounds.get(e.name, TOP))  # type: ignore[return-value]
    if isinstance(e, EnumLit):
        if enums is not None and e.symbol in enums:
            return (enums[e.symbol], enums[e.symbol])
        return TOP
    return TOP  # Hole: anything


def interval(
    e: Expr, bounds: Mapping[str, Interval], enums: Mapping[str, int] | None = None
) -> Interval:
    """A sound range of `e`'s value when each var lies in its `bounds` (missing = unbounded)."""
    if isinstance(e, Op):
        return op_interval(e.op, [interval(a, bounds, enums) for a in e.args])
    if isinstance(e, Ite):
        return iv_union(interval(e.then, bounds, enums), interval(e.else_, bounds, enums))
    return _leaf_interval(e, bounds, enums)


def _signed_bits(v: int) -> int:
    """Two's-complement width holding v."""
    return (v if v >= 0 else -v - 1).bit_length() + 1


def _int_intervals(
    e: Expr,
    bool_ctx: bool,
    bounds: Mapping[str, Interval],
    enums: Mapping[str, int] | None,
    acc: list[Interval],
) -> Interval:
    """Interval of `e`; appends every int-valued intermediate interval to `acc`.

    `bool_ctx` says whether the position expects a Boolean, so that Boolean vars
    (absent from `bounds`) are not taken for unbounded ints.
    """
    if isinstance(e, Op):
        if e.op in LOGIC_NARY or e.op in LOGIC_UNARY or e.op in LOGIC_BINARY:
            for a in e.args:
                _int_intervals(a, True, bounds, enums, acc)
            return BOOL_INTERVAL
        if e.op in COMPARE:
            sub_bool = any(is_bool(a) for a in e.args)
            for a in e.args:
                _int_intervals(a, sub_bool, bounds, enums, acc)
            return BOOL_INTERVAL
        ivs = [_int_intervals(a, False, bounds, enums, acc) for a in e.args]
        parts = fold_intervals(e.op, ivs)
        acc.extend(parts)
        return parts[-1]
    if isinstance(e, Ite):
        _int_intervals(e.cond, True, bounds, enums, acc)
        branch_bool = bool_ctx or is_bool(e.then) or is_bool(e.else_)
        t = _int_intervals(e.then, branch_bool, bounds, enums, acc)
        f = _int_intervals(e.else_, branch_bool, bounds, enums, acc)
        if branch_bool:
            return BOOL_INTERVAL
        out = iv_union(t, f)
        acc.append(out)
        return out
    if bool_ctx or isinstance(e, BoolLit):
        return BOOL_INTERVAL
    iv = _leaf_interval(e, bounds, enums)
    acc.append(iv)
    return iv


def bit_width_for(
    exprs: Iterable[Expr],
    bounds: Mapping[str, Interval],
    enums: Mapping[str, int] | None = None,
    margin: int = 1,
) -> int | None:
    """Smallest signed bit width in which no int subterm of `exprs` overflows, plus `margin`.

    Covers every int-valued subterm, the partial results of n-ary folds, and the
    leaves; comparisons and Boolean connectives contribute their int operands.
    None when some int subterm is unbounded. The margin bit keeps `-x` and `|x|`
    of any subterm representable, which the bit-vector encoding of Euclidean
    div/mod relies on.
    """
    acc: list[Interval] = []
    for e in exprs:
        _int_intervals(e, False, bounds, enums, acc)
    width = 1
    for lo, hi in acc:
        if lo is None or hi is None:
            return None
        width = max(width, _signed_bits(lo), _signed_bits(hi))
    return width + margin
