"""Hint repair against a brute-force oracle on a small grammar: the neighbour SETS
within one and two edits, the guard wraps, their order, and the edge cases (Bool
leaves, unknown names, over-profile hints, an empty example set)."""
from __future__ import annotations

from typing import Callable

import numpy as np
import pytest

from esso_ngs.formats.model import GrammarSpec, Penalties, StyleProfile
from esso_ngs.grammar import compile_grammar, style_metrics
from esso_ngs.lang.batched import BatchEnv, BatchValue, batch_value, to_array
from esso_ngs.lang.evaluate import EvalError
from esso_ngs.lang.expr import (
    ARITH_BINARY, ARITH_NARY, COMPARE, LOGIC_BINARY, LOGIC_NARY, Const, Expr, Ite, Op, children, replace_at, walk)
from esso_ngs.lang.sexpr import parse_term, to_sexpr
from esso_ngs.synth.enumerate import Limits
from esso_ngs.synth.repair import Neighbour, Repairer

STYLE = StyleProfile(max_ast_nodes=30)
SORTS = {"x": "Int", "y": "Int", "flag": "Bool"}
SMALL = GrammarSpec("G", "E", (
    ("E", ("V", "C", "(+ E E)", "(- E E)", "(* E E)", "(safe_div E E)", "(ite B E E)")),
    ("V", ("x", "y")),
    ("C", ("0", "1")),
    ("B", ("flag", "(<= E E)", "(= E E)")),
))
ENV = BatchEnv({"x": np.array([0, 3, -2, 7, 5, 1]), "y": np.array([4, 3, 6, -1, 0, 2]),
                "flag": np.array([True, False, True, False, True, False])})
EachCheck = Callable[[BatchValue, int], np.ndarray]


def _everywhere(v: BatchValue, m: int) -> np.ndarray:
    return np.ones((m, ENV.size), dtype=np.bool_)


def _positive(v: BatchValue, m: int) -> np.ndarray:
    return np.broadcast_to(np.asarray(v.data) > 0, (m, ENV.size))


def _equals(target: str) -> EachCheck:
    want = to_array(batch_value(parse_term(target), ENV), ENV.size)
    return lambda v, m: np.broadcast_to(np.asarray(v.data), (m, ENV.size)) == want


def _repairer(g_spec: GrammarSpec = SMALL, env: BatchEnv = ENV) -> Repairer:
    g = compile_grammar(g_spec, STYLE, SORTS)
    return Repairer(g, env, Limits.of(STYLE))


# ------------------------------------------------------------------ the oracle
def _sort(e: Expr, env: BatchEnv) -> str | None:
    try:
        with np.errstate(all="ignore"):
            return "bool" if batch_value(e, env).lo is None else "int"
    except (EvalError, TypeError, ValueError):
        return None


def _family(op: str, arity: int) -> frozenset[str]:
    for nary, binary in ((ARITH_NARY, ARITH_BINARY), (LOGIC_NARY, LOGIC_BINARY)):
        if op in nary or op in binary:
            return nary | binary if arity == 2 else nary
    return COMPARE if op in COMPARE else frozenset()


def _moves(t: Expr, r: Repairer) -> set[Expr]:
    """Every term one edit (leaf, operator, ite: not the swap of two leaves) from `t`,
    as the docstring of repair.py defines the edits, written the plainest way."""
    out: set[Expr] = set()
    for p, s in walk(t):
        kids = children(s)
        if not kids:
            pool = r.bool_atoms if _sort(s, r.env) == "bool" else r.int_atoms
            out |= {replace_at(t, p, a) for a in pool if a != s}
        elif isinstance(s, Op):
            out |= {replace_at(t, p, Op(o, s.args)) for o in _family(s.op, len(kids)) & r.ops if o != s.op}
        elif isinstance(s, Ite):
            out |= {replace_at(t, p, x) for x in (s.then, s.else_, Ite(s.cond, s.else_, s.then))}
    return out


