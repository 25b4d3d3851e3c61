"""Euclidean div/mod: the exact semantics, and every evaluator/encoding agreeing with it."""
from __future__ import annotations

import numpy as np
import pytest
import z3

from esso_ngs.lang.batched import evaluate_batch
from esso_ngs.lang.evaluate import EvalError, evaluate
from esso_ngs.lang.expr import Op, Var
from esso_ngs.lang.semantics import euclid_div, euclid_mod
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.lang.z3enc import to_z3, to_z3_bv, z3_value_to_py

# (a, b, a div b, a mod b): Euclidean, so the remainder is never negative.
CASES = [
    (7, 2, 3, 1),
    (7, -2, -3, 1),
    (-7, 2, -4, 1),
    (-7, -2, 4, 1),
    (6, -3, -2, 0),
    (-6, -3, 2, 0),
    (0, -5, 0, 0),
    (7, 0, 0, 0),
    (-7, 0, 0, 0),
    (0, 0, 0, 0),
    (-(2**63), -1, 2**63, 0),  # int64 overflow in C; exact here
    (-(2**63), 0, 0, 0),
    (2**100 + 1, -(2**50), -(2**50), 1),
]


@pytest.mark.parametrize("a,b,q,r", CASES)
def test_semantics(a: int, b: int, q: int, r: int) -> None:
    assert euclid_div(a, b) == q
    assert euclid_mod(a, b) == r
    if b != 0:
        assert a == q * b + r and 0 <= r < abs(b)


@pytest.mark.parametrize("op", ["div", "safe_div", "mod", "safe_mod"])
@pytest.mark.parametrize("a,b,q,r", CASES)
def test_every_backend(op: str, a: int, b: int, q: int, r: int) -> None:
    want = q if "div" in op else r
    term = Op(op, (Var("a"), Var("b")))
    env = {"a": a, "b": b}
    assert evaluate(term, env) == want
    assert evaluate_batch(term, {"a": np.array([a], dtype=object), "b": np.array([b])}).tolist() == [want]
    assert z3_value_to_py(z3.simplify(to_z3(term, {"a": z3.IntVal(a), "b": z3.IntVal(b)}))) == want
    width = max(abs(a), abs(b), abs(want)).bit_length() + 2
    bv = to_z3_bv(term, {"a": z3.BitVecVal(a, width), "b": z3.BitVecVal(b, width)}, width)
    assert z3_value_to_py(z3.simplify(bv)) == want


def test_z3_int_div_mod_are_euclidean_and_zero_is_open() -> None:
    """Z3's Int `/` and `%` are SMT-LIB div/mod (Euclidean); x/0 is unconstrained."""
    x = z3.Int("x")
    assert z3.simplify(z3.IntVal(-7) / z3.IntVal(-2)).as_long() == 4
    assert z3.simplify(z3.IntVal(7) / z3.IntVal(-2)).as_long() == -3
    assert z3.simplify(z3.IntVal(-7) % z3.IntVal(-2)).as_long() == 1
    s = z3.Solver()
    s.add(x / 0 != 0)
    assert s.check() == z3.sat  # why the encoding guards the zero divisor
    s = z3.Solver()
    s.add(to_z3(parse_term("(div x 0)"), {"x": x}) != 0)
    assert s.check() == z3.unsat


def test_exact_nary_and_unary() -> None:
    env = {"x": 10, "y": 3, "z": -4}
    assert evaluate(parse_term("(- x y z)"), env) == 11
    assert evaluate(parse_term("(- x)"), env) == -10
    assert evaluate(parse_term("(min x y z)"), env) == -4
    assert evaluate(parse_term("(max x y z)"), env) == 10
    assert evaluate(parse_term("(xor true true true)"), env) is True
    assert evaluate(parse_term("(=> false (< x 0))"), env) is True
    with pytest.raises(EvalError):
        evaluate(parse_term("(+ x w)"), env)
