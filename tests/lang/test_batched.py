"""The batched evaluator: dtypes, overflow fallback, broadcasting, helpers."""
from __future__ import annotations

import itertools

import numpy as np
import pytest

from esso_ngs.lang.batched import (
    I64_MAX,
    I64_MIN,
    BatchEnv,
    apply_batch,
    batch_value,
    column_value,
    evaluate_batch,
    evaluate_many,
    ite_batch,
    same_values,
    scalar_value,
    value_key,
)
from esso_ngs.lang.evaluate import EvalError, evaluate
from esso_ngs.lang.expr import EnumLit, Hole
from esso_ngs.lang.sexpr import parse_term


def exact(term: str, columns: dict[str, list[int]]) -> list[object]:
    e = parse_term(term)
    n = len(next(iter(columns.values())))
    return [evaluate(e, {k: v[i] for k, v in columns.items()}) for i in range(n)]


def check(term: str, columns: dict[str, list[int]]) -> np.ndarray:
    got = evaluate_batch(parse_term(term), {k: np.array(v, dtype=object) for k, v in columns.items()})
    assert got.tolist() == exact(term, columns), term
    return got


SMALL = {"x": [7, -7, -7, 7, 0, 5, -1], "y": [-2, 2, -2, 0, 3, 0, -1]}


@pytest.mark.parametrize(
    "term",
    [
        "(div x y)", "(mod x y)", "(safe_div x y)", "(safe_mod x y)", "(div x 3)", "(mod x -3)",
        "(div 7 y)", "(mod -7 y)", "(div x 0)", "(mod x 0)", "(- x)", "(- x y 3)", "(+ x y 1)",
        "(* x y -2)", "(min x y 0)", "(max x y 0)", "(ite (< x y) x y)", "(ite (= y 0) 1 (div x y))",
        "(xor (< x 0) (< y 0) (= x y))", "(=> (< x 0) (< y 0))", "(and (<= x 5) (>= y -1))",
        "(or (> x 5) (!= y 0))", "(not (= x y))", "(= (< x 0) (< y 0))",
    ],
)
def test_small_values_stay_int64(term: str) -> None:
    got = check(term, SMALL)
    assert got.dtype in (np.int64, np.bool_)
    assert got.shape == (7,)


BIG = {
    "x": [2**62, -(2**62), I64_MAX, I64_MIN, 2**70, -(2**70), 3, 0],
    "y": [2, -1, 2, -1, -(2**35), 3, I64_MIN, 0],
}


@pytest.mark.parametrize(
    "term",
    [
        "(+ x x)", "(- x y)", "(* x y)", "(- x)", "(div x y)", "(mod x y)", "(div x -1)",
        "(min x y)", "(max x 99999999999999999999999)", "(ite (< x 0) (* x x) (- x))",
        "(< x 100000000000000000000)", "(= (* x 2) (+ x x))", "(div (* x y) y)", "(mod (* x x) 7)",
    ],
)
def test_big_values_are_exact(term: str) -> None:
    check(term, BIG)


def test_overflow_falls_back_and_comes_back() -> None:
    x = np.array([2**62, 3], dtype=np.int64)
    assert evaluate_batch(parse_term("(* x 4)"), {"x": x}).dtype == object
    # The product overflows int64, the quotient does not: back to int64.
    got = evaluate_batch(parse_term("(div (* x 4) 8)"), {"x": x})
    assert got.dtype == np.int64 and got.tolist() == [2**61, 1]
    # Negating int64 min needs 64 bits.
    got = evaluate_batch(parse_term("(- x)"), {"x": np.array([I64_MIN, 0])})
    assert got.tolist() == [2**63, 0]


def test_loose_bounds_are_tightened_not_escalated() -> None:
    # Bounds of x from its column; (- x x) has propagated bounds [-2M, 2M] (loose) which
    # overflow, but the actual values are fine.
    x = np.array([2**62 + 5, 2**62 - 1])
    v = batch_value(parse_term("(- x 1)"), BatchEnv({"x": x}))
    assert isinstance(v.data, np.ndarray) and v.data.dtype == np.int64
    got = evaluate_batch(parse_term("(+ (- x 4611686018427387904) (- x 4611686018427387904))"), {"x": x})
    assert got.dtype == np.int64 and got.tolist() == [10, -2]