def _swaps(t: Expr, env: BatchEnv) -> set[Expr]:
    leaves = [(p, s) for p, s in walk(t) if not children(s)]
    return {replace_at(replace_at(t, p, b), q, a) for i, (p, a) in enumerate(leaves) for q, b in leaves[i + 1:]
            if a != b and _sort(a, env) == _sort(b, env)}


def _passes(t: Expr, each: EachCheck, env: BatchEnv) -> bool:
    try:
        with np.errstate(all="ignore"):
            v = batch_value(t, env)
    except (EvalError, TypeError, ValueError):
        return False
    return bool(each(BatchValue(to_array(v, env.size)[None, :], v.lo, v.hi), 1).all())


def oracle(hint: Expr, r: Repairer, each: EachCheck) -> dict[str, int]:
    """The terms within two edits of `hint` (a swap of two leaves of one sort counts
    one) that pass `each`, by canonical text, with their distance."""
    one = _moves(hint, r) | _swaps(hint, r.env)
    two = {u for t in _moves(hint, r) for u in _moves(t, r)} - one - {hint}
    return {**{to_sexpr(t): 2 for t in two if _passes(t, each, r.env)},
            **{to_sexpr(t): 1 for t in one - {hint} if _passes(t, each, r.env)}}


def edit_neighbours(hint: Expr, r: Repairer, each: EachCheck) -> list[Neighbour]:
    return [n for n in r.neighbours(hint, each, 1_000_000)[0] if not _is_wrap(n.term, hint)]


def _is_wrap(t: Expr, hint: Expr) -> bool:
    """A guard wrap: the hint with one subterm `s` become `(ite C s X)` or `(ite C X s)`."""
    for p, s in walk(hint):
        try:
            w = next(w for q, w in walk(t) if q == p)
        except StopIteration:
            continue
        if isinstance(w, Ite) and s in (w.then, w.else_) and replace_at(t, p, s) == hint:
            return True
    return False


HINTS = [
    "(ite (<= x y) (+ x 1) (safe_div y x))",
    "(ite flag x (- y 1))",
    "(* (+ x y) (- x 1))",
    "(ite (= x 0) y (ite flag x 1))",
    "(ite (<= y x) (+ y 1) (+ y 1))",  # its swapped branches are the hint itself
    "(safe_div (+ x 7) y)",  # a constant the grammar lacks
    "(+ z (* x 1))",  # a name the examples lack
]


# Values past int64 (exact Python ints, object arrays) beside int64 ones.
HUGE = GrammarSpec("G", "E", (
    ("E", ("V", "C", "(+ E E)", "(* E E)", "(safe_div E E)", "(ite B E E)")),
    ("V", ("x", "y")),
    ("C", ("0", "1000000000000")),
    ("B", ("flag", "(<= E E)")),
))
HUGE_ENV = BatchEnv({"x": np.array([0, 3, -2, 7 * 10**9, 5, 10**10]), "y": np.array([4, 3, 0, -1, 0, 10**9]),
                     "flag": np.array([True, False, True, False, True, False])})


@pytest.mark.parametrize("hint,g_spec,env", [*((h, SMALL, ENV) for h in HINTS),
                                             ("(safe_div (* x 1000000000000) (+ y x))", HUGE, HUGE_ENV),
                                             ("(ite flag (* x y) (safe_div 1000000000000 y))", HUGE, HUGE_ENV)])
def test_one_and_two_edit_neighbours_are_exactly_the_oracles(hint: str, g_spec: GrammarSpec, env: BatchEnv) -> None:
    """With a goal every term passes, the neighbours found are all the terms within two
    edits, none missing, none extra, each at its distance (with constants and names
    outside the grammar, division by zero, and values past int64)."""
    r = _repairer(g_spec, env)
    term = parse_term(hint)
    got = {to_sexpr(n.term): n.edits for n in edit_neighbours(term, r, _everywhere)}
    want = oracle(term, r, _everywhere)
    assert sorted(set(want) - set(got)) == [] and sorted(set(got) - set(want)) == []
    assert got == want


