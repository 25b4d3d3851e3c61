"""S-expression terms: parsing (with sexpdata) and the canonical printed form.

The canonical form is the one identity of a term used for equality, caching,
hashing and output: single spaces, no redundant parentheses, negative integers
written as `-5`.
"""
from __future__ import annotations

import re

import sexpdata

from ..limits import MAX_TERM_CHARS, MAX_TERM_DEPTH
from . import ops
from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var

_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.']*$")


class TermSyntaxError(ValueError):
    """A term text that is not a well-formed S-expression term."""


def parse_term(text: str) -> Expr:
    """Parse an S-expression term such as `(safe_div (* amount bps) 10000)`."""
    problem = text_problem(text, "term")
    if problem is not None:
        raise TermSyntaxError(problem)
    try:
        parsed = sexpdata.loads(text, true=None, false=None, nil=None)
    except Exception as exc:  # sexpdata raises assorted types (even AssertionError)
        detail = str(exc).split("\n")[0] or "trailing text after the term"
        raise TermSyntaxError(f"not an S-expression: {detail}") from None
    return _from_sexp(parsed, text)


def text_problem(text: object, what: str) -> str | None:
    """Why a term or formula text is refused before parsing (empty, too long, nested
    too deep), or None: the one limit check of both parsers."""
    if not isinstance(text, str) or not text.strip():
        return f"empty {what}"
    if len(text) > MAX_TERM_CHARS:
        return f"longer than {MAX_TERM_CHARS} characters (limit of esso-ngs)"
    if paren_depth(text) > MAX_TERM_DEPTH:
        return f"nested deeper than {MAX_TERM_DEPTH} levels (limit of esso-ngs)"
    return None


def paren_depth(text: str) -> int:
    """Deepest nesting of parentheses in `text` (a bound on a term's depth, before parsing)."""
    depth = deepest = 0
    for ch in text:
        if ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _from_sexp(node: object, text: str) -> Expr:
    if isinstance(node, bool):
        return BoolLit(node)
    if isinstance(node, int):
        return Const(node)
    if isinstance(node, sexpdata.Symbol):
        name = node.value()
        if name == "true":
            return BoolLit(True)
        if name == "false":
            return BoolLit(False)
        if not _SYMBOL.match(name):
            raise TermSyntaxError(f"bad atom {name!r}")
        return Var(name)
    if isinstance(node, list):
        # Redundant parentheses around a single item: ((x)) is x.
        while isinstance(node, list) and len(node) == 1 and isinstance(node[0], list):
            node = node[0]
        if not node:
            raise TermSyntaxError("empty application ()")
        if len(node) == 1:
            return _from_sexp(node[0], text)
        head = node[0]
        if not isinstance(head, sexpdata.Symbol):
            raise TermSyntaxError(f"application head must be an operator, got {sexpdata.dumps(head)}")
        op = head.value()
        args = tuple(_from_sexp(a, text) for a in node[1:])
        if op == "ite":
            if len(args) != 3:
                raise TermSyntaxError(f"ite takes 3 arguments, got {len(args)}")
            return Ite(*args)
        entry = ops.TABLE.get(op)
        if entry is None:
            raise TermSyntaxError(f"unknown operator {op!r}")
        problem = entry.arity_error(len(args))
        if problem is not None:
            raise TermSyntaxError(problem)
        return Op(op, args)
    raise TermSyntaxError(f"unsupported atom {node!r}")


def to_sexpr(e: Expr) -> str:
    """Canonical printed form."""
    if isinstance(e, Const):
        return str(e.value)
    if isinstance(e, BoolLit):
        return "true" if e.value else "false"
    if isinstance(e, Var):
        return e.name
    if isinstance(e, EnumLit):
        return e.symbol
    if isinstance(e, Hole):
        return f"?{e.hole_id}"
    if isinstance(e, Ite):
        return f"(ite {to_sexpr(e.cond)} {to_sexpr(e.then)} {to_sexpr(e.else_)})"
    if isinstance(e, Op):
        return "(" + " ".join([e.op, *(to_sexpr(a) for a in e.args)]) + ")"
    raise TypeError(f"not an expression: {e!r}")


def canonical(text: str) -> str:
    """Canonical text of a term text (whitespace and redundant parentheses removed)."""
    return to_sexpr(parse_term(text))
