"""The one expression tree shared by kernel expressions, terms and constraints.

Nodes are frozen dataclasses, so structural equality and hashing come for free:
two terms are the same term exactly when their trees are equal. Children of a node
are addressed by position (see `children`), which gives every subterm a *path*
(a tuple of child indices) used for hole sites and explanations.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Iterator, Union

from . import ops

# Operator families, from the one operator table (`ops.py`): the kernel IR's
# operators plus the synth grammar's safe_div/safe_mod.
ARITH_NARY = ops.names("arith")
ARITH_BINARY = ops.names("divmod")
COMPARE = ops.names("compare")
LOGIC_NARY = frozenset(n for n in ops.names("logic") if ops.TABLE[n].max_args is None)
LOGIC_UNARY = frozenset(n for n in ops.names("logic") if ops.TABLE[n].max_args == 1)
LOGIC_BINARY = frozenset(n for n in ops.names("logic") if ops.TABLE[n].max_args == 2)
INT_OPS = ops.names(result=ops.INT)
BOOL_OPS = ops.names(result=ops.BOOL)
OPERATORS = ops.BUILTIN_NAMES


@dataclass(frozen=True, slots=True)
class Const:
    value: int


@dataclass(frozen=True, slots=True)
class BoolLit:
    value: bool


@dataclass(frozen=True, slots=True)
class EnumLit:
    symbol: str


@dataclass(frozen=True, slots=True)
class Var:
    """A named value: a state var, an action param, or `result` in constraints.

    The kernel distinguishes `{var: ...}` from `{param: ...}`; names are unique
    within an action, so one node kind keeps every evaluator simple. The kernel
    knows which names are params when it needs to print IR back.
    """

    name: str


@dataclass(frozen=True, slots=True)
class Op:
    op: str
    args: tuple["Expr", ...]


@dataclass(frozen=True, slots=True)
class Ite:
    cond: "Expr"
    then: "Expr"
    else_: "Expr"


@dataclass(frozen=True, slots=True)
class Hole:
    """An explicit hole site, `{hole: "<hole_id>"}` in a kernel."""

    hole_id: str


Expr = Union[Const, BoolLit, EnumLit, Var, Op, Ite, Hole]
Path = tuple[int, ...]


def children(e: Expr) -> tuple[Expr, ...]:
    if isinstance(e, Op):
        return e.args
    if isinstance(e, Ite):
        return (e.cond, e.then, e.else_)
    return ()


def with_children(e: Expr, kids: tuple[Expr, ...]) -> Expr:
    if isinstance(e, Op):
        return Op(e.op, kids)
    if isinstance(e, Ite):
        return Ite(*kids)
    return e


def subterm(e: Expr, path: Path) -> Expr:
    for i in path:
        e = children(e)[i]
    return e


def replace_at(e: Expr, path: Path, new: Expr) -> Expr:
    if not path:
        return new
    kids = list(children(e))
    kids[path[0]] = replace_at(kids[path[0]], path[1:], new)
    return with_children(e, tuple(kids))


def walk(e: Expr, path: Path = ()) -> Iterator[tuple[Path, Expr]]:
    """Pre-order walk yielding (path, node)."""
    yield path, e
    for i, k in enumerate(children(e)):
        yield from walk(k, path + (i,))


def transform(e: Expr, fn: Callable[[Expr], Expr | None]) -> Expr:
    """Bottom-up rewrite: `fn` returns a replacement or None to keep the node."""
    kids = children(e)
    if kids:
        e = with_children(e, tuple(transform(k, fn) for k in kids))
    out = fn(e)
    return e if out is None else out


def substitute(e: Expr, mapping: dict[str, Expr]) -> Expr:
    """Replace variables by name (holes are left alone)."""
    return transform(e, lambda n: mapping.get(n.name) if isinstance(n, Var) else None)


def fill_holes(e: Expr, terms: dict[str, Expr]) -> Expr:
    return transform(e, lambda n: terms.get(n.hole_id) if isinstance(n, Hole) else None)


def free_vars(e: Expr) -> frozenset[str]:
    return frozenset(n.name for _, n in walk(e) if isinstance(n, Var))


def holes_in(e: Expr) -> frozenset[str]:
    return frozenset(n.hole_id for _, n in walk(e) if isinstance(n, Hole))


def node_count(e: Expr) -> int:
    return sum(1 for _ in walk(e))


def ite_count(e: Expr) -> int:
    return sum(1 for _, n in walk(e) if isinstance(n, Ite))


def ite_depth(e: Expr) -> int:
    """Nesting depth of ite: 0 without ite, 1 for a single ite, ..."""
    below = max((ite_depth(k) for k in children(e)), default=0)
    return below + 1 if isinstance(e, Ite) else below


def term_depth(e: Expr) -> int:
    """Nesting depth (1 for a leaf), computed without recursion: it guards the recursive code."""
    deepest, stack = 0, [(e, 1)]
    while stack:
        node, d = stack.pop()
        deepest = max(deepest, d)
        stack.extend((k, d + 1) for k in children(node))
    return deepest


def is_bool(e: Expr) -> bool:
    """Whether the node's value is Boolean (by its head; vars are unknown: False)."""
    if isinstance(e, BoolLit):
        return True
    if isinstance(e, Op):
        entry = ops.TABLE.get(e.op)
        return entry is not None and entry.result == ops.BOOL
    if isinstance(e, Ite):
        return is_bool(e.then)
    return False


def expand(e: Op) -> Expr:
    """The body of a defined operator (`ops.define`) with `e`'s arguments in place."""
    entry = ops.TABLE.get(e.op)
    if entry is None or entry.body is None:
        raise ValueError(f"{e.op!r} is not a defined operator")
    if len(e.args) != len(entry.params):
        raise ValueError(entry.arity_error(len(e.args)) or f"{e.op}: wrong number of arguments")
    # Simultaneous substitution: a parameter name inside an argument is not replaced again.
    mapping = dict(zip(entry.params, e.args))
    return transform(entry.body, lambda n: mapping.get(n.name) if isinstance(n, Var) else None)