def test_two_leaves_swapped_are_one_edit_beside_a_bool_leaf() -> None:
    """A hint with a Bool leaf (an ite on a flag): swapping two of its int leaves is
    still one edit, found in the first stage (a swap of the flag with an int leaf is
    ill-sorted and must not hide the others)."""
    r = _repairer()
    hint = parse_term("(ite flag y (- x 1))")
    first, _ = next(r.stages(hint, _equals("(ite flag x (- y 1))"), 1_000_000))
    assert [(to_sexpr(n.term), n.edits) for n in first] == [("(ite flag x (- y 1))", 1)]


# ------------------------------------------------------------------ guard wraps
def _guards(r: Repairer, root: bool) -> list[Expr]:
    """`(cmp l r)` of two int atoms (not the same, not two constants); at the root `l`
    may also be `(op a b)` of two such atoms."""
    def pairs(ops: frozenset[str], lefts: list[Expr]) -> list[Expr]:
        return [Op(o, (a, b)) for o in sorted(r.ops & ops) for a in lefts for b in r.int_atoms
                if a != b and not (isinstance(a, Const) and isinstance(b, Const))]
    lefts = list(r.int_atoms) + (pairs(ARITH_NARY, r.int_atoms) if root else [])
    return pairs(COMPARE, lefts)


def _values(e: Expr) -> tuple[object, ...]:
    with np.errstate(all="ignore"):
        return tuple(to_array(batch_value(e, ENV), ENV.size).tolist())


def wrap_oracle(hint: Expr, r: Repairer, each: EachCheck) -> set[str]:
    """Every `(ite C s X)` and `(ite C X s)` in place of an int subterm `s` of the hint
    that passes, C true somewhere and false somewhere; X an int atom, at the root
    also a subterm of the hint (not the hint)."""
    out: set[str] = set()
    for p, s in walk(hint):
        if _sort(s, ENV) != "int":
            continue
        xs = list(r.int_atoms) + ([t for _, t in walk(hint) if children(t) and t != hint] if p == () else [])
        for c in _guards(r, p == ()):
            if len(set(_values(c))) < 2:
                continue
            for x in xs:
                if x == s:
                    continue
                for w in (Ite(c, s, x), Ite(c, x, s)):
                    t = replace_at(hint, p, w)
                    if _passes(t, each, ENV):
                        out.add(to_sexpr(t))
    return out


WRAPS = [  # (hint, the answer it misses a guard of)
    ("(+ x 1)", "(ite (<= x y) (+ x 1) y)"),
    ("(* (+ x 1) y)", "(* (ite (<= x 0) 1 (+ x 1)) y)"),
    ("(- y x)", "(ite (<= (+ x 1) y) (- y x) 0)"),
]


