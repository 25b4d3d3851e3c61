"""Z3 encodings of the expression tree: over Int/Bool, and over signed bit-vectors.

Both follow `semantics.py` exactly. Z3's Int `/` and `%` are SMT-LIB `div`/`mod`,
which are Euclidean (remainder in [0, |b|)) like ESSO's, but SMT-LIB leaves a zero
divisor unspecified (Z3 treats `x div 0` as an uninterpreted value), so the zero case
is encoded explicitly as 0.

The bit-vector encoding is exact only when no intermediate value overflows the
width: take the width from `intervals.bit_width_for`, whose margin bit also keeps
`-b` and `|b|` representable for the Euclidean div/mod built here from bvsdiv/bvsrem.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TypeVar

import z3

# SIGINT belongs to the process (esso_ngs/interrupts.py): left on, Z3 would catch
# Ctrl-C itself, answer `unknown` and let the search carry on.
z3.set_param("ctrl_c", False)

from . import ops  # noqa: E402
from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var, expand  # noqa: E402


class EncodeError(ValueError):
    """A term that cannot be encoded (unknown variable/enum/operator, hole, bad width)."""


Z3Env = Mapping[str, z3.ExprRef]


# ---------------------------------------------------------------- shared structure


def _lookup(env: Z3Env, name: str) -> z3.ExprRef:
    try:
        return env[name]
    except KeyError:
        known = ", ".join(sorted(env)) or "none"
        raise EncodeError(f"no Z3 variable for {name!r} (known: {known})") from None


def _enum_index(symbol: str, enums: Mapping[str, int] | None) -> int:
    if enums is None or symbol not in enums:
        raise EncodeError(f"unknown enum symbol {symbol!r}")
    return enums[symbol]


def _encode(
    e: Expr,
    leaf: Callable[[Expr], z3.ExprRef],
    divmod_: Callable[[bool, z3.ExprRef, z3.ExprRef], z3.ExprRef],
) -> z3.ExprRef:
    if isinstance(e, Op):
        entry = ops.TABLE.get(e.op)
        if entry is None:
            raise EncodeError(f"unknown operator {e.op!r}")
        if entry.body is not None:  # a defined operator: encode its body
            return _encode(expand(e), leaf, divmod_)
        xs = [_encode(a, leaf, divmod_) for a in e.args]
        if not xs:
            raise EncodeError(f"{e.op} needs arguments")
        if entry.family == "divmod":
            if len(xs) != 2:
                raise EncodeError(f"{e.op} takes 2 arguments, got {len(xs)}")
            return divmod_(e.op in ("div", "safe_div"), xs[0], xs[1])
        assert entry.z3 is not None
        return entry.z3(xs)
    if isinstance(e, Ite):
        return z3.If(_encode(e.cond, leaf, divmod_), _encode(e.then, leaf, divmod_), _encode(e.else_, leaf, divmod_))
    if isinstance(e, Hole):
        raise EncodeError(f"unfilled hole {e.hole_id!r}")
    return leaf(e)


# ---------------------------------------------------------------- Int/Bool


def to_z3(e: Expr, env: Z3Env, enums: Mapping[str, int] | None = None) -> z3.ExprRef:
    """Encode `e` over Z3 Int/Bool; `env` maps var names to Z3 terms."""

    def leaf(n: Expr) -> z3.ExprRef:
        if isinstance(n, Const):
            return z3.IntVal(n.value)
        if isinstance(n, BoolLit):
            return z3.BoolVal(n.value)
        if isinstance(n, Var):
            if n.name not in env and enums is not None and n.name in enums:  # enum symbol as an atom
                return z3.IntVal(enums[n.name])
            return _lookup(env, n.name)
        if isinstance(n, EnumLit):
            return z3.IntVal(_enum_index(n.symbol, enums))
        raise EncodeError(f"not an expression: {n!r}")

    return _encode(e, leaf, _int_divmod)


def _int_divmod(is_div: bool, a: z3.ArithRef, b: z3.ArithRef) -> z3.ArithRef:
    if z3.is_int_value(b):
        # A literal divisor needs no zero guard: smaller formulas for the solver.
        if b.as_long() == 0:
            return z3.IntVal(0)
        return a / b if is_div else a % b
    return z3.If(b == 0, z3.IntVal(0), a / b if is_div else a % b)


# ---------------------------------------------------------------- bit-vectors


def to_z3_bv(
    e: Expr, env: Z3Env, width: int, enums: Mapping[str, int] | None = None
) -> z3.ExprRef:
    """Encode `e` over signed bit-vectors of `width` (Booleans stay Bool).

    Exact when `width` comes from `bit_width_for` over bounds the vars satisfy.
    Literals that do not fit the width raise EncodeError rather than wrap.
    """
    if width < 2:
        raise EncodeError(f"bit width must be >= 2, got {width}")
    lo, hi = -(1 << (width - 1)), (1 << (width - 1)) - 1

    def literal(v: int) -> z3.BitVecRef:
        if not lo <= v <= hi:
            raise EncodeError(f"literal {v} does not fit in {width} signed bits")
        return z3.BitVecVal(v, width)

    def leaf(n: Expr) -> z3.ExprRef:
        if isinstance(n, Const):
            return literal(n.value)
        if isinstance(n, BoolLit):
            return z3.BoolVal(n.value)
        if isinstance(n, Var):
            if n.name not in env and enums is not None and n.name in enums:  # enum symbol as an atom
                return literal(enums[n.name])
            x = _lookup(env, n.name)
            if z3.is_bv(x) and x.size() != width:
                raise EncodeError(f"variable {n.name!r} has width {x.size()}, expected {width}")
            return x
        if isinstance(n, EnumLit):
            return literal(_enum_index(n.symbol, enums))
        raise EncodeError(f"not an expression: {n!r}")

    return _encode(e, leaf, _bv_divmod)


def _bv_divmod(is_div: bool, a: z3.BitVecRef, b: z3.BitVecRef) -> z3.BitVecRef:
    """Euclidean div/mod (zero divisor -> 0) from truncating bvsdiv/bvsrem.

    With the truncated quotient q_t and remainder r_t (sign of a), a = q_t*b + r_t.
    When r_t < 0 the Euclidean remainder is r_t + |b| and the quotient moves one
    step against the sign of b: q_t - 1 for b > 0, q_t + 1 for b < 0.
    """
    w = a.size()
    zero = z3.BitVecVal(0, w)
    if z3.is_bv_value(b) and b.as_signed_long() == 0:
        return zero
    r_t = z3.SRem(a, b)
    if is_div:
        q_t = a / b  # z3py's `/` on bit-vectors is signed (bvsdiv), truncating
        out = z3.If(r_t < 0, z3.If(b > 0, q_t - 1, q_t + 1), q_t)
    else:
        abs_b = z3.If(b < 0, -b, b)
        out = z3.If(r_t < 0, r_t + abs_b, r_t)
    if z3.is_bv_value(b):
        return out
    return z3.If(b == 0, zero, out)


# ---------------------------------------------------------------- model values


def z3_value_to_py(v: z3.ExprRef) -> int | bool:
    """A Z3 value (from `model.eval(..., model_completion=True)` or `simplify`) as int/bool.

    Bit-vectors are read as signed two's complement.
    """
    if z3.is_true(v):
        return True
    if z3.is_false(v):
        return False
    if z3.is_int_value(v):
        return v.as_long()
    if z3.is_bv_value(v):
        return v.as_signed_long()
    if z3.is_rational_value(v) and v.denominator_as_long() == 1:
        return v.numerator_as_long()
    raise ValueError(f"not a Z3 int/bool value: {v}")


# ---------------------------------------------------------------- strategy

R = TypeVar("R")


def int_then_bv(attempt: Callable[[int | None], tuple[bool, R, str]],
                width_for: Callable[[], int | str | None], strategy: str = "auto") -> tuple[R | None, bool, list[str]]:
    """The one Z3 strategy: integers first, then, if they leave it undecided, bit-vectors.

    `attempt(width)` runs one query (width None: over Int) and says (decided, result,
    reason). `width_for()` gives the bit-vector width that makes the encoding exact
    (`intervals.bit_width_for`), or why there is none (a message, or None for no
    message). `strategy`: "auto" (both), "int" or "bv" (only that one). Returns the
    last attempt's result (None if none ran), whether it decided, and the reasons
    of the undecided attempts (and of a missing width).
    """
    last: R | None = None
    reasons: list[str] = []
    if strategy in ("auto", "int"):
        decided, last, reason = attempt(None)
        if decided or strategy == "int":
            return last, decided, reasons if decided else [reason]
        reasons.append(reason)
    if strategy in ("auto", "bv"):
        width = width_for()
        if isinstance(width, int):
            decided, last, reason = attempt(width)
            if decided:
                return last, True, []
            reasons.append(reason)
        elif width is not None:
            reasons.append(width)
    return last, False, reasons
