from __future__ import annotations

import pytest

from esso_ngs.lang.expr import BoolLit, Const, Ite, Op, Var
from esso_ngs.lang.infix import InfixSyntaxError, parse_infix, to_infix
from esso_ngs.lang.sexpr import to_sexpr


def s(text: str) -> str:
    return to_sexpr(parse_infix(text))


@pytest.mark.parametrize("text, sexpr", [
    ("result >= 0", "(>= result 0)"),
    ("a + b * c", "(+ a (* b c))"),
    ("a * b + c", "(+ (* a b) c)"),
    ("a - b - c", "(- (- a b) c)"),
    ("a + b + c", "(+ a b c)"),  # associative chains are flattened
    ("a / b", "(div a b)"),
    ("a div b mod c", "(mod (div a b) c)"),
    ("a + b div c", "(+ a (div b c))"),
    ("div(a, b) + mod(a, b)", "(+ (div a b) (mod a b))"),
    ("min(a, b) <= max(a, b, c)", "(<= (min a b) (max a b c))"),
    ("-a * b", "(* (- a) b)"),
    ("-(a * b)", "(- (* a b))"),
    ("-5 + a", "(+ -5 a)"),
    ("a - -5", "(- a -5)"),
    ("a == b", "(= a b)"),
    ("a = b", "(= a b)"),
    ("a != b", "(!= a b)"),
    ("not a = b", "(not (= a b))"),
    ("not a and b", "(and (not a) b)"),
    ("!a || b && c", "(or (not a) (and b c))"),
    ("a or b and c", "(or a (and b c))"),
    ("a and b or c", "(or (and a b) c)"),
    ("a => b => c", "(=> a (=> b c))"),
    ("a or b => c and d", "(=> (or a b) (and c d))"),
    ("x > 0 => result <= x * 2", "(=> (> x 0) (<= result (* x 2)))"),
    ("(a + b) * c", "(* (+ a b) c)"),
    ("true and false", "(and true false)"),
    ("ite(a > 0, a, 0) >= 0", "(>= (ite (> a 0) a 0) 0)"),
    ("divisor mod modulus", "(mod divisor modulus)"),  # keywords inside names stay names
    ("result <= amount * bps / 10000", "(<= result (div (* amount bps) 10000))"),
])
def test_precedence(text: str, sexpr: str) -> None:
    assert s(text) == sexpr


def test_nodes() -> None:
    assert parse_infix("true") == BoolLit(True)
    assert parse_infix("-7") == Const(-7)
    assert parse_infix("ite(c, 1, 2)") == Ite(Var("c"), Const(1), Const(2))
    assert parse_infix("a && b") == Op("and", (Var("a"), Var("b")))


@pytest.mark.parametrize("text, column, fragment", [
    ("a < b < c", 7, "unexpected"),
    ("result >= ", 11, "end of formula"),
    ("a @ b", 3, "unexpected character"),
    ("foo(a)", 1, "unknown function"),
    ("min()", 5, "unexpected"),
    ("div(a)", 1, "takes 2"),
    ("(a + b", 7, "end of formula"),
])
def test_syntax_errors(text: str, column: int, fragment: str) -> None:
    with pytest.raises(InfixSyntaxError) as info:
        parse_infix(text)
    assert isinstance(info.value, ValueError)
    assert info.value.column == column
    assert fragment in str(info.value)


@pytest.mark.parametrize("text", ["", "   "])
def test_empty(text: str) -> None:
    with pytest.raises(InfixSyntaxError):
        parse_infix(text)


@pytest.mark.parametrize("text", [
    "a + b * c - d", "(a + b) * (c - d)", "a - (b - c)", "not (a and b) or c", "a => (b => c)",
    "(a => b) => c", "-(a + b)", "a * -b", "min(a, b + 1) div 2", "(a = b) = (c < d)", "x mod (y div z)",
])
def test_to_infix_round_trip(text: str) -> None:
    e = parse_infix(text)
    assert parse_infix(to_infix(e)) == e


def test_parser_is_cached() -> None:
    from esso_ngs.lang.infix import _parser
    assert _parser() is _parser()