def test_int64_min_by_minus_one() -> None:
    got = evaluate_batch(parse_term("(div x y)"), {"x": [I64_MIN, I64_MIN], "y": [-1, 1]})
    assert got.tolist() == [2**63, I64_MIN]
    got = evaluate_batch(parse_term("(mod x y)"), {"x": [I64_MIN, I64_MIN, 5], "y": [-1, I64_MIN, I64_MIN]})
    assert got.tolist() == [0, 0, 5]


def test_no_warnings_on_zero_divisor() -> None:
    with np.errstate(all="raise"):
        got = evaluate_batch(parse_term("(ite (= y 0) 0 (div x y))"), {"x": [1, 2], "y": [0, 2]})
    assert got.tolist() == [0, 1]


def test_constants_broadcast_and_scalars_fold() -> None:
    got = evaluate_batch(parse_term("(+ 1 2)"), {"x": [1, 2, 3]})
    assert got.dtype == np.int64 and got.tolist() == [3, 3, 3]
    assert evaluate_batch(parse_term("(< 1 2)"), {}, size=4).tolist() == [True] * 4
    assert evaluate_batch(parse_term("(* 99999999999 99999999999)"), {}, size=2).dtype == object
    assert evaluate_batch(parse_term("7"), {}).tolist() == [7]  # no columns: one input
    # A constant condition selects one branch.
    v = batch_value(parse_term("(ite (< 1 2) x 5)"), BatchEnv({"x": [4, 5]}))
    assert v.lo == 4 and v.hi == 5


def test_enums_and_errors() -> None:
    enums = {"A": 0, "B": 1}
    got = evaluate_batch(parse_term("(ite (= d 1) x 0)"), {"d": [0, 1], "x": [5, 6]}, enums)
    assert got.tolist() == [0, 6]
    assert evaluate_batch(EnumLit("B"), {"d": [0, 1]}, enums).tolist() == [1, 1]
    # Grammars write enum symbols as bare atoms: a name that is no column but a symbol.
    assert evaluate_batch(parse_term("(= d B)"), {"d": [0, 1]}, enums).tolist() == [False, True]
    with pytest.raises(EvalError):
        evaluate_batch(parse_term("(+ x w)"), {"x": [1]})
    with pytest.raises(EvalError):
        evaluate_batch(EnumLit("C"), {"x": [1]}, enums)
    with pytest.raises(EvalError):
        evaluate_batch(Hole("h"), {"x": [1]})


def test_column_validation() -> None:
    with pytest.raises(ValueError):
        BatchEnv({"x": [1, 2], "y": [1]})
    with pytest.raises(ValueError):
        BatchEnv({"x": [[1, 2]]})
    with pytest.raises(ValueError):
        BatchEnv({"x": [1, 2]}, size=3)
    with pytest.raises(TypeError):
        BatchEnv({"x": np.array([1.5])})
    assert column_value(np.array([2**64], dtype=object)).data.dtype == object
    assert column_value(np.array([2**63], dtype=np.uint64)).data.dtype == object
    assert column_value(np.array([1, 2], dtype=np.int32)).data.dtype == np.int64
    assert column_value([True, False]).data.dtype == np.bool_


def test_empty_batch() -> None:
    got = evaluate_batch(parse_term("(div x y)"), {"x": np.array([], dtype=np.int64), "y": []})
    assert got.shape == (0,)


def test_evaluate_many_shares_subterms() -> None:
    cols = {"x": [1, 2, 3], "y": [3, 0, -3]}
    terms = [parse_term(t) for t in ("(* x y)", "(+ (* x y) 1)", "(< (* x y) 0)")]
    got = evaluate_many(terms, cols)
    assert [g.tolist() for g in got] == [[3, 0, -9], [4, 1, -8], [False, False, True]]
    env = BatchEnv(cols)
    assert evaluate_batch(terms[1], env).tolist() == [4, 1, -8]


def test_apply_batch_bottom_up() -> None:
    env = BatchEnv({"x": [1, 2, 3]})
    x = env.values["x"]
    prod = apply_batch("*", [x, scalar_value(10)])
    assert prod.lo == 10 and prod.hi == 30
    cond = apply_batch("<", [prod, scalar_value(25)])
    out = ite_batch(cond, prod, scalar_value(-1))
    assert out.data.tolist() == [10, 20, -1]


