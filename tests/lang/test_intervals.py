"""Interval analysis: soundness of every transfer function, and bit widths."""
from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest

from esso_ngs.lang.evaluate import apply_op
from esso_ngs.lang.intervals import (
    Interval,
    bit_width_for,
    interval,
    iv_add,
    iv_div,
    iv_max,
    iv_min,
    iv_mod,
    iv_mul,
    iv_neg,
    iv_sub,
    op_interval,
)
from esso_ngs.lang.sexpr import parse_term

R = 4
SMALL_IVS = [(lo, hi) for lo in range(-R, R + 1) for hi in range(lo, R + 1)]
BINARY: dict[str, Callable[[Interval, Interval], Interval]] = {
    "+": iv_add, "-": iv_sub, "*": iv_mul, "min": iv_min, "max": iv_max, "div": iv_div, "mod": iv_mod,
}


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_sound_exhaustive(op: str) -> None:
    fn = BINARY[op]
    for a, b in itertools.product(SMALL_IVS, SMALL_IVS):
        lo, hi = fn(a, b)
        vals = [apply_op(op, [x, y]) for x in range(a[0], a[1] + 1) for y in range(b[0], b[1] + 1)]
        assert lo <= min(vals) and max(vals) <= hi, (op, a, b, (lo, hi))
        if op in ("+", "-", "*", "min", "max"):  # these are exact hulls
            assert (lo, hi) == (min(vals), max(vals)), (op, a, b)


def test_div_mod_reasonably_tight() -> None:
    assert iv_div((0, 100), (1, 10)) == (0, 100)
    assert iv_div((0, 100), (10, 10)) == (0, 10)
    assert iv_div((-7, -7), (2, 2)) == (-4, -4)
    assert iv_div((-7, -7), (-2, -2)) == (4, 4)
    assert iv_div((5, 9), (0, 0)) == (0, 0)
    assert iv_mod((0, 100), (7, 7)) == (0, 6)
    assert iv_mod((0, 5), (7, 9)) == (0, 5)
    assert iv_mod((3, 5), (7, 9)) == (3, 5)
    assert iv_mod((-100, 100), (-7, 7)) == (0, 6)


UNBOUNDED_IVS: list[Interval] = [
    (None, None), (None, 0), (None, -3), (None, 5), (0, None), (-3, None), (4, None), (-2, 2), (0, 0), (-5, -1), (1, 7),
]


def _members(iv: Interval, limit: int = 40) -> range:
    lo = -limit if iv[0] is None else iv[0]
    hi = limit if iv[1] is None else iv[1]
    return range(lo, hi + 1)


def _inside(v: int, iv: Interval) -> bool:
    return (iv[0] is None or iv[0] <= v) and (iv[1] is None or v <= iv[1])


@pytest.mark.parametrize("op", sorted(BINARY))
def test_binary_sound_with_unbounded_ends(op: str) -> None:
    fn = BINARY[op]
    for a, b in itertools.product(UNBOUNDED_IVS, UNBOUNDED_IVS):
        out = fn(a, b)
        for x in _members(a):
            for y in _members(b):
                assert _inside(apply_op(op, [x, y]), out), (op, a, b, out, x, y)


def test_unbounded_results() -> None:
    assert iv_mul((0, None), (-1, 1)) == (None, None)
    assert iv_mul((0, None), (0, 0)) == (0, 0)
    assert iv_add((0, None), (1, 2)) == (1, None)
    assert iv_neg((None, 3)) == (-3, None)
    assert iv_div((None, None), (2, None)) == (None, None)
    assert iv_div((0, 10), (None, None)) == (-10, 10)
    assert iv_mod((None, None), (None, None)) == (0, None)
    assert iv_mod((None, None), (-5, 3)) == (0, 4)
    # Huge bounds next to infinities must not go through floats.
    assert iv_add((10**400, None), (1, 1)) == (10**400 + 1, None)
    assert iv_mul((10**400, None), (2, 3)) == (2 * 10**400, None)


def test_terms() -> None:
    b = {"x": (0, 100), "y": (-5, 5)}
    assert interval(parse_term("(+ x y 1)"), b) == (-4, 106)
    assert interval(parse_term("(- x)"), b) == (-100, 0)
    assert interval(parse_term("(ite (< x y) x y)"), b) == (-5, 100)
    assert interval(parse_term("(min x y 3)"), b) == (-5, 3)
    assert interval(parse_term("(safe_div x 10)"), b) == (0, 10)
    assert interval(parse_term("(< x y)"), b) == (0, 1)
    assert interval(parse_term("(+ x w)"), b) == (None, None)
    assert interval(parse_term("(+ x E)"), b, {"E": 2}) == (2, 102)  # enum symbol as a bare atom
    assert op_interval("*", [(2, 3), (4, 5), (-1, 1)]) == (-15, 15)


def test_bit_width_for() -> None:
    b = {"x": (0, 100), "y": (0, 100), "c": (-200, -200)}
    assert bit_width_for([parse_term("(+ x y)")], b) == 9 + 1  # 200 needs 9 signed bits
    assert bit_width_for([parse_term("(+ x y)")], b, margin=0) == 9
    # The fold partial x + y (up to 200) counts even though the sum is <= 0.
    assert bit_width_for([parse_term("(+ x y c)")], b) == 10
    assert bit_width_for([parse_term("x")], {"x": (-128, 127)}) == 9
    assert bit_width_for([parse_term("x")], {"x": (-129, 0)}) == 10
    assert bit_width_for([parse_term("(< x w)")], b) is None
    # Boolean vars are not in the bounds, and need none.
    assert bit_width_for([parse_term("(ite flag x y)")], b) == 9
    assert bit_width_for([parse_term("(and p (=> q (< x 1)))")], b) == 9
    assert bit_width_for([parse_term("(= p (< x 1))")], b) == 9
    # The widest of several terms.
    assert bit_width_for([parse_term("x"), parse_term("(* x y)")], b) == 15 + 1
    assert bit_width_for([], b) == 2
