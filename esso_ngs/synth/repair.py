"""Hint repair: the terms within two edits of a failed hint that pass the examples.

A hint that fails is usually close to an answer: two variables swapped, a wrong
constant, a wrong operator, a missing `ite` guard. The edits, each counting one:

- a leaf replaced by another atom of the grammar of the same sort;
- an operator replaced by another of the grammar's operators of the same family
  and arity (arithmetic, comparison, logic), its arguments kept;
- an `ite` replaced by either branch, or its branches swapped;
- an int subterm `s` wrapped as `(ite C s A)` or `(ite C A s)`, with `C` a
  comparison of two atoms (at the root: of an operation on two atoms with an
  atom) and `A` an atom (one edit, never combined with another);
- at the root, the missing other branch may be a term, not just an atom: the hint
  `H` becomes `(ite C H X)` or `(ite C X H)` with `X` a subterm of the hints (one
  edit) or a small term of the grammar (the enumerator's, up to `FILL_NODES` nodes:
  two edits). A goal holds or fails on each example alone, so this needs no row per
  combination: `(ite C H X)` passes iff `H` passes wherever `C` holds and `X`
  wherever it does not, one product of pass/fail patterns (`guard_fills`).

Every neighbour is evaluated in bulk: the edits at one position form a matrix of
values (edits x examples), and the rest of the hint is evaluated once over it as a
template with a slot (the enumerator's batched evaluation); pairs of edits form the
product of two such matrices. Only neighbours that pass every example are
returned, as terms, closest first (fewest edits, then cheapest); the caller checks
grammar membership and the style profile, then verifies them in that order.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Sequence, TypeVar

import numpy as np

from ..grammar import CompiledGrammar
from ..lang.evaluate import EvalError
from ..lang.batched import BatchEnv, BatchValue, apply_batch, batch_value, ite_batch, to_array
from ..lang.expr import (
    ARITH_BINARY,
    ARITH_NARY,
    COMPARE,
    LOGIC_BINARY,
    LOGIC_NARY,
    Const,
    Expr,
    Ite,
    Op,
    Path,
    children,
    node_count,
    replace_at,
    subterm,
    walk,
)
from ..lang.templates import slot_var, template_value
from .enumerate import Enumerator, Limits

# (values: rows x examples, rows) -> rows x examples, True where the row's value meets
# every goal on that example
EachCheck = Callable[[BatchValue, int], np.ndarray]
RowsCheck = Callable[[BatchValue, int], np.ndarray]  # (values: rows x examples, rows) -> passing mask
T = TypeVar("T")
MAX_PAIR_ROWS = 1 << 14  # rows of one pair of positions evaluated at once
FILL_NODES = 5  # the largest enumerated term tried as a missing branch...
FILL_TERMS = 20_000  # ...and at most this many of them built (per example set)
MAX_FILLS = 2_000  # guard completions returned for one hint (each goes to the verifier in order)
PER_PATTERN = 8  # of one pass pattern, only the cheapest few conditions and branches are combined


@dataclass(frozen=True, slots=True)
class Neighbour:
    term: Expr
    edits: int


@dataclass(slots=True)
class _Edits:
    """Replacements at one position: their terms and stacked values."""

    terms: list[Expr]
    values: BatchValue  # rows x examples

    @property
    def n(self) -> int:
        return len(self.terms)


class Repairer:
    """The grammar's material for edits (atoms, operators, guards) on one example set."""

    def __init__(self, g: CompiledGrammar, env: BatchEnv, limits: Limits | None = None) -> None:
        self.g = g
        self.env = env
        self.limits = limits
        self._fills: tuple[list[Expr], np.ndarray] | None | bool = False  # small terms and where they pass
        self._guard_matrix: tuple[list[Expr], np.ndarray] | None = None
        atoms: dict[Expr, None] = {}
        ops: set[str] = set()
        self.has_ite = False
        for rules in g.rules.values():
            for r in rules:
                if not r.slots and not children(r.template):
                    atoms[r.template] = None
                for _, node in walk(r.template):
                    if isinstance(node, Op):
                        ops.add(node.op)
                    elif isinstance(node, Ite):
                        self.has_ite = True
        self.ops = ops
        self.memo: dict[Expr, BatchValue] = {}
        self.int_atoms: list[Expr] = []
        self.bool_atoms: list[Expr] = []
        for a in sorted(atoms, key=str):
            try:
                v = self.value(a)
            except EvalError:  # an atom this example set cannot evaluate (e.g. another place's input)
                continue
            (self.bool_atoms if v.lo is None and _is_bool(v) else self.int_atoms).append(a)
        self.guards = self._guards(self.int_atoms, self.int_atoms)
        # At the root (where a missing guard usually goes), guards may compare an
        # operation on two atoms with an atom: `(<= (- p ref) band)`.
        self.root_guards = self._guards(self.int_atoms + self._pairs(), self.int_atoms)

    def value(self, e: Expr) -> BatchValue:
        return batch_value(e, self.env, self.memo)

    def _rows(self, terms: list[Expr], values: list[BatchValue]) -> _Edits | None:
        if not terms:
            return None
        size = self.env.size
        arrays = [to_array(v, size) for v in values]
        if any(a.dtype == np.bool_ for a in arrays):
            if not all(a.dtype == np.bool_ for a in arrays):
                return None
            return _Edits(terms, BatchValue(np.stack(arrays), None, None))
        if any(a.dtype == object for a in arrays):
            data = np.stack([a.astype(object) for a in arrays])
        else:
            data = np.stack(arrays)
        lo = min(int(v.lo) for v in values)  # type: ignore[arg-type]
        hi = max(int(v.hi) for v in values)  # type: ignore[arg-type]
        return _Edits(terms, BatchValue(data, lo, hi))

    def _pairs(self) -> list[Expr]:
        """Arithmetic operations on two int atoms (not both constants)."""
        # Not deduplicated by value: the few examples of a CEGIS round would merge
        # operations that the verifier tells apart.
        return [Op(op, (a, b)) for op in sorted(self.ops & ARITH_NARY)
                for a, b in itertools.permutations(self.int_atoms, 2)
                if not (isinstance(a, Const) and isinstance(b, Const))]

    def _guards(self, left: list[Expr], right: list[Expr]) -> list[tuple[Expr, BatchValue]]:
        """Comparisons `(cmp l r)` (not deduplicated by value either)."""
        if not self.has_ite:
            return []
        return [(Op(op, (a, b)), apply_batch(op, [self.value(a), self.value(b)]))
                for op in sorted(self.ops & COMPARE) for a, b in itertools.product(left, right)
                if a != b and not (isinstance(a, Const) and isinstance(b, Const))]

    # ------------------------------------------------------------ edits at one position
    def single_edits(self, s: Expr) -> _Edits | None:
        """Leaf, operator and ite edits of subterm `s` (one edit each)."""
        terms: list[Expr] = []
        values: list[BatchValue] = []
        kids = children(s)
        if not kids:
            try:
                pool = self.bool_atoms if _is_bool(self.value(s)) else self.int_atoms
            except EvalError:  # a name the spec lacks: any int atom may stand for it
                pool = self.int_atoms
            for a in pool:
                if a != s:
                    terms.append(a)
                    values.append(self.value(a))
        elif isinstance(s, Op):
            args = [self.value(k) for k in kids]
            for op in sorted(_family(s.op, len(kids)) & self.ops - {s.op}):
                terms.append(Op(op, s.args))
                values.append(apply_batch(op, args))
        elif isinstance(s, Ite):
            c, t, e = (self.value(k) for k in kids)
            for term, v in ((s.then, t), (s.else_, e), (Ite(s.cond, s.else_, s.then), ite_batch(c, e, t))):
                terms.append(term)
                values.append(v)
        return self._rows(terms, values)

    def guard_edits(self, s: Expr) -> _Edits | None:
        """`s` wrapped in an ite with a guard and an atom (int subterms below the root;
        at the root, `guard_fills`)."""
        v = self.value(s)
        guards = self.guards
        if not guards or _is_bool(v):
            return None
        terms: list[Expr] = []
        values: list[BatchValue] = []
        for (c, cv), a in itertools.product(guards, self.int_atoms):
            av = self.value(a)
            terms += [Ite(c, s, a), Ite(c, a, s)]
            values += [ite_batch(cv, v, av), ite_batch(cv, av, v)]
        return self._rows(terms, values)

    # ------------------------------------------------------------ a missing guard at the root
    def guard_fills(self, hint: Expr, others: Sequence[Expr], each: EachCheck) -> tuple[list[tuple[int, Expr]], int]:
        """`(ite C hint X)` and `(ite C X hint)` that pass the examples, as (edits, term):
        `C` a root guard, `X` an atom or a subterm of the hints (one edit) or a small
        term of the grammar (two). Also the work done (rows and pattern pairs checked)."""
        if not self.root_guards:
            return [], 0
        size = self.env.size
        h = self.value(hint)
        if _is_bool(h):
            return [], 0
        h_ok = each(BatchValue(to_array(h, size)[None, :], h.lo, h.hi), 1)[0]
        if h_ok.all():
            return [], 0  # no example for a guard to route elsewhere
        near: dict[Expr, None] = dict.fromkeys(self.int_atoms)
        for t in (hint, *others):
            for _, s in walk(t):
                if s != hint and children(s):
                    near[s] = None
        near_terms: list[Expr] = []
        near_values: list[BatchValue] = []
        for s in near:
            v = self._quietly(self.value, s)
            if v is not None and not _is_bool(v):
                near_terms.append(s)
                near_values.append(v)
        rows = self._rows(near_terms, near_values)
        branches: list[tuple[int, Expr]] = [(1, t) for t in near_terms]
        parts = [] if rows is None else [each(rows.values, rows.n)]
        fills = self._fill_terms(each)
        if fills is not None:
            terms, ok = fills
            fresh = [i for i, t in enumerate(terms) if t not in near]
            branches += [(2, terms[i]) for i in fresh]
            parts.append(ok[fresh])
        if not parts:
            return [], 0
        x_fail = ~np.concatenate(parts)
        guards, g_true = self._root_guard_matrix()
        x_rank = sorted(range(len(branches)), key=lambda i: (branches[i][0], node_count(branches[i][1]),
                                                                 str(branches[i][1])))
        g_rank = sorted(range(len(guards)), key=lambda i: (node_count(guards[i]), str(guards[i])))
        x_pat, x_members = _patterns(x_fail, x_rank)
        g_pat, g_members = _patterns(g_true, g_rank)
        work = len(branches) + len(guards)
        bad = ~h_ok
        combos: list[tuple[int, int, str, Expr]] = []  # (edits, nodes, text, term)
        for hint_then in (True, False):
            h_used = g_pat if hint_then else ~g_pat
            x_used = ~h_used
            valid = np.flatnonzero(~(h_used & bad).any(axis=1) & h_used.any(axis=1) & x_used.any(axis=1))
            if not len(valid):
                continue
            clash = x_pat.astype(np.int32) @ x_used[valid].T.astype(np.int32)
            work += clash.size
            for a, b in np.argwhere(clash == 0).tolist():
                for gi in g_members[valid[b]]:
                    for xi in x_members[a]:
                        edits, x = branches[xi]
                        c = guards[gi]
                        term = Ite(c, hint, x) if hint_then else Ite(c, x, hint)
                        combos.append((edits, node_count(term), "", term))
        combos.sort(key=lambda f: (f[0], f[1]))
        out = [(edits, term) for edits, _, _, term in combos[:MAX_FILLS]]
        return out, work

    def _fill_terms(self, each: EachCheck) -> tuple[list[Expr], np.ndarray] | None:
        """The grammar's small int terms (up to FILL_NODES nodes, FILL_TERMS built) and
        where each passes, enumerated once per example set."""
        if self._fills is False:
            self._fills = None
            if self.limits is not None:
                lim = self.limits
                enum = Enumerator(self.g, self.env, lim, max_level=lim.ast_node * FILL_NODES,
                                  should_stop=lambda built: built >= FILL_TERMS)
                for _ in enum.terms():
                    pass
                seen: set[Expr] = set()
                terms: list[Expr] = []
                values: list[BatchValue] = []
                for nt in sorted(enum.banks):
                    for level in sorted(enum.banks[nt]):
                        for e in enum.banks[nt][level]:
                            t = e.term
                            if e.value.lo is not None and children(t) and t not in seen:
                                seen.add(t)
                                terms.append(t)
                                values.append(e.value)
                rows = self._rows(terms, values)
                if rows is not None:
                    self._fills = (terms, each(rows.values, rows.n))
        return self._fills  # type: ignore[return-value]

    def _root_guard_matrix(self) -> tuple[list[Expr], np.ndarray]:
        if self._guard_matrix is None:
            size = self.env.size
            terms = [c for c, _ in self.root_guards]
            data = np.stack([to_array(v, size) for _, v in self.root_guards]).astype(np.bool_)
            self._guard_matrix = (terms, data)
        return self._guard_matrix

    # ------------------------------------------------------------ the neighbourhood
    def neighbours(self, hint: Expr, each: EachCheck, max_terms: int,
                   others: Sequence[Expr] = ()) -> tuple[list[Neighbour], int]:
        """Neighbours of `hint` within two edits that pass the examples, closest first,
        and the number of neighbours evaluated (at most about `max_terms`, plus the
        bounded work of `guard_fills`). `others`: the other hints, whose subterms may
        fill a missing branch."""
        def passes(v: BatchValue, m: int) -> np.ndarray:
            return each(v, m).all(axis=1)

        positions = [p for p, _ in walk(hint)]
        single = {p: self._quietly(self.single_edits, subterm(hint, p)) for p in positions}
        found: list[tuple[int, int, str, Expr]] = []  # (edits, nodes, text, term)
        built = 0

        def keep(edits: int, make: Callable[[int], Expr], mask: np.ndarray) -> None:
            for i in np.flatnonzero(mask).tolist():
                t = make(i)
                found.append((edits, node_count(t), str(t), t))

        for p in positions:  # one edit
            for edits in (single[p], None if p == () else self._quietly(self.guard_edits, subterm(hint, p))):
                if edits is None or built >= max_terms:
                    continue
                built += edits.n
                mask = self._eval_slots(hint, [p], [edits.values], edits.n, passes)
                keep(1, lambda i, p=p, e=edits: replace_at(hint, p, e.terms[i]), mask)
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                fills, work = self.guard_fills(hint, others, each)
        except (EvalError, TypeError, ValueError):  # a hint this example set cannot evaluate
            fills, work = [], 0
        built += work
        found += [(edits, node_count(t), str(t), t) for edits, t in fills]
        for i, p in enumerate(positions):  # two edits: p, then a position after it in pre-order
            ep = single[p]
            if ep is None:
                continue
            for q in positions[i + 1:]:
                eq = single[q]
                if eq is None or built >= max_terms:
                    continue
                if _is_prefix(p, q):  # q inside p: p's edit must keep q (an operator edit does)
                    if not isinstance(subterm(hint, p), Op):
                        continue
                    for a, pt in enumerate(ep.terms):
                        t1 = replace_at(hint, p, pt)
                        built += eq.n
                        mask = self._eval_slots(t1, [q], [eq.values], eq.n, passes)
                        keep(2, lambda j, t1=t1, q=q: replace_at(t1, q, eq.terms[j]), mask)
                    continue
                m = ep.n * eq.n
                if m > MAX_PAIR_ROWS:
                    continue
                built += m
                ia = np.repeat(np.arange(ep.n), eq.n)
                ib = np.tile(np.arange(eq.n), ep.n)
                mask = self._eval_slots(hint, [p, q], [_take(ep.values, ia), _take(eq.values, ib)], m, passes)
                keep(2, lambda k, p=p, q=q, ep=ep, eq=eq: replace_at(
                    replace_at(hint, p, ep.terms[k // eq.n]), q, eq.terms[k % eq.n]), mask)
        found.sort(key=lambda f: (f[0], f[1], f[2]))
        out: list[Neighbour] = []
        seen: set[str] = set()
        for edits, _, text, t in found:
            if text not in seen:
                seen.add(text)
                out.append(Neighbour(t, edits))
        return out, built

    @staticmethod
    def _quietly(edits: Callable[[Expr], T | None], s: Expr) -> T | None:
        """None where `s` cannot be evaluated (an unknown name, an ill-typed operator)."""
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return edits(s)
        except (EvalError, TypeError, ValueError):
            return None

    def _eval_slots(self, term: Expr, paths: list[Path], slots: list[BatchValue], m: int,
                    passes: RowsCheck) -> np.ndarray:
        tpl = term
        for i, p in enumerate(paths):
            tpl = replace_at(tpl, p, slot_var(i))
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                v = template_value(tpl, slots, self.env)
        except (EvalError, TypeError, ValueError):  # an ill-typed or unbound context: no row counts
            return np.zeros(m, dtype=np.bool_)
        d = v.data
        size = self.env.size
        if not isinstance(d, np.ndarray) or d.shape != (m, size):
            d = np.broadcast_to(to_array(v, size), (m, size))
            v = BatchValue(d, v.lo, v.hi)
        return passes(v, m)


def _patterns(rows: np.ndarray, rank: list[int]) -> tuple[np.ndarray, list[list[int]]]:
    """The distinct rows of a Boolean matrix, and for each the first `PER_PATTERN` row
    indices holding it, in `rank` order."""
    pats, inverse = np.unique(rows, axis=0, return_inverse=True)
    inverse = inverse.reshape(-1)
    members: list[list[int]] = [[] for _ in range(len(pats))]
    for i in rank:
        group = members[inverse[i]]
        if len(group) < PER_PATTERN:
            group.append(i)
    return pats, members


def _family(op: str, arity: int) -> frozenset[str]:
    if op in ARITH_NARY or op in ARITH_BINARY:
        return ARITH_NARY | ARITH_BINARY if arity == 2 else ARITH_NARY
    if op in COMPARE:
        return COMPARE
    if op in LOGIC_NARY or op in LOGIC_BINARY:
        return LOGIC_NARY | LOGIC_BINARY if arity == 2 else LOGIC_NARY
    return frozenset()


def _is_bool(v: BatchValue) -> bool:
    d = v.data
    return isinstance(d, (bool, np.bool_)) or (isinstance(d, np.ndarray) and d.dtype == np.bool_)


def _is_prefix(p: Path, q: Path) -> bool:
    return len(p) < len(q) and q[:len(p)] == p


def _take(v: BatchValue, ix: np.ndarray) -> BatchValue:
    return BatchValue(v.data[ix], v.lo, v.hi)  # type: ignore[index]


__all__ = ["Neighbour", "Repairer"]