def test_same_values_and_keys() -> None:
    a = np.array([1, 2, 3], dtype=np.int64)
    b = np.array([1, 2, 3], dtype=object)
    c = np.array([True, False, True])
    assert same_values(a, a.copy()) and same_values(a, b)
    assert not same_values(a, np.array([1, 2, 4]))
    assert not same_values(np.array([1, 0, 1]), c)
    assert not same_values(a, a[:2])
    assert value_key(a) == value_key(b) != value_key(np.array([1, 2, 4]))
    assert value_key(np.array([1, 0, 1])) != value_key(c)
    big = np.array([2**70, 1], dtype=object)
    assert value_key(big) == value_key(np.array([2**70, 1], dtype=object)) != value_key(a[:2])


def test_exhaustive_small_div_mod_against_exact() -> None:
    vals = list(range(-9, 10))
    pairs = list(itertools.product(vals, vals))
    cols = {"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]}
    for op in ("div", "mod"):
        check(f"({op} a b)", cols)
        check(f"({op} a 4)", cols)
        check(f"({op} a -4)", cols)
        check(f"({op} -7 b)", cols)


@pytest.mark.parametrize(
    "term",
    ["(div x y)", "(mod x y)", "(div x 3)", "(mod x -3)", "(ite (= y 0) 1 (div x y))", "(- x y 3)", "(min x y 0)",
     "(xor (< x 0) (< y 0) (= x y))", "(=> (< x 0) (< y 0))", "(* x y)", "(- x)", "(+ 1 2)", "(< 1 2)"],
)
def test_torch_matches_numpy(term: str) -> None:
    pytest.importorskip("torch")
    from esso_ngs.lang.batched_torch import evaluate_batch_torch

    for cols in (SMALL, BIG):
        e = parse_term(term)
        want = evaluate_batch(e, {k: np.array(v, dtype=object) for k, v in cols.items()})
        got = evaluate_batch_torch(e, {k: np.array(v, dtype=object) for k, v in cols.items()}, device="cpu")
        assert got.tolist() == want.tolist(), term


def test_torch_tensor_columns_and_fallback() -> None:
    torch = pytest.importorskip("torch")
    from esso_ngs.lang.batched_torch import evaluate_batch_torch

    x = torch.tensor([2**62, -5, 0], dtype=torch.int64)
    y = torch.tensor([3, 0, -2], dtype=torch.int64)
    got = evaluate_batch_torch(parse_term("(div x y)"), {"x": x, "y": y})
    assert isinstance(got, torch.Tensor) and got.tolist() == [1537228672809129301, 0, 0]
    big = evaluate_batch_torch(parse_term("(* x 4)"), {"x": x})  # leaves int64: exact numpy path
    assert isinstance(big, np.ndarray) and big.tolist() == [2**64, -20, 0]
    enum_atom = evaluate_batch_torch(parse_term("(ite (= y B) x 0)"), {"x": x, "y": y}, {"A": 0, "B": 3})
    assert enum_atom.tolist() == [2**62, 0, 0]
    back = evaluate_batch_torch(parse_term("(div (* x 4) 8)"), {"x": x})
    assert isinstance(back, torch.Tensor) and back.tolist() == [2**61, -3, 0]


def test_divmod_bounds_sound_exhaustive() -> None:
    """The int64 path's own div/mod bounds contain every value (all small ranges)."""
    ranges = [(lo, hi) for lo in range(-5, 6) for hi in range(lo, 6)]
    for (alo, ahi), (blo, bhi) in itertools.product(ranges, ranges):
        if (blo, bhi) == (0, 0):
            continue
        pairs = list(itertools.product(range(alo, ahi + 1), range(blo, bhi + 1)))
        a = column_value(np.array([p[0] for p in pairs]))
        b = column_value(np.array([p[1] for p in pairs]))
        for op in ("div", "mod"):
            v = apply_batch(op, [a, b])
            data = np.asarray(v.data)
            assert v.lo <= data.min() and data.max() <= v.hi, (op, (alo, ahi), (blo, bhi), v.lo, v.hi)
