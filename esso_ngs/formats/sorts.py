"""Light sort checking (int / bool / enum) shared by the kernel and constraint loaders.

Catching `(+ flag 1)` or a non-Boolean guard at load time gives a message with
the file, field and line, instead of a solver error much later. Sorts are the
one `Sort` of `lang.ops` ("Int", "Bool", "enum{A,B}"); `None` means unknown (a hole, an ambiguous enum symbol) and is
compatible with everything, so the check never rejects what it cannot see.
"""
from __future__ import annotations

from typing import Mapping

from ..lang import ops
from ..lang.expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var
from ..lang.ops import BOOL, INT
from .model import BoolType, EnumType, IntType, Type

Sort = ops.Sort | None


class SortError(ValueError):
    """An ill-sorted expression; `path` is the child-index path of the culprit."""

    def __init__(self, message: str, path: tuple[int, ...] = ()) -> None:
        super().__init__(message)
        self.path = path


def sort_of_type(t: Type) -> Sort:
    if isinstance(t, IntType):
        return INT
    if isinstance(t, BoolType):
        return BOOL
    if isinstance(t, EnumType):
        return "enum{" + ",".join(t.symbols) + "}"
    return None


def compatible(a: Sort, b: Sort) -> bool:
    return a is None or b is None or a == b


def describe(s: Sort) -> str:
    """`an integer`, `a Boolean`, `an enum value {A,B}`, `of unknown sort`."""
    if s is None:
        return "of unknown sort"
    if s == INT:
        return "an integer"
    if s == BOOL:
        return "a Boolean"
    return "an enum value " + s[len("enum"):]


def op_sort(op: str, args: list[Sort]) -> tuple[Sort, int | None, str]:
    """Result sort of `op` over argument sorts.

    Returns (sort, bad_index, message): bad_index is None when well sorted,
    otherwise the index of the first offending argument.
    """
    entry = ops.TABLE.get(op)
    if entry is None:
        return None, None, ""
    if entry.arg_sort is None and entry.family == "compare":  # = and !=: any sort, both alike
        known = [s for s in args if s is not None]
        for i, s in enumerate(args):
            if known and not compatible(s, known[0]):
                return BOOL, i, f"`{op}` compares {describe(known[0])} with {describe(s)}"
        return BOOL, None, ""
    for i, s in enumerate(args):
        want = entry.arg_sort_at(i)
        if not compatible(s, want):
            return entry.result, i, _arg_message(entry, want, i, s)
    return entry.result, None, ""


def _arg_message(entry: ops.Operator, want: Sort, i: int, got: Sort) -> str:
    what = f"argument {i + 1} is {describe(got)}"
    if entry.family == "compare":
        return f"`{entry.name}` compares integers, {what}"
    if entry.family == "defined":
        return f"`{entry.name}` needs {describe(want)} as argument {i + 1}, it is {describe(got)}"
    kind = "integer" if want == INT else "Boolean"
    return f"`{entry.name}` needs {kind} arguments, {what}"


def ite_sort(cond: Sort, then: Sort, else_: Sort) -> tuple[Sort, int | None, str]:
    if not compatible(cond, BOOL):
        return then, 0, f"the condition of `ite` must be Boolean, it is {describe(cond)}"
    if not compatible(then, else_):
        return then, 2, f"the branches of `ite` differ: one is {describe(then)}, the other {describe(else_)}"
    return then if then is not None else else_, None, ""


def infer(e: Expr, names: Mapping[str, Sort], enums: Mapping[str, Sort] | None = None,
          path: tuple[int, ...] = ()) -> Sort:
    """Sort of `e`; raises SortError on the first ill-sorted node."""
    if isinstance(e, Const):
        return INT
    if isinstance(e, BoolLit):
        return BOOL
    if isinstance(e, EnumLit):
        return (enums or {}).get(e.symbol)
    if isinstance(e, Var):
        return names.get(e.name)
    if isinstance(e, Hole):
        return None
    if isinstance(e, Ite):
        kids = [infer(k, names, enums, path + (i,)) for i, k in enumerate((e.cond, e.then, e.else_))]
        sort, bad, msg = ite_sort(*kids)
    elif isinstance(e, Op):
        kids = [infer(k, names, enums, path + (i,)) for i, k in enumerate(e.args)]
        sort, bad, msg = op_sort(e.op, kids)
    else:
        raise TypeError(f"not an expression: {e!r}")
    if bad is not None:
        raise SortError(msg, path + (bad,))
    return sort


def enum_symbol_sorts(types: list[Type]) -> dict[str, Sort]:
    """Enum symbol -> sort of its type; a symbol of several different types is unknown."""
    out: dict[str, Sort] = {}
    for t in types:
        if isinstance(t, EnumType):
            s = sort_of_type(t)
            for sym in t.symbols:
                out[sym] = s if out.get(sym, s) == s else None
    return out
