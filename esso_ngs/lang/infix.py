"""Infix formulas (synth-spec semantic constraints) -> the one expression tree.

The grammar is `grammars/constraints.lark`; the LALR parser is built once and
cached. `/` and `div` are ESSO's `div` (Euclidean, 0 on a zero divisor), `==` is
`=`, `&& || !` are `and or not`. `to_infix` prints an expression back in this
language (for messages), with only the parentheses precedence needs.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any

from lark import Lark, Token, Transformer
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken, VisitError

from ..limits import MAX_TERM_DEPTH
from ..resources import grammar_file
from .expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var, term_depth
from .sexpr import text_problem

# Function-call forms accepted besides the infix operators: name -> (op, min args, max args).
FUNCTIONS: dict[str, tuple[str, int, int | None]] = {
    "min": ("min", 1, None),
    "max": ("max", 1, None),
    "div": ("div", 2, 2),
    "mod": ("mod", 2, 2),
    "safe_div": ("safe_div", 2, 2),
    "safe_mod": ("safe_mod", 2, 2),
    "ite": ("ite", 3, 3),
    "xor": ("xor", 1, None),
}


class InfixSyntaxError(ValueError):
    """A formula that is not in the constraint language; `column` is 1-based."""

    def __init__(self, message: str, column: int | None = None) -> None:
        self.column = column
        self.detail = message
        super().__init__(f"{message} (column {column})" if column is not None else message)


def _flat(op: str, a: Expr, b: Expr) -> Op:
    """`a op b` with left-nested associative ops flattened: (a + b) + c -> (+ a b c)."""
    if op in ("+", "*", "and", "or") and isinstance(a, Op) and a.op == op:
        return Op(op, a.args + (b,))
    return Op(op, (a, b))


class _ToExpr(Transformer):
    """Parse-tree callbacks (run inside the LALR parser) building Expr nodes."""

    def int(self, items: list[Token]) -> Expr:
        return Const(int(items[0]))

    def true(self, _items: list[Any]) -> Expr:
        return BoolLit(True)

    def false(self, _items: list[Any]) -> Expr:
        return BoolLit(False)

    def var(self, items: list[Token]) -> Expr:
        return Var(str(items[0]))

    def uminus(self, items: list[Any]) -> Expr:
        arg = items[1]
        if isinstance(arg, Const):  # -5 is the literal -5, not (- 5)
            return Const(-arg.value)
        return Op("-", (arg,))

    def add(self, items: list[Any]) -> Expr:
        return _flat("+", items[0], items[2])

    def sub(self, items: list[Any]) -> Expr:
        return Op("-", (items[0], items[2]))

    def mul(self, items: list[Any]) -> Expr:
        return _flat("*", items[0], items[2])

    def div(self, items: list[Any]) -> Expr:
        return Op("div", (items[0], items[2]))

    def mod(self, items: list[Any]) -> Expr:
        return Op("mod", (items[0], items[2]))

    def compare(self, items: list[Any]) -> Expr:
        op = str(items[1])
        return Op("=" if op == "==" else op, (items[0], items[2]))

    def not_(self, items: list[Any]) -> Expr:
        return Op("not", (items[1],))

    def and_(self, items: list[Any]) -> Expr:
        return _flat("and", items[0], items[2])

    def or_(self, items: list[Any]) -> Expr:
        return _flat("or", items[0], items[2])

    def implies(self, items: list[Any]) -> Expr:
        return Op("=>", (items[0], items[2]))

    def args(self, items: list[Any]) -> list[Expr]:
        return list(items)

    def call(self, items: list[Any]) -> Expr:
        name_tok: Token = items[0]
        args: list[Expr] = items[1]
        name = str(name_tok)
        if name not in FUNCTIONS:
            known = ", ".join(sorted(FUNCTIONS))
            raise InfixSyntaxError(f"unknown function `{name}` (known: {known})", name_tok.column)
        op, lo, hi = FUNCTIONS[name]
        if len(args) < lo or (hi is not None and len(args) > hi):
            want = str(lo) if hi == lo else f"at least {lo}"
            raise InfixSyntaxError(f"`{name}` takes {want} argument(s), got {len(args)}", name_tok.column)
        if op == "ite":
            return Ite(*args)
        return Op(op, tuple(args))

    def start(self, items: list[Any]) -> Expr:
        return items[0]


@lru_cache(maxsize=1)
def _parser() -> Lark:
    text = grammar_file("constraints.lark").read_text(encoding="utf-8")
    return Lark(text, parser="lalr", transformer=_ToExpr(), maybe_placeholders=False)


def parse_infix(text: str) -> Expr:
    """Parse a constraint formula such as `result <= amount * bps / 10000`."""
    problem = text_problem(text, "formula")
    if problem is not None:
        raise InfixSyntaxError(problem)
    try:
        expr = _parser().parse(text)
    except InfixSyntaxError:
        raise
    except VisitError as exc:  # a callback error wrapped by lark
        if isinstance(exc.orig_exc, InfixSyntaxError):
            raise exc.orig_exc from None
        raise
    except UnexpectedEOF:
        raise InfixSyntaxError("unexpected end of formula", len(text) + 1) from None
    except UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            raise InfixSyntaxError("unexpected end of formula", len(text) + 1) from None
        raise InfixSyntaxError(f"unexpected `{tok}`", exc.column) from None
    except UnexpectedCharacters as exc:
        raise InfixSyntaxError(f"unexpected character {text[exc.pos_in_stream]!r}", exc.column) from None
    except UnexpectedInput as exc:
        raise InfixSyntaxError("not a formula", getattr(exc, "column", None)) from None
    except RecursionError:
        raise InfixSyntaxError(f"nested deeper than {MAX_TERM_DEPTH} levels (limit of esso-ngs)") from None
    except ValueError as exc:  # a literal Python cannot read (an integer of more than 4300 digits)
        raise InfixSyntaxError(f"unreadable: {exc}".split(";")[0]) from None
    if term_depth(expr) > MAX_TERM_DEPTH:  # `not not not ...` nests without parentheses
        raise InfixSyntaxError(f"nested deeper than {MAX_TERM_DEPTH} levels (limit of esso-ngs)")
    return expr


# ------------------------------------------------------------------ printing
# Binding strength of each operator in the infix language (higher binds tighter).
_PREC = {"=>": 1, "or": 2, "and": 3, "not": 4,
         "=": 5, "!=": 5, "<": 5, "<=": 5, ">": 5, ">=": 5,
         "+": 6, "-": 6, "*": 7, "div": 7, "mod": 7, "neg": 8}
_ATOM = 9


def to_infix(e: Expr) -> str:
    """Readable infix text of `e` that `parse_infix` reads back as the same tree."""
    return _show(e)[0]


def _show(e: Expr) -> tuple[str, int]:
    if isinstance(e, Const):
        return (str(e.value), _ATOM) if e.value >= 0 else (f"-{-e.value}", _PREC["neg"])
    if isinstance(e, BoolLit):
        return ("true" if e.value else "false"), _ATOM
    if isinstance(e, Var):
        return e.name, _ATOM
    if isinstance(e, EnumLit):
        return e.symbol, _ATOM
    if isinstance(e, Hole):
        return f"?{e.hole_id}", _ATOM
    if isinstance(e, Ite):
        return f"ite({to_infix(e.cond)}, {to_infix(e.then)}, {to_infix(e.else_)})", _ATOM
    if isinstance(e, Op):
        op, args = e.op, e.args
        if op in ("min", "max", "safe_div", "safe_mod", "xor") or op not in _PREC:
            return f"{op}(" + ", ".join(to_infix(a) for a in args) + ")", _ATOM
        if op == "-" and len(args) == 1:
            return "-" + _wrap(args[0], _PREC["neg"] + 1), _PREC["neg"]
        if op == "not":
            return "not " + _wrap(args[0], _PREC["not"]), _PREC["not"]
        p = _PREC[op]
        if op == "=>":  # right associative
            return f"{_wrap(args[0], p + 1)} => {_wrap(args[1], p)}", p
        if p == 5:  # comparisons do not chain
            return f"{_wrap(args[0], p + 1)} {op} {_wrap(args[1], p + 1)}", p
        # Left-associative n-ary: the first operand may sit at the same level.
        parts = [_wrap(args[0], p)] + [_wrap(a, p + 1) for a in args[1:]]
        return f" {op} ".join(parts), p
    raise TypeError(f"not an expression: {e!r}")


def _wrap(e: Expr, min_prec: int) -> str:
    text, prec = _show(e)
    return text if prec >= min_prec else f"({text})"
