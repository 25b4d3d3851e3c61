"""The batched evaluator: one term over many inputs at once, with exact semantics.

Values are numpy arrays: int64 while every intermediate result provably fits, exact
Python-int object arrays otherwise, bool for Boolean terms. Each value carries sound
bounds (`BatchValue.lo/hi`), propagated by interval arithmetic (the O(1) finite
cases here, `intervals.py` for div/mod by possibly negative divisors); an operation
runs in int64 only when the bounds of its result fit in int64 (first from the
propagated bounds, then, if those are too loose, from the operands' actual min/max),
so no operation can silently wrap. Object results whose values fit are converted back to
int64, so a result is an object array exactly when some value is outside int64
(the *canonical dtype*, which `same_values` and `value_key` rely on).

Input-independent subterms stay Python scalars (computed by the exact evaluator) and
broadcast; the result of `evaluate_batch` is always a 1-D array of the batch size.

Semantics are those of `evaluate.evaluate`: Euclidean div/mod, `x div 0 = x mod 0 = 0`,
n-ary left folds, one-argument `-` is negation. Both branches of an `ite` are
evaluated (nothing here can raise on a zero divisor).

For enumerators: build a `BatchEnv` once per example set, then either call
`evaluate_batch`/`batch_value` on whole terms or combine already computed values
bottom-up with `apply_batch`/`ite_batch`; compare results with `same_values` or
bucket them by `value_key` (observational equivalence).

`batched_torch.evaluate_batch_torch` runs the same term on torch tensors (CUDA/MPS/CPU)
in int64, falling back to this evaluator when some operation could overflow int64.
"""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np

from . import ops
from .evaluate import EvalError, apply_op
from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var
from .intervals import Interval, iv_div, iv_mod, iv_neg, iv_union

I64_MIN = -(1 << 63)
I64_MAX = (1 << 63) - 1

Scalar = int | bool
ArrayLike = np.ndarray | Sequence[int] | Sequence[bool]


class BatchValue(NamedTuple):
    """A term's values on a batch.

    `data` is a 1-D array (int64, object of Python ints, or bool) or, for values
    that do not depend on the inputs, a Python int/bool. `lo`/`hi` are sound
    inclusive bounds of an int value (always finite), both None for a Boolean.
    """

    data: np.ndarray | Scalar
    lo: int | None
    hi: int | None

    @property
    def is_bool(self) -> bool:
        return self.lo is None


# ---------------------------------------------------------------- representation helpers


def _fits(lo: int | None, hi: int | None) -> bool:
    return lo is not None and hi is not None and lo >= I64_MIN and hi <= I64_MAX


def _is_array(d: object) -> bool:
    return isinstance(d, np.ndarray)


def _native(v: BatchValue) -> bool:
    """Whether v can be an operand of an int64 numpy operation."""
    d = v.data
    if isinstance(d, np.ndarray):
        return d.dtype == np.int64
    return I64_MIN <= d <= I64_MAX


def _as_obj(d: np.ndarray | Scalar) -> np.ndarray:
    """An operand for the exact path: an object array (0-d for scalars).

    Scalars must be wrapped too: numpy converts a bare Python int >= 2**63 to
    uint64 (or raises), which would wrap the exact path.
    """
    if isinstance(d, np.ndarray):
        return d if d.dtype == object else d.astype(object)
    return np.array(d, dtype=object)


def _tighten(v: BatchValue) -> BatchValue:
    """Replace propagated bounds by the actual min/max (a reduction, so only on demand)."""
    d = v.data
    if isinstance(d, np.ndarray) and d.size:
        return BatchValue(d, int(d.min()), int(d.max()))
    return v


def scalar_value(x: Scalar) -> BatchValue:
    """An input-independent value."""
    if isinstance(x, (bool, np.bool_)):
        return BatchValue(bool(x), None, None)
    x = int(x)
    return BatchValue(x, x, x)


def _from_object(arr: np.ndarray) -> BatchValue:
    """An object array of Python ints in canonical dtype, with exact bounds."""
    if arr.size == 0:
        return BatchValue(arr.astype(np.int64), 0, 0)
    lo, hi = int(arr.min()), int(arr.max())
    if _fits(lo, hi):
        return BatchValue(arr.astype(np.int64), lo, hi)
    return BatchValue(arr, lo, hi)


