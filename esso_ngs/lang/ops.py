"""The one table of operators: name, arity, sorts, exact evaluation, batched and Z3 hooks.

Every checker (term parser, kernel and grammar sort checks, membership, the
enumerator's templates, the SyGuS reader), evaluator (exact, batched numpy and
torch, intervals) and encoder (Z3 over Int and bit-vectors) looks operators up
here, so adding an operator is one `Operator` entry.

`family` says how the batched evaluator and the Z3 encoders treat an operator:
- "arith": integers to an integer, an n-ary left fold of `ufunc` (numpy) and
  `z3` (Int and BV alike); one-argument `-` is negation;
- "divmod": Euclidean division with 0 at a zero divisor (its encoding is
  width-specific, built by the encoders);
- "compare": two arguments to a Boolean, `ufunc` elementwise;
- "logic": Booleans to a Boolean, a fold of `ufunc` (unary for `not`);
- "defined": a function defined by a body over its parameters (a SyGuS
  `define-fun`): evaluated and encoded by expanding the body (`lang.expr.expand`),
  registered at run time with `define`.

Sorts: `Sort` is the one sort type of the project: "Int", "Bool", or an enum
sort "enum{A,B}" (the kernel's enums; the spec layer builds those).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import reduce
from typing import TYPE_CHECKING, Any, Callable, Sequence

import numpy as np

from .semantics import euclid_div, euclid_mod

if TYPE_CHECKING:
    from .expr import Expr

Sort = str
INT: Sort = "Int"
BOOL: Sort = "Bool"

Value = int | bool


def _z3() -> Any:
    import z3  # imported on first encoding only: most commands never touch Z3

    return z3


@dataclass(frozen=True, slots=True)
class Operator:
    name: str
    family: str  # "arith" | "divmod" | "compare" | "logic" | "defined"
    min_args: int
    max_args: int | None  # None: any number (a left fold)
    arg_sort: Sort | None  # the sort of every argument; None: any, but all alike (= and !=)
    result: Sort
    exact: Callable[[Sequence[Value]], Value] | None = None  # None for "defined" (the body is evaluated)
    ufunc: Callable[..., Any] | None = None  # the numpy elementwise operation (arith/compare/logic)
    z3: Callable[[Sequence[Any]], Any] | None = None  # encoding common to Int and BV (not divmod/defined)
    params: tuple[str, ...] = ()  # "defined": parameter names of the body
    param_sorts: tuple[Sort, ...] = ()  # "defined": their sorts
    body: Expr | None = None  # "defined": the body over `params`

    def arity_error(self, n: int) -> str | None:
        """Why `n` arguments do not fit, or None when they do."""
        if self.max_args is not None and self.min_args == self.max_args:
            if n == self.min_args:
                return None
            return f"{self.name} takes {self.min_args} argument{'s' if self.min_args != 1 else ''}, got {n}"
        if n < max(1, self.min_args):
            return f"{self.name} needs arguments"
        return None

    def arg_sort_at(self, i: int) -> Sort | None:
        if self.family == "defined":
            return self.param_sorts[i] if i < len(self.param_sorts) else None
        return self.arg_sort


def _fold(fn: Callable[[Any, Any], Any]) -> Callable[[Sequence[Any]], Any]:
    return lambda xs: reduce(fn, xs)


def _minus(xs: Sequence[Any]) -> Any:
    return -xs[0] if len(xs) == 1 else reduce(lambda a, b: a - b, xs)


def _z3_min(xs: Sequence[Any]) -> Any:
    z3 = _z3()
    return reduce(lambda a, b: z3.If(a <= b, a, b), xs)


def _z3_max(xs: Sequence[Any]) -> Any:
    z3 = _z3()
    return reduce(lambda a, b: z3.If(a >= b, a, b), xs)


def _implies(a: Any, b: Any) -> Any:
    return np.logical_or(np.logical_not(a), b)


def _arith(name: str, exact: Callable[[Sequence[Value]], Value], ufunc: Callable[..., Any],
           z3: Callable[[Sequence[Any]], Any]) -> Operator:
    return Operator(name, "arith", 1, None, INT, INT, exact, ufunc, z3)


def _divmod(name: str, fn: Callable[[int, int], int]) -> Operator:
    return Operator(name, "divmod", 2, 2, INT, INT, lambda xs: fn(xs[0], xs[1]))


def _compare(name: str, arg_sort: Sort | None, exact: Callable[[Any, Any], bool], ufunc: Callable[..., Any],
             z3: Callable[[Any, Any], Any]) -> Operator:
    return Operator(name, "compare", 2, 2, arg_sort, BOOL, lambda xs: exact(xs[0], xs[1]), ufunc,
                    lambda xs: z3(xs[0], xs[1]))


_BUILTIN: tuple[Operator, ...] = (
    _arith("+", sum, np.add, _fold(lambda a, b: a + b)),
    _arith("-", _minus, np.subtract, _minus),
    _arith("*", _fold(lambda a, b: a * b), np.multiply, _fold(lambda a, b: a * b)),
    _arith("min", min, np.minimum, _z3_min),
    _arith("max", max, np.maximum, _z3_max),
    _divmod("div", euclid_div),
    _divmod("mod", euclid_mod),
    _divmod("safe_div", euclid_div),
    _divmod("safe_mod", euclid_mod),
    _compare("=", None, lambda a, b: a == b, np.equal, lambda a, b: a == b),
    _compare("!=", None, lambda a, b: a != b, np.not_equal, lambda a, b: a != b),
    _compare("<", INT, lambda a, b: a < b, np.less, lambda a, b: a < b),
    _compare("<=", INT, lambda a, b: a <= b, np.less_equal, lambda a, b: a <= b),
    _compare(">", INT, lambda a, b: a > b, np.greater, lambda a, b: a > b),
    _compare(">=", INT, lambda a, b: a >= b, np.greater_equal, lambda a, b: a >= b),
    Operator("and", "logic", 1, None, BOOL, BOOL, all, np.logical_and, lambda xs: _z3().And(*xs)),
    Operator("or", "logic", 1, None, BOOL, BOOL, any, np.logical_or, lambda xs: _z3().Or(*xs)),
    Operator("xor", "logic", 1, None, BOOL, BOOL, lambda xs: reduce(lambda a, b: bool(a) != bool(b), xs, False),
             np.logical_xor, lambda xs: reduce(_z3().Xor, xs)),
    Operator("not", "logic", 1, 1, BOOL, BOOL, lambda xs: not xs[0], np.logical_not, lambda xs: _z3().Not(xs[0])),
    Operator("=>", "logic", 2, 2, BOOL, BOOL, lambda xs: (not xs[0]) or bool(xs[1]), _implies,
             lambda xs: _z3().Implies(xs[0], xs[1])),
)

# The table. Built-ins are fixed; `define` adds defined functions at run time.
TABLE: dict[str, Operator] = {op.name: op for op in _BUILTIN}
BUILTIN_NAMES: frozenset[str] = frozenset(TABLE)


def lookup(name: str) -> Operator | None:
    return TABLE.get(name)


def names(family: str | None = None, result: Sort | None = None) -> frozenset[str]:
    """Built-in operator names, optionally of one family and/or result sort."""
    return frozenset(op.name for op in _BUILTIN
                     if (family is None or op.family == family) and (result is None or op.result == result))


def define(name: str, params: Sequence[str], param_sorts: Sequence[Sort], result: Sort, body: Expr) -> Operator:
    """Register a defined function (a SyGuS `define-fun`) as an operator: parsed, sort
    checked, evaluated (through its body) and encoded for Z3 (expanded) like a built-in.

    Re-defining a name with the same definition is a no-op; a built-in name, or the
    same name with another definition, is refused (ValueError)."""
    if name in BUILTIN_NAMES:
        raise ValueError(f"{name!r} is a built-in operator")
    if len(params) != len(param_sorts):
        raise ValueError(f"{name}: {len(params)} parameters but {len(param_sorts)} sorts")
    op = Operator(name, "defined", len(params), len(params), None, result,
                  params=tuple(params), param_sorts=tuple(param_sorts), body=body)
    old = TABLE.get(name)
    if old is not None and old != op:
        raise ValueError(f"{name!r} is already defined differently")
    TABLE[name] = op
    return op


def undefine(name: str) -> None:
    """Remove a defined function (built-ins stay)."""
    if name not in BUILTIN_NAMES:
        TABLE.pop(name, None)
