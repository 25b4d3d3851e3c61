"""The operator table: one entry per operator, read by the parser, evaluators and encoders."""
from __future__ import annotations

import numpy as np
import pytest
import z3

from esso_ngs.lang import ops
from esso_ngs.lang.batched import evaluate_batch
from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.expr import OPERATORS, Const, Op, Var
from esso_ngs.lang.sexpr import TermSyntaxError, parse_term
from esso_ngs.lang.z3enc import to_z3
from esso_ngs.formats.sorts import infer


@pytest.fixture
def clamp():
    """`(clamp x lo hi)` defined at run time, as a SyGuS define-fun would be."""
    body = parse_term("(ite (< x lo) lo (ite (> x hi) hi x))")
    op = ops.define("clamp", ("x", "lo", "hi"), (ops.INT, ops.INT, ops.INT), ops.INT, body)
    yield op
    ops.undefine("clamp")


def test_every_builtin_has_its_hooks():
    assert OPERATORS == ops.BUILTIN_NAMES
    for name in OPERATORS:
        op = ops.TABLE[name]
        assert op.exact is not None
        assert op.family != "divmod" or op.z3 is None  # width-specific: the encoders build it
        assert op.family == "divmod" or (op.ufunc is not None and op.z3 is not None)


def test_a_defined_operator_is_one_entry(clamp):
    term = parse_term("(clamp (+ a 1) 0 10)")
    assert term == Op("clamp", (Op("+", (Var("a"), Const(1))), Const(0), Const(10)))
    assert [evaluate(term, {"a": a}) for a in (-5, 4, 20)] == [0, 5, 10]
    batch = evaluate_batch(term, {"a": np.array([-5, 4, 20])})
    assert batch.tolist() == [0, 5, 10]
    a = z3.Int("a")
    s = z3.Solver()
    s.add(a == 20, to_z3(term, {"a": a}) != 10)
    assert s.check() == z3.unsat
    assert infer(term, {"a": ops.INT}) == ops.INT
    with pytest.raises(TermSyntaxError, match="clamp takes 3 arguments"):
        parse_term("(clamp a 1)")


def test_define_refuses_builtins_and_conflicts(clamp):
    with pytest.raises(ValueError):
        ops.define("min", ("a", "b"), (ops.INT, ops.INT), ops.INT, Var("a"))
    assert ops.define("clamp", clamp.params, clamp.param_sorts, ops.INT, clamp.body) == clamp
    with pytest.raises(ValueError):
        ops.define("clamp", ("x",), (ops.INT,), ops.INT, Var("x"))