def column_value(col: ArrayLike) -> BatchValue:
    """An input column as a BatchValue: bool, or ints in canonical dtype with exact bounds."""
    arr = np.asarray(col)
    if arr.ndim != 1:
        raise ValueError(f"columns must be 1-D, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return BatchValue(arr, None, None)
    if arr.size == 0:  # `np.asarray([])` is float64: an empty column is just empty
        return BatchValue(np.zeros(0, dtype=np.int64), 0, 0)
    if arr.dtype.kind in "iu":
        lo, hi = int(arr.min()), int(arr.max())
        if _fits(lo, hi):
            return BatchValue(arr.astype(np.int64, copy=False), lo, hi)
        return BatchValue(arr.astype(object), lo, hi)
    if arr.dtype == object:
        if not all(isinstance(x, (int, np.integer)) and not isinstance(x, bool) for x in arr):
            if all(isinstance(x, (bool, np.bool_)) for x in arr):
                return BatchValue(arr.astype(np.bool_), None, None)
            raise TypeError("object columns must hold ints")
        return _from_object(np.array([int(x) for x in arr], dtype=object))
    raise TypeError(f"unsupported column dtype {arr.dtype} (ints or bools expected)")


def to_array(v: BatchValue, size: int) -> np.ndarray:
    """The values as a 1-D array of length `size` (scalars broadcast)."""
    d = v.data
    if isinstance(d, np.ndarray):
        return d
    if v.is_bool:
        return np.full(size, bool(d), dtype=np.bool_)
    if I64_MIN <= d <= I64_MAX:
        return np.full(size, d, dtype=np.int64)
    return np.full(size, d, dtype=object)


# ---------------------------------------------------------------- operations

# The numpy operation of each built-in operator (hot path: one dict lookup).
_UFUNCS: dict[str, Callable[..., Any]] = {n: o.ufunc for n, o in ops.TABLE.items() if o.ufunc is not None}


def _iv(v: BatchValue) -> Interval:
    return (v.lo, v.hi)


def _mul_bounds(alo: int, ahi: int, blo: int, bhi: int) -> tuple[int, int]:
    p = (alo * blo, alo * bhi, ahi * blo, ahi * bhi)
    return min(p), max(p)


# Bounds of int values here are always finite, so the per-operation bounds skip the
# extended (unbounded) arithmetic of `intervals.py`: this is the per-node overhead of
# the enumerator's hot path.
_FINITE_BOUNDS: dict[str, Callable[[int, int, int, int], tuple[int, int]]] = {
    "+": lambda alo, ahi, blo, bhi: (alo + blo, ahi + bhi),
    "-": lambda alo, ahi, blo, bhi: (alo - bhi, ahi - blo),
    "*": _mul_bounds,
    "min": lambda alo, ahi, blo, bhi: (min(alo, blo), min(ahi, bhi)),
    "max": lambda alo, ahi, blo, bhi: (max(alo, blo), max(ahi, bhi)),
}


def _arith2(op: str, a: BatchValue, b: BatchValue) -> BatchValue:
    if not _is_array(a.data) and not _is_array(b.data):
        return scalar_value(apply_op(op, [a.data, b.data]))
    ufunc = _UFUNCS[op]
    if _native(a) and _native(b):
        bounds = _FINITE_BOUNDS[op]
        lo, hi = bounds(a.lo, a.hi, b.lo, b.hi)  # type: ignore[arg-type]
        if not (lo >= I64_MIN and hi <= I64_MAX):
            a, b = _tighten(a), _tighten(b)
            lo, hi = bounds(a.lo, a.hi, b.lo, b.hi)  # type: ignore[arg-type]
        if lo >= I64_MIN and hi <= I64_MAX:
            return BatchValue(ufunc(a.data, b.data), lo, hi)
    return _from_object(np.asarray(ufunc(_as_obj(a.data), _as_obj(b.data)), dtype=object))


def _neg(a: BatchValue) -> BatchValue:
    if not _is_array(a.data):
        return scalar_value(-a.data)
    lo, hi = iv_neg(_iv(a))
    if _native(a) and _fits(lo, hi):
        return BatchValue(np.negative(a.data), lo, hi)
    return _from_object(np.negative(_as_obj(a.data)))


def _nonneg_divisor_bounds(is_div: bool, alo: int, ahi: int, blo: int, bhi: int) -> tuple[int, int]:
    """Bounds of a div/mod b for 0 <= blo <= b <= bhi (b = 0 gives 0)."""
    if bhi == 0:
        return 0, 0
    p = max(blo, 1)
    if is_div:  # floor(a/b) is monotone in each argument: extremes at the corners
        c = (alo // p, alo // bhi, ahi // p, ahi // bhi)
        lo, hi = min(c), max(c)
        return (min(lo, 0), max(hi, 0)) if blo == 0 else (lo, hi)
    if alo >= 0:
        if blo > ahi:  # a < b always: a mod b = a
            return alo, ahi
        return 0, min(bhi - 1, ahi)
    return 0, bhi - 1


def _divmod(op: str, a: BatchValue, b: BatchValue) -> BatchValue:
    is_div = op in ("div", "safe_div")
    if not _is_array(a.data) and not _is_array(b.data):
        return scalar_value(apply_op(op, [a.data, b.data]))
    if not _is_array(b.data) and b.data == 0:
        return scalar_value(0)  # x div 0 = x mod 0 = 0, for every input
    if _native(a) and _native(b):
        if b.lo >= 0:  # type: ignore[operator]
            # Euclidean = floor for b > 0, and numpy's integer floor_divide/remainder
            # give 0 for a zero divisor (with a warning, silenced): ESSO's answer. The
            # quotient lies between 0 and a, so it always fits.
            lo, hi = _nonneg_divisor_bounds(is_div, a.lo, a.hi, b.lo, b.hi)  # type: ignore[arg-type]
            fn = np.floor_divide if is_div else np.remainder
            if b.lo > 0:  # type: ignore[operator]
                return BatchValue(fn(a.data, b.data), lo, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                return BatchValue(fn(a.data, b.data), lo, hi)
        iv_fn = iv_div if is_div else iv_mod
        lo, hi = iv_fn(_iv(a), _iv(b))
        if not _fits(lo, hi):  # only int64 min div -1 overflows; bounds may just be loose
            a, b = _tighten(a), _tighten(b)
            lo, hi = iv_fn(_iv(a), _iv(b))
        if _fits(lo, hi):
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                if is_div:
                    # floor -> Euclidean: when the floor remainder is negative (only for
                    # b < 0) the Euclidean quotient is one more.
                    q, r = np.divmod(a.data, b.data)
                    data = q + (r < 0)
                else:
                    r = np.remainder(a.data, b.data)
                    data = np.where(r < 0, r - b.data, r)
            return BatchValue(data, lo, hi)
    return _divmod_object(is_div, _as_obj(a.data), _as_obj(b.data), b.lo)


def _divmod_object(is_div: bool, a: np.ndarray, b: np.ndarray, b_lo: int | None) -> BatchValue:
    """Exact Euclidean div/mod on object arrays; `b_lo` (a lower bound of b) skips fix-ups.

    Each object operation costs ~50-250 ns per element, so the sign fix-up and the
    zero masking run only when the divisor's bounds allow negatives or zeros.
    """
    fn = np.floor_divide if is_div else np.remainder
    if b_lo is not None and b_lo > 0:  # Euclidean = floor for positive divisors
        return _from_object(np.asarray(fn(a, b), dtype=object))
    # Python's // and % raise on zero, so divide by 1 there and zero the result after.
    zero = np.asarray(np.equal(b, 0), dtype=np.bool_)
    b1 = np.where(zero, 1, b).astype(object)
    if b_lo is not None and b_lo >= 0:
        out = fn(a, b1)
    else:
        r = np.remainder(a, b1)
        neg = np.asarray(r < 0, dtype=np.bool_)  # floor remainder < 0 only for b < 0
        out = np.floor_divide(a, b1) + neg if is_div else np.where(neg, r - b1, r)
    return _from_object(np.where(zero, 0, out).astype(object))


def _compare(op: str, a: BatchValue, b: BatchValue) -> BatchValue:
    if not _is_array(a.data) and not _is_array(b.data):
        return scalar_value(apply_op(op, [a.data, b.data]))
    ufunc = _UFUNCS[op]
    if a.is_bool or b.is_bool or (_native(a) and _native(b)):
        return BatchValue(np.asarray(ufunc(a.data, b.data), dtype=np.bool_), None, None)
    return BatchValue(np.asarray(ufunc(_as_obj(a.data), _as_obj(b.data)), dtype=np.bool_), None, None)


def _logic(op: str, args: Sequence[BatchValue]) -> BatchValue:
    data = [a.data for a in args]
    if not any(_is_array(d) for d in data):
        return scalar_value(apply_op(op, list(data)))
    fn = _UFUNCS[op]
    if len(data) == 1 and op == "not":
        out = fn(data[0])
    else:
        out = np.asarray(data[0], dtype=np.bool_) if op == "xor" else data[0]
        for d in data[1:]:
            out = fn(out, d)
        out = np.asarray(out, dtype=np.bool_)
    return BatchValue(out, None, None)


def apply_batch(op: str, args: Sequence[BatchValue]) -> BatchValue:
    """Apply an operator to argument values (the bottom-up step of an enumerator)."""
    entry = ops.TABLE.get(op)
    if entry is None:
        raise EvalError(f"unknown operator {op!r}")
    family = entry.family
    if family == "arith":
        if not args:
            if op == "+":
                return scalar_value(0)
            raise EvalError(f"{op} needs arguments")
        if op == "-" and len(args) == 1:
            return _neg(args[0])
        acc = args[0]
        for b in args[1:]:
            acc = _arith2(op, acc, b)
        return acc
    if family == "divmod" or family == "compare":
        if len(args) != 2:
            raise EvalError(f"{op} takes 2 arguments, got {len(args)}")
        return _divmod(op, args[0], args[1]) if family == "divmod" else _compare(op, args[0], args[1])
    problem = entry.arity_error(len(args))
    if problem is not None:
        raise EvalError(problem)
    if family == "logic":
        return _logic(op, args)
    # A defined operator: its body over the argument values.
    params = {p: a for p, a in zip(entry.params, args)}
    return _defined_value(entry.body, params)  # type: ignore[arg-type]


def _defined_value(body: Expr, params: Mapping[str, BatchValue]) -> BatchValue:
    if isinstance(body, Var) and body.name in params:
        return params[body.name]
    if isinstance(body, Op):
        return apply_batch(body.op, [_defined_value(a, params) for a in body.args])
    if isinstance(body, Ite):
        c = _defined_value(body.cond, params)
        if not _is_array(c.data):
            return _defined_value(body.then if c.data else body.else_, params)
        return ite_batch(c, _defined_value(body.then, params), _defined_value(body.else_, params))
    if isinstance(body, Const):
        return scalar_value(body.value)
    if isinstance(body, BoolLit):
        return scalar_value(body.value)
    raise EvalError(f"a defined operator's body may use only its parameters, got {body!r}")


def ite_batch(c: BatchValue, t: BatchValue, f: BatchValue) -> BatchValue:
    """Elementwise if-then-else (both branches already computed)."""
    if not _is_array(c.data):
        return t if c.data else f
    if t.is_bool or f.is_bool:
        return BatchValue(np.asarray(np.where(c.data, t.data, f.data), dtype=np.bool_), None, None)
    if _native(t) and _native(f):
        lo, hi = iv_union(_iv(t), _iv(f))
        return BatchValue(np.where(c.data, t.data, f.data), lo, hi)
    return _from_object(np.asarray(np.where(c.data, _as_obj(t.data), _as_obj(f.data)), dtype=object))


# ---------------------------------------------------------------- environments and terms


class BatchEnv:
    """Prepared input columns (canonical dtypes, bounds computed once) plus enum indices."""

    __slots__ = ("enums", "size", "values")

    def __init__(
        self,
        columns: Mapping[str, ArrayLike],
        enums: Mapping[str, int] | None = None,
        size: int | None = None,
    ) -> None:
        self.values: dict[str, BatchValue] = {name: column_value(c) for name, c in columns.items()}
        lengths = {len(np.asarray(v.data)) for v in self.values.values()}
        if len(lengths) > 1:
            raise ValueError(f"columns have different lengths: {sorted(lengths)}")
        if size is None:
            # No columns means one input with an empty environment, as in `evaluate`.
            size = lengths.pop() if lengths else 1
        elif lengths and lengths != {size}:
            raise ValueError(f"size {size} does not match column length {lengths.pop()}")
        self.size: int = size
        self.enums: Mapping[str, int] = dict(enums or {})


def batch_value(e: Expr, env: BatchEnv, memo: dict[Expr, BatchValue] | None = None) -> BatchValue:
    """The BatchValue of `e` (scalar when input-independent). `memo` shares subterms."""
    if memo is not None:
        hit = memo.get(e)
        if hit is not None:
            return hit
    if isinstance(e, Op):
        out = apply_batch(e.op, [batch_value(a, env, memo) for a in e.args])
    elif isinstance(e, Var):
        if e.name in env.values:
            out = env.values[e.name]
        elif e.name in env.enums:  # an enum symbol written as a bare atom
            out = scalar_value(env.enums[e.name])
        else:
            raise EvalError(f"unbound name {e.name!r}")
    elif isinstance(e, Const):
        out = scalar_value(e.value)
    elif isinstance(e, Ite):
        c = batch_value(e.cond, env, memo)
        if not _is_array(c.data):  # input-independent condition: only one branch matters
            out = batch_value(e.then if c.data else e.else_, env, memo)
        else:
            out = ite_batch(c, batch_value(e.then, env, memo), batch_value(e.else_, env, memo))
    elif isinstance(e, BoolLit):
        out = scalar_value(e.value)
    elif isinstance(e, EnumLit):
        if e.symbol not in env.enums:
            raise EvalError(f"unknown enum symbol {e.symbol!r}")
        out = scalar_value(env.enums[e.symbol])
    elif isinstance(e, Hole):
        raise EvalError(f"unfilled hole {e.hole_id!r}")
    else:
        raise TypeError(f"not an expression: {e!r}")
    if memo is not None:
        memo[e] = out
    return out


def _env(
    columns: Mapping[str, ArrayLike] | BatchEnv, enums: Mapping[str, int] | None, size: int | None
) -> BatchEnv:
    if isinstance(columns, BatchEnv):
        if size is not None and size != columns.size:
            raise ValueError(f"size {size} does not match the prepared batch ({columns.size})")
        if enums is not None and dict(enums) != dict(columns.enums):
            return _with_enums(columns, enums)
        return columns
    return BatchEnv(columns, enums, size)


def _with_enums(env: BatchEnv, enums: Mapping[str, int]) -> BatchEnv:
    out = BatchEnv({}, enums, env.size)
    out.values = env.values
    return out


def evaluate_batch(
    e: Expr,
    columns: Mapping[str, ArrayLike] | BatchEnv,
    enums: Mapping[str, int] | None = None,
    size: int | None = None,
) -> np.ndarray:
    """Evaluate `e` on every input: 1-D array of int64 / object (Python ints) / bool.

    `columns` maps each var to a 1-D array (all of one length), or is a prepared
    `BatchEnv` (prefer it when evaluating many terms on the same inputs).
    """
    env = _env(columns, enums, size)
    return to_array(batch_value(e, env), env.size)


def evaluate_many(
    terms: Iterable[Expr],
    columns: Mapping[str, ArrayLike] | BatchEnv,
    enums: Mapping[str, int] | None = None,
    size: int | None = None,
) -> list[np.ndarray]:
    """Evaluate several terms on the same inputs, computing shared subterms once."""
    env = _env(columns, enums, size)
    memo: dict[Expr, BatchValue] = {}
    return [to_array(batch_value(t, env, memo), env.size) for t in terms]


# ---------------------------------------------------------------- comparing results


def same_values(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two result arrays hold the same values (ints vs bools never match)."""
    if a.shape != b.shape:
        return False
    if (a.dtype == np.bool_) != (b.dtype == np.bool_):
        return False
    if a.dtype == b.dtype and a.dtype != object:
        return bool(np.array_equal(a, b))
    # Canonical dtypes make int64 vs object a mismatch, but arrays from elsewhere may
    # not be canonical: compare exactly.
    return bool(np.array_equal(_as_obj(a), _as_obj(b)))


def value_key(a: np.ndarray) -> bytes:
    """A 16-byte digest of a result array: equal values give equal keys.

    For bucketing terms by observational equivalence. Ints are keyed in canonical
    dtype, so an int64 and an object array with the same values get the same key.
    """
    if a.dtype == np.bool_:
        tag, payload = b"b", np.ascontiguousarray(a).tobytes()
    else:
        if a.dtype != np.int64:
            a = column_value(a).data if a.size else a.astype(np.int64)  # type: ignore[assignment]
            a = np.asarray(a)
        if a.dtype == object:
            tag, payload = b"o", ",".join(map(str, a.tolist())).encode()
        else:
            tag, payload = b"i", np.ascontiguousarray(a).tobytes()
    return hashlib.blake2b(tag + payload, digest_size=16).digest()