@pytest.mark.parametrize("hint,answer", WRAPS)
def test_guard_wraps_are_exactly_the_oracles(hint: str, answer: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the cap on members per pass pattern, the wraps with an atom or a hint's
    subterm are exactly those of the brute-force oracle; with it, a subset that keeps
    every pattern and the answer."""
    import esso_ngs.synth.repair as repair

    term = parse_term(hint)
    each = _equals(answer)
    want = wrap_oracle(term, _repairer(), each)
    assert parse_term(answer) != term and to_sexpr(parse_term(answer)) in want

    def wraps(r: Repairer) -> set[str]:
        value = batch_value(term, ENV)
        ok = each(BatchValue(to_array(value, ENV.size)[None, :], value.lo, value.hi), 1)[0]
        out = set()
        for p, _ in walk(term):
            with np.errstate(all="ignore"):
                found, _ = r.guard_wraps(term, p, ok, each)
            assert all(edits == 1 for edits, _ in found)
            out |= {to_sexpr(t) for _, t in found}
        return out

    capped = wraps(_repairer())
    monkeypatch.setattr(repair, "PER_PATTERN", 10**6)
    monkeypatch.setattr(repair, "MAX_WRAPS", 10**6)
    assert wraps(_repairer()) == want
    assert capped <= want and to_sexpr(parse_term(answer)) in capped


def test_neighbours_come_closest_first_then_cheapest_by_the_style_cost() -> None:
    """Fewest edits first, then the lowest cost of the style profile (ite penalties
    included, not just the node count): with branch and nesting penalties, the else
    branch alone (5 nodes, cost 5) comes before the then branch alone (an ite of 4
    nodes, cost 19)."""
    style = StyleProfile(max_ast_nodes=30, penalties=Penalties(branch=5, nesting=10, ast_node=1))
    r = Repairer(compile_grammar(SMALL, style, SORTS), ENV, Limits.of(style))
    hint = parse_term("(ite (= x 0) (ite flag x 1) (* (+ y 1) x))")
    order = [(n.edits, style_metrics(n.term, style).cost, to_sexpr(n.term))
             for found, _ in r.stages(hint, _everywhere, 1_000_000) for n in found]
    assert [o[:2] for o in order] == sorted(o[:2] for o in order)
    assert order[0] == (1, 5, "(* (+ y 1) x)")


@pytest.mark.parametrize("m,n,p", [(1, 1, 0.5), (300, 3, 0.5), (1000, 40, 0.02), (400, 70, 0.01), (200, 130, 0.002)])
def test_pass_patterns_group_rows_with_their_first_members_in_rank_order(m: int, n: int, p: float) -> None:
    """`_patterns`: the distinct rows in lexicographic order (False before True, the
    first example first), each with its first PER_PATTERN rows in rank order."""
    from esso_ngs.synth.repair import PER_PATTERN, _patterns

    rng = np.random.default_rng(m + n)
    rows = rng.random((m, n)) < p
    rank = rng.permutation(m)
    pats, members = _patterns(rows, rank)
    distinct = sorted({tuple(r) for r in rows.tolist()})
    assert [tuple(r) for r in pats.tolist()] == distinct
    want: dict[tuple[bool, ...], list[int]] = {r: [] for r in distinct}
    for i in rank.tolist():
        group = want[tuple(rows[i].tolist())]
        if len(group) < PER_PATTERN:
            group.append(i)
    assert members == [want[r] for r in distinct]



NO_ITE = GrammarSpec("G", "E", (
    ("E", ("V", "C", "(+ E E)", "(- E E)", "(* E E)", "(safe_div E E)")),
    ("V", ("x", "y")),
    ("C", ("0", "1")),
))


@pytest.mark.parametrize("g_spec,hint,answer", [
    (NO_ITE, "(+ x 1)", "(ite (<= x y) (+ x 1) y)"),  # a guard is missing, but the grammar has no ite
    (SMALL, "(* x 0)", "(+ (* x y) 8)"),  # the hint fails every example: no guard can keep it anywhere
])
def test_no_small_terms_are_enumerated_where_no_guard_can_be_placed(g_spec: GrammarSpec, hint: str, answer: str,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """The enumerated other branch (up to 20,000 terms built) is for a guard wrap: it is
    not built when the grammar has no ite, or when the hint passes no example (a wrap
    keeps the hint's values where its guard holds, and must pass there)."""
    import esso_ngs.synth.repair as repair

    def no_enumeration(*args: object, **kwargs: object) -> None:
        raise AssertionError("small terms enumerated for a guard that cannot be placed")

    monkeypatch.setattr(repair, "Enumerator", no_enumeration)
    r = _repairer(g_spec)
    each = _equals(answer)
    with np.errstate(all="ignore"):
        assert not each(BatchValue(to_array(batch_value(parse_term(hint), ENV), ENV.size)[None, :], None, None), 1)[0].all()
    found, _ = r.neighbours(parse_term(hint), each, 1_000_000)
    assert all(not isinstance(n.term, Ite) for n in found)


def test_no_neighbour_past_the_style_profile_and_no_guard_where_none_fits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Answers must fit the style profile: a neighbour past it is never returned, and no
    guard wrap is evaluated at a position where even the smallest one (a comparison of
    two atoms, an atom as the other branch) is past it: here, with one ite allowed, at
    every position of a hint that has one already."""
    style = StyleProfile(max_ast_nodes=12, max_branches=1, max_nesting=1)
    r = Repairer(compile_grammar(SMALL, style, SORTS), ENV, Limits.of(style))
    hint = parse_term("(ite (<= x y) (+ x 1) y)")
    each = _equals("(ite (<= x y) (+ x 1) (ite (= x 0) y 1))")  # a second guard, past the profile
    wrapped: list[tuple[int, ...]] = []
    guard_wraps = Repairer.guard_wraps

    def recorded(self: Repairer, hint: Expr, p: tuple[int, ...], *args: object, **kwargs: object) -> object:
        wrapped.append(p)
        return guard_wraps(self, hint, p, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Repairer, "guard_wraps", recorded)
    found, _ = r.neighbours(hint, each, 1_000_000)
    assert all(style_metrics(n.term, style).fits for n in found), [to_sexpr(n.term) for n in found]
    assert wrapped == []
    # Without the hint's own ite, the guard is placed (and fits).
    found, _ = r.neighbours(parse_term("(+ x 1)"), _equals("(ite (<= x y) (+ x 1) y)"), 1_000_000)
    assert "(ite (<= x y) (+ x 1) y)" in [to_sexpr(n.term) for n in found] and wrapped


def test_a_hint_of_the_wrong_sort_has_no_neighbours() -> None:
    """Every edit keeps a term's sort: a Bool hint for an Int hole has no neighbour in the
    grammar, and none is evaluated (a Bool row compared with ints can pass a goal)."""
    r = _repairer()
    hint = parse_term("(<= x y)")
    assert r.g.sorts[r.g.start] == "Int"
    steps = list(r.stages(hint, _equals("(<= x y)"), 1_000_000))
    assert steps == [([], 0)]


def test_neighbours_and_their_order_do_not_depend_on_hash_randomization() -> None:
    """The same neighbours in the same order under two string-hash seeds (no set's
    iteration order leaks into the result)."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    script = (
        "import sys; sys.path.insert(0, sys.argv[1])\n"
        "import test_repair_oracle as T\n"
        "for h, each in [(h, T._positive) for h in T.HINTS] + [(h, T._equals(a)) for h, a in T.WRAPS]:\n"
        "    r = T._repairer()\n"
        "    for n in r.neighbours(T.parse_term(h), each, 1_000_000)[0]:\n"
        "        print(n.edits, T.to_sexpr(n.term))\n"
    )
    here = str(Path(__file__).resolve().parent)
    outs = [subprocess.run([sys.executable, "-c", script, here], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("0", "1")]
    assert outs[0] and outs[0] == outs[1]


def test_the_roots_guards_are_bounded_in_number(monkeypatch: pytest.MonkeyPatch) -> None:
    """The root's guards with an operation on two atoms grow with the cube of the atoms
    (27 million rows, a step of 24 s, for 100 variables): past MAX_GUARDS rows the root
    gets the comparisons of two atoms, as every other position does."""
    import esso_ngs.synth.repair as repair

    full = _repairer().guards(True)
    plain = _repairer().guards(False)
    assert full is not None and plain is not None and plain.n < full.n
    assert any(children(full.terms[i].args[0]) for i in range(full.n))
    monkeypatch.setattr(repair, "MAX_GUARDS", full.n - 1)
    capped = _repairer().guards(True)
    assert capped is not None and [to_sexpr(capped.terms[i]) for i in range(capped.n)] == \
        [to_sexpr(plain.terms[i]) for i in range(plain.n)]


def test_on_no_examples_every_neighbour_passes_closest_first() -> None:
    """An empty example set rules nothing out: the neighbours are the oracle's, closest
    first, and no guard is placed (the hint fails no example)."""
    empty = BatchEnv({"x": np.zeros(0, dtype=np.int64), "y": np.zeros(0, dtype=np.int64),
                      "flag": np.zeros(0, dtype=np.bool_)}, size=0)
    r = _repairer(env=empty)
    hint = parse_term(HINTS[0])
    nothing: EachCheck = lambda v, m: np.ones((m, 0), dtype=np.bool_)  # noqa: E731
    found, _ = r.neighbours(hint, nothing, 1_000_000)
    assert {to_sexpr(n.term): n.edits for n in found} == oracle(hint, r, nothing)
    assert [n.edits for n in found] == sorted(n.edits for n in found)
