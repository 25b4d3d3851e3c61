"""Property tests: exact == batched == Z3 Int == Z3 BV on random terms and inputs.

Also: interval analysis contains every exact value, and the bit-vector encoding of
Euclidean div/mod is proved equal to the Int one for all in-range operands.
"""
from __future__ import annotations

from functools import cache

import numpy as np
import z3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from esso_ngs.lang.batched import BatchEnv, batch_value, evaluate_batch
from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.expr import BoolLit, Const, Expr, Ite, Op, Var
from esso_ngs.lang.intervals import bit_width_for, interval
from esso_ngs.lang.sexpr import parse_term, to_sexpr
from esso_ngs.lang.z3enc import to_z3, to_z3_bv, z3_value_to_py

try:
    import torch

    from esso_ngs.lang.batched_torch import evaluate_batch_torch
except ImportError:  # torch is optional
    torch = None

VARS = ("x", "y", "z")
BIG = [2**31, 2**62, -(2**62), 2**62 + 1, 2**63 - 1, -(2**63), 2**63, 2**64 + 3, -(10**20)]
CONSTS = st.one_of(
    st.integers(-12, 12),
    st.sampled_from([0, 1, -1, 2, -2, 100, 10000, -10000]),
    st.sampled_from(BIG),
)
INT_NARY = ("+", "-", "*", "min", "max")
INT_BINARY = ("div", "mod", "safe_div", "safe_mod")
COMPARE = ("=", "!=", "<", "<=", ">", ">=")


@cache
def int_terms(depth: int) -> st.SearchStrategy[Expr]:
    leaf = st.one_of(st.sampled_from(VARS).map(Var), CONSTS.map(Const))
    if depth == 0:
        return leaf
    sub = int_terms(depth - 1)
    return st.one_of(
        leaf,
        st.tuples(st.sampled_from(INT_NARY), st.lists(sub, min_size=2, max_size=3)).map(
            lambda t: Op(t[0], tuple(t[1]))
        ),
        sub.map(lambda a: Op("-", (a,))),
        st.tuples(st.sampled_from(INT_BINARY), sub, sub).map(lambda t: Op(t[0], (t[1], t[2]))),
        st.tuples(bool_terms(depth - 1), sub, sub).map(lambda t: Ite(*t)),
    )


@cache
def bool_terms(depth: int) -> st.SearchStrategy[Expr]:
    ints = int_terms(max(depth - 1, 0))
    compare = st.tuples(st.sampled_from(COMPARE), ints, ints).map(lambda t: Op(t[0], (t[1], t[2])))
    if depth == 0:
        return st.one_of(st.booleans().map(BoolLit), compare)
    sub = bool_terms(depth - 1)
    return st.one_of(
        compare,
        st.booleans().map(BoolLit),
        st.tuples(st.sampled_from(("and", "or", "xor")), st.lists(sub, min_size=1, max_size=3)).map(
            lambda t: Op(t[0], tuple(t[1]))
        ),
        sub.map(lambda a: Op("not", (a,))),
        st.tuples(sub, sub).map(lambda t: Op("=>", t)),
        st.tuples(sub, sub).map(lambda t: Op("=", t)),
        st.tuples(bool_terms(depth - 1), sub, sub).map(lambda t: Ite(*t)),
    )


TERMS = st.one_of(int_terms(4), bool_terms(3))
SMALL_VALUES = st.integers(-20, 20)
ANY_VALUES = st.one_of(st.integers(-20, 20), st.sampled_from(BIG), st.integers(-(2**70), 2**70))


def batches(values: st.SearchStrategy[int]) -> st.SearchStrategy[list[dict[str, int]]]:
    row = st.fixed_dictionaries({v: values for v in VARS})
    return st.lists(row, min_size=1, max_size=8)


