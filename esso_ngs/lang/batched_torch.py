"""The batched evaluator on torch tensors (CUDA, MPS or CPU), int64 only.

Same semantics as `batched.evaluate_batch`. Tensors have no exact big-int dtype, so
every operation checks its result bounds as the numpy evaluator does (propagated
bounds first, then the operands' actual min/max); when some operation could overflow
int64, the whole term is re-evaluated by the numpy evaluator, which is exact. Import
this module only when torch is installed (`batched.evaluate_batch_torch` does it lazily).
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np
import torch

from .batched import I64_MAX, I64_MIN, BatchEnv, column_value, evaluate_batch
from .evaluate import EvalError, apply_op
from .expr import ARITH_NARY, COMPARE, BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var
from .intervals import iv_div, iv_mod, iv_neg, iv_union, op_interval

Scalar = int | bool


class _NeedsExact(Exception):
    """Some operation could leave int64: evaluate on the exact (numpy) path instead."""


class TValue(NamedTuple):
    data: torch.Tensor | Scalar
    lo: int | None  # None for Booleans
    hi: int | None


def torch_device() -> torch.device:
    """The best available device: CUDA, then Apple MPS, then CPU."""
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


class TorchBatchEnv:
    """Input columns as int64/bool tensors on one device, with bounds computed once."""

    __slots__ = ("device", "enums", "exact_only", "host", "size", "values")

    def __init__(
        self,
        columns: Mapping[str, Any],
        enums: Mapping[str, int] | None = None,
        size: int | None = None,
        device: torch.device | str | None = None,
    ) -> None:
        self.device: torch.device = torch.device(device) if device is not None else torch_device()
        self.values: dict[str, TValue] = {}
        self.host = columns  # for the exact fallback
        self.exact_only = False  # some column does not fit int64
        sizes = set()
        for name, col in columns.items():
            if isinstance(col, torch.Tensor):
                if device is None:
                    self.device = col.device
                col = col.detach().cpu().numpy()
            v = column_value(col)  # validates; canonical dtype and exact bounds
            sizes.add(len(v.data))  # type: ignore[arg-type]
            if v.data.dtype == object:  # type: ignore[union-attr]
                self.exact_only = True
                continue
            self.values[name] = TValue(torch.from_numpy(np.ascontiguousarray(v.data)).to(self.device), v.lo, v.hi)
        if len(sizes) > 1:
            raise ValueError(f"columns have different lengths: {sorted(sizes)}")
        if size is not None and sizes and sizes != {size}:
            raise ValueError(f"size {size} does not match column length {sizes.pop()}")
        self.size: int = size if size is not None else (sizes.pop() if sizes else 1)
        self.enums: Mapping[str, int] = dict(enums or {})


def _fits(lo: int | None, hi: int | None) -> bool:
    return lo is not None and hi is not None and lo >= I64_MIN and hi <= I64_MAX


def _is_t(d: object) -> bool:
    return isinstance(d, torch.Tensor)


def _scalar(x: Scalar) -> TValue:
    if isinstance(x, bool):
        return TValue(x, None, None)
    if not I64_MIN <= x <= I64_MAX:
        raise _NeedsExact
    return TValue(x, x, x)


def _tighten(v: TValue) -> TValue:
    if _is_t(v.data) and v.data.numel():  # type: ignore[union-attr]
        return TValue(v.data, int(v.data.min()), int(v.data.max()))  # type: ignore[union-attr]
    return v


class _Ops:
    """Tensor operations on one device; Python scalars become 0-d tensors when needed."""

    def __init__(self, device: torch.device) -> None:
        self.device = device

    def t(self, d: torch.Tensor | Scalar) -> torch.Tensor:
        if isinstance(d, torch.Tensor):
            return d
        dtype = torch.bool if isinstance(d, bool) else torch.int64
        return torch.tensor(d, dtype=dtype, device=self.device)

    def arith2(self, op: str, a: TValue, b: TValue) -> TValue:
        if not _is_t(a.data) and not _is_t(b.data):
            return _scalar(apply_op(op, [a.data, b.data]))
        lo, hi = op_interval(op, [(a.lo, a.hi), (b.lo, b.hi)])
        if not _fits(lo, hi):
            a, b = _tighten(a), _tighten(b)
            lo, hi = op_interval(op, [(a.lo, a.hi), (b.lo, b.hi)])
            if not _fits(lo, hi):
                raise _NeedsExact
        x, y = self.t(a.data), self.t(b.data)
        fn = {"+": torch.add, "-": torch.sub, "*": torch.mul, "min": torch.minimum, "max": torch.maximum}[op]
        return TValue(fn(x, y), lo, hi)

    def neg(self, a: TValue) -> TValue:
        if not _is_t(a.data):
            return _scalar(-a.data)
        lo, hi = iv_neg((a.lo, a.hi))
        if not _fits(lo, hi):
            raise _NeedsExact
        return TValue(torch.neg(a.data), lo, hi)  # type: ignore[arg-type]

    def divmod(self, op: str, a: TValue, b: TValue) -> TValue:
        is_div = op in ("div", "safe_div")
        if not _is_t(a.data) and not _is_t(b.data):
            return _scalar(apply_op(op, [a.data, b.data]))
        if not _is_t(b.data) and b.data == 0:
            return _scalar(0)
        iv_fn = iv_div if is_div else iv_mod
        lo, hi = iv_fn((a.lo, a.hi), (b.lo, b.hi))
        if not _fits(lo, hi):
            a, b = _tighten(a), _tighten(b)
            lo, hi = iv_fn((a.lo, a.hi), (b.lo, b.hi))
            if not _fits(lo, hi):
                raise _NeedsExact
        x, y = self.t(a.data), self.t(b.data)
        # torch raises (CPU) or returns garbage (CUDA) on integer division by zero.
        zero = None if b.lo > 0 else (y == 0)  # type: ignore[operator]
        if zero is not None:
            y = torch.where(zero, torch.ones_like(y), y)
        if is_div:
            out = torch.div(x, y, rounding_mode="floor")
            if b.lo < 0:  # type: ignore[operator]
                # floor -> Euclidean: one more where the floor remainder is negative.
                out = out + (torch.remainder(x, y) < 0)
        else:
            r = torch.remainder(x, y)  # floor remainder: sign of the divisor
            out = r if b.lo >= 0 else torch.where(r < 0, r - y, r)  # type: ignore[operator]
        if zero is not None:
            out = torch.where(zero, torch.zeros_like(out), out)
        return TValue(out, lo, hi)

    def compare(self, op: str, a: TValue, b: TValue) -> TValue:
        if not _is_t(a.data) and not _is_t(b.data):
            return _scalar(apply_op(op, [a.data, b.data]))
        fn = {"=": torch.eq, "!=": torch.ne, "<": torch.lt, "<=": torch.le, ">": torch.gt, ">=": torch.ge}[op]
        return TValue(fn(self.t(a.data), self.t(b.data)), None, None)

    def logic(self, op: str, args: list[TValue]) -> TValue:
        data = [a.data for a in args]
        if not any(_is_t(d) for d in data):
            return _scalar(apply_op(op, data))
        xs = [self.t(d).to(torch.bool) for d in data]
        if op == "not":
            return TValue(torch.logical_not(xs[0]), None, None)
        if op == "=>":
            return TValue(torch.logical_or(torch.logical_not(xs[0]), xs[1]), None, None)
        fn = {"and": torch.logical_and, "or": torch.logical_or, "xor": torch.logical_xor}[op]
        out = xs[0]
        for x in xs[1:]:
            out = fn(out, x)
        return TValue(out, None, None)

    def ite(self, c: TValue, t: TValue, f: TValue) -> TValue:
        out = torch.where(self.t(c.data).to(torch.bool), self.t(t.data), self.t(f.data))
        if t.lo is None or f.lo is None:
            return TValue(out, None, None)
        lo, hi = iv_union((t.lo, t.hi), (f.lo, f.hi))
        return TValue(out, lo, hi)


def _value(e: Expr, env: TorchBatchEnv, ops: _Ops) -> TValue:
    if isinstance(e, Op):
        args = [_value(a, env, ops) for a in e.args]
        op = e.op
        if op in ARITH_NARY:
            if not args:
                if op == "+":
                    return _scalar(0)
                raise EvalError(f"{op} needs arguments")
            if op == "-" and len(args) == 1:
                return ops.neg(args[0])
            acc = args[0]
            for b in args[1:]:
                acc = ops.arith2(op, acc, b)
            return acc
        if op in ("div", "mod", "safe_div", "safe_mod"):
            return ops.divmod(op, args[0], args[1])
        if op in COMPARE:
            return ops.compare(op, args[0], args[1])
        if op in ("and", "or", "xor", "not", "=>"):
            return ops.logic(op, args)
        raise EvalError(f"unknown operator {op!r}")
    if isinstance(e, Var):
        if e.name in env.values:
            return env.values[e.name]
        if e.name in env.enums:  # an enum symbol written as a bare atom
            return _scalar(env.enums[e.name])
        raise EvalError(f"unbound name {e.name!r}")
    if isinstance(e, Const):
        return _scalar(e.value)
    if isinstance(e, Ite):
        c = _value(e.cond, env, ops)
        if not _is_t(c.data):
            return _value(e.then if c.data else e.else_, env, ops)
        return ops.ite(c, _value(e.then, env, ops), _value(e.else_, env, ops))
    if isinstance(e, BoolLit):
        return _scalar(e.value)
    if isinstance(e, EnumLit):
        if e.symbol not in env.enums:
            raise EvalError(f"unknown enum symbol {e.symbol!r}")
        return _scalar(env.enums[e.symbol])
    if isinstance(e, Hole):
        raise EvalError(f"unfilled hole {e.hole_id!r}")
    raise TypeError(f"not an expression: {e!r}")


def evaluate_batch_torch(
    e: Expr,
    columns: Mapping[str, Any] | TorchBatchEnv,
    enums: Mapping[str, int] | None = None,
    size: int | None = None,
    device: torch.device | str | None = None,
) -> torch.Tensor | np.ndarray:
    """Evaluate `e` on every input as int64/bool tensors on the columns' device.

    Returns a 1-D tensor, or, when a value of the term may leave int64, the exact
    numpy result (a tensor again if the final values fit int64, else an object array).
    """
    env = columns if isinstance(columns, TorchBatchEnv) else TorchBatchEnv(columns, enums, size, device)
    ops = _Ops(env.device)
    try:
        if env.exact_only:
            raise _NeedsExact
        v = _value(e, env, ops)
    except _NeedsExact:
        host = {k: (c.detach().cpu().numpy() if isinstance(c, torch.Tensor) else c) for k, c in env.host.items()}
        out = evaluate_batch(e, BatchEnv(host, env.enums, env.size))
        return torch.from_numpy(out).to(env.device) if out.dtype != object else out
    if _is_t(v.data):
        return v.data  # type: ignore[return-value]
    dtype = torch.bool if v.lo is None else torch.int64
    return torch.full((env.size,), v.data, dtype=dtype, device=env.device)