def check_agreement(e: Expr, rows: list[dict[str, int]]) -> None:
    expected = [evaluate(e, r) for r in rows]
    text = to_sexpr(e)

    columns = {v: np.array([r[v] for r in rows], dtype=object) for v in VARS}
    got = evaluate_batch(e, columns)
    assert got.tolist() == expected, text
    if got.dtype == object:  # canonical dtype: object only when int64 cannot hold it
        assert any(not -(2**63) <= int(g) < 2**63 for g in got), text
    value = batch_value(e, BatchEnv(columns))  # the bounds the evaluator relies on are sound
    if value.lo is not None:
        assert value.lo <= min(expected) and max(expected) <= value.hi, (text, value.lo, value.hi)
    if torch is not None:
        t = evaluate_batch_torch(e, columns, device="cpu")
        assert t.tolist() == expected, text

    bounds = {v: (min(r[v] for r in rows), max(r[v] for r in rows)) for v in VARS}
    lo, hi = interval(e, bounds)
    for value in expected:
        assert (lo is None or lo <= value) and (hi is None or value <= hi), (text, (lo, hi), value)

    width = bit_width_for([e], bounds)
    for row, want in zip(rows, expected):
        ints = to_z3(e, {v: z3.IntVal(row[v]) for v in VARS})
        assert z3_value_to_py(z3.simplify(ints)) == want, text
        if width is not None:
            bvs = to_z3_bv(e, {v: z3.BitVecVal(row[v], width) for v in VARS}, width)
            assert z3_value_to_py(z3.simplify(bvs)) == want, (text, width)


SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(TERMS, batches(SMALL_VALUES))
def test_agreement_small_inputs(e: Expr, rows: list[dict[str, int]]) -> None:
    check_agreement(e, rows)


@SETTINGS
@given(TERMS, batches(ANY_VALUES))
def test_agreement_big_inputs(e: Expr, rows: list[dict[str, int]]) -> None:
    check_agreement(e, rows)


@settings(max_examples=60, deadline=None)
@given(int_terms(3), st.lists(st.integers(-(2**62), 2**62), min_size=50, max_size=200))
def test_batched_large_batch_int64_columns(e: Expr, xs: list[int]) -> None:
    """int64 input columns (the common case) on a bigger batch, values near 2**62."""
    n = len(xs)
    cols = {"x": np.array(xs, dtype=np.int64), "y": np.array(xs[::-1], dtype=np.int64), "z": np.arange(n) - n // 2}
    got = evaluate_batch(e, cols).tolist()
    for i in range(0, n, 7):
        assert got[i] == evaluate(e, {k: int(v[i]) for k, v in cols.items()}), to_sexpr(e)


def test_bv_euclid_proved_for_all_in_range_operands() -> None:
    """For every a, b within bounds, the BV quotient/remainder satisfy the definition.

    The definition (b = 0: q = r = 0; else a = q*b + r and 0 <= r < |b|) is checked in
    a wider width where nothing overflows, so it is independent of the encoding.
    (Stating it against the Int encoding through BV2Int makes Z3 hang: nonlinear.)
    """
    bounds = {"a": (-120, 120), "b": (-16, 16)}
    width = bit_width_for([parse_term("(div a b)"), parse_term("(mod a b)")], bounds)
    assert width is not None
    a, b = z3.BitVecs("a b", width)
    env = {"a": a, "b": b}
    q = to_z3_bv(parse_term("(div a b)"), env, width)
    r = to_z3_bv(parse_term("(mod a b)"), env, width)
    wide = 2 * width + 2
    A, B, Q, R = (z3.SignExt(wide - width, t) for t in (a, b, q, r))
    absb = z3.If(B < 0, -B, B)
    spec = z3.If(B == 0, z3.And(Q == 0, R == 0), z3.And(A == Q * B + R, R >= 0, R < absb))
    s = z3.Solver()
    for name, var in env.items():
        lo, hi = bounds[name]
        s.add(var >= lo, var <= hi)
    s.add(z3.Not(spec))
    assert s.check() == z3.unsat, s.model()
    # The same encodings agree with safe_div/safe_mod.
    for op, ref in (("safe_div", q), ("safe_mod", r)):
        s = z3.Solver()
        s.add(a >= -120, a <= 120, b >= -16, b <= 16, to_z3_bv(parse_term(f"({op} a b)"), env, width) != ref)
        assert s.check() == z3.unsat


def test_bv_euclid_exhaustive_small_width() -> None:
    """Every operand pair of a 6-bit width (operands within the margin)."""
    w = 6
    lo, hi = -(1 << (w - 2)), (1 << (w - 2)) - 1
    a, b = z3.BitVecs("a b", w)
    from esso_ngs.lang.semantics import euclid_div, euclid_mod

    for op, fn in (("div", euclid_div), ("mod", euclid_mod)):
        enc = to_z3_bv(parse_term(f"({op} a b)"), {"a": a, "b": b}, w)
        for x in range(lo, hi + 1):
            for y in range(lo, hi + 1):
                sub = z3.substitute(enc, (a, z3.BitVecVal(x, w)), (b, z3.BitVecVal(y, w)))
                assert z3_value_to_py(z3.simplify(sub)) == fn(x, y), (op, x, y)
