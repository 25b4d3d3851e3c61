"""Hint repair: the terms within two edits of a failed hint that pass the examples.

A hint that fails is usually close to an answer: two variables swapped, a wrong
constant, a wrong operator, a missing `ite` guard. The edits, each counting one:

- a leaf replaced by another atom of the grammar of the same sort;
- an operator replaced by another of the grammar's operators of the same family
  and arity (arithmetic, comparison, logic), its arguments kept;
- an `ite` replaced by either branch, or its branches swapped;
- two leaves of one sort exchanged (swapped operands: one edit, never combined);
- an int subterm `s` wrapped as `(ite C s A)` or `(ite C A s)`, with `C` a
  comparison of two atoms (at the root: of an operation on two atoms with an
  atom) and `A` an atom (one edit, never combined with another);
- at the root, the missing other branch may be a term, not just an atom: the hint
  `H` becomes `(ite C H X)` or `(ite C X H)` with `X` a subterm of the hints (one
  edit) or a small term of the grammar (the enumerator's, up to `FILL_NODES` nodes:
  two edits). A goal holds or fails on each example alone, so this needs no row per
  combination: `(ite C H X)` passes iff `H` passes wherever `C` holds and `X`
  wherever it does not, one product of pass/fail patterns (`guard_wraps`).

Two edits are any two of the first three kinds, at two positions (the second also
inside what the first kept: a branch, swapped branches, an operator's arguments).

Every neighbour is evaluated in bulk: the edits at one position form a matrix of
values (edits x examples), and the rest of the hint is evaluated once over it as a
template with a slot (the enumerator's batched evaluation); pairs of edits form the
product of two such matrices. Only neighbours that pass every example and fit
the style profile are returned, as terms, closest first (fewest edits, then
cheapest by the style profile's cost, ite penalties included); the caller checks
grammar membership, then verifies them in that order. Every edit keeps a term's
sort: a hint of another sort than the hole's has no neighbours.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence, TypeVar

import numpy as np

from ..formats.model import StyleProfile
from ..grammar import CompiledGrammar, style_cost, style_metrics
from ..lang.evaluate import EvalError
from ..lang.batched import BatchEnv, BatchValue, apply_batch, batch_value, ite_batch, to_array, value_key
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
from .enumerate import Entry, Enumerator, Limits

# (values: rows x examples, rows) -> rows x examples, True where the row's value meets
# every goal on that example
EachCheck = Callable[[BatchValue, int], np.ndarray]
T = TypeVar("T")
MAX_PAIR_ROWS = 1 << 14  # rows of one pair of positions evaluated at once
# The root's guards with an operation on two atoms grow with the cube of the atoms: only
# up to this many rows (~35 atoms; 0.8 s), else the root's are the other positions'.
MAX_GUARDS = 1 << 20
CLASH_CELLS = 1 << 22  # pairs of pass patterns (branch x guard) checked at once
FILL_NODES = 5  # the largest enumerated term tried as a missing branch...
FILL_TERMS = 20_000  # ...and at most this many of them built (per example set)
MAX_WRAPS = 2_000  # guard wraps returned for one position (each may go to the verifier, in order)
PER_PATTERN = 8  # of one pass pattern, only the cheapest few conditions and branches are combined


@dataclass(frozen=True, slots=True)
class Neighbour:
    term: Expr
    edits: int


@dataclass(slots=True)
class _Edits:
    """Replacements at one position: their terms and stacked values."""

    terms: Sequence[Expr]
    values: BatchValue  # rows x examples

    @property
    def n(self) -> int:
        return len(self.terms)


class _ProductTerms(Sequence[Expr]):
    """`(op l r)` for every operator and pair of indices, built only when asked for: the
    root's guards of a grammar of 20 variables are ~200,000 terms, few ever looked at."""

    def __init__(self, ops: list[str], left: Sequence[Expr], right: Sequence[Expr],
                 ia: np.ndarray, ib: np.ndarray) -> None:
        self.ops, self.left, self.right, self.ia, self.ib = ops, left, right, ia, ib

    def __len__(self) -> int:
        return len(self.ops) * len(self.ia)

    def __getitem__(self, k: int) -> Expr:  # type: ignore[override]
        op, i = divmod(int(k), len(self.ia))
        return Op(self.ops[op], (self.left[self.ia[i]], self.right[self.ib[i]]))


class Repairer:
    """The grammar's material for edits (atoms, operators, guards) on one example set."""

    def __init__(self, g: CompiledGrammar, env: BatchEnv, limits: Limits | None = None) -> None:
        self.g = g
        self.env = env
        self.limits = limits
        self.style = g.style or StyleProfile()  # whose cost ranks neighbours of equal edits
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
        self._guards: dict[bool, _Edits | None] = {}  # by root: the guards...
        self._guard_cost: dict[bool, np.ndarray] = {}  # ...and their costs
        # small terms and where each passes (False: not enumerated yet)
        self._fills: tuple[list[Entry], np.ndarray] | None | bool = False

    def value(self, e: Expr) -> BatchValue:
        return batch_value(e, self.env, self.memo)

    def cost(self, e: Expr) -> int:
        return style_metrics(e, self.style).cost

    def _entry_cost(self, e: Entry) -> int:
        return style_cost(self.style.penalties, e.nodes, e.ites, e.depth)

    def _rows(self, terms: Sequence[Expr], values: list[BatchValue]) -> _Edits | None:
        stacked = stack_values(values, self.env.size) if terms else None
        return _Edits(terms, stacked) if stacked is not None else None

    def _products(self, ops: list[str], left: _Edits, right: _Edits) -> _Edits | None:
        """`(op l r)` for every operator and pair of rows (not the same term, not two
        constants), computed on the stacked values at once, their terms built when asked
        for. Not deduplicated by value: the few examples of a CEGIS round would merge
        terms the verifier tells apart."""
        ids: dict[Expr, int] = {}
        la, ra = (np.array([ids.setdefault(t, len(ids)) for t in side.terms]) for side in (left, right))
        lc, rc = (np.array([isinstance(t, Const) for t in side.terms]) for side in (left, right))
        ia, ib = np.nonzero((la[:, None] != ra[None, :]) & ~(lc[:, None] & rc[None, :]))
        if not len(ia) or not ops:
            return None
        lv, rv = _take(left.values, ia), _take(right.values, ib)
        data = []
        for op in ops:
            v = apply_batch(op, [lv, rv])
            data.append(v if isinstance(v.data, np.ndarray) else  # (a scalar: both sides constant rows)
                        BatchValue(np.full((len(ia), self.env.size), v.data), v.lo, v.hi))
        return self._rows(_ProductTerms(ops, left.terms, right.terms, ia, ib), data)

    def guards(self, root: bool) -> _Edits | None:
        """Comparisons `(cmp l r)` of two int atoms; at the root (where a missing guard
        usually goes) `l` may also be an operation on two atoms: `(<= (- p ref) band)`,
        while those are at most MAX_GUARDS."""
        if root not in self._guards:
            out = None
            atoms = self._rows(self.int_atoms, [self.value(a) for a in self.int_atoms])
            if self.has_ite and atoms is not None:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    left = atoms
                    n, arith, compare = atoms.n, len(self.ops & ARITH_NARY), len(self.ops & COMPARE)
                    if root and compare * (arith * n * n + n) * n <= MAX_GUARDS:
                        pairs = self._products(sorted(self.ops & ARITH_NARY), atoms, atoms)
                        if pairs is not None:
                            left = self._rows([*atoms.terms, *pairs.terms], [atoms.values, pairs.values])  # type: ignore[assignment]
                    out = self._products(sorted(self.ops & COMPARE), left, atoms)
            self._guards[root] = out
            cost = np.zeros(0, dtype=np.int64)
            if out is not None:  # a comparison has no ite: its cost is its nodes'
                assert isinstance(out.terms, _ProductTerms)
                nodes = [np.array([node_count(t) for t in side], dtype=np.int64) for side in (left.terms, atoms.terms)]  # type: ignore[union-attr]
                cost = self.style.penalties.ast_node * np.tile(1 + nodes[0][out.terms.ia] + nodes[1][out.terms.ib],
                                                               len(out.terms.ops))
            self._guard_cost[root] = cost
        return self._guards[root]

    # ------------------------------------------------------------ edits at one position
    def edit_terms(self, s: Expr) -> list[Expr]:
        """Leaf, operator and ite edits of subterm `s` (one edit each), as terms: also
        where `s` cannot be evaluated (a name the examples lack inside)."""
        kids = children(s)
        if not kids:
            try:
                pool = self.bool_atoms if _is_bool(self.value(s)) else self.int_atoms
            except EvalError:  # a name the spec lacks: any int atom may stand for it
                pool = self.int_atoms
            return [a for a in pool if a != s]
        if isinstance(s, Op):
            return [Op(op, s.args) for op in sorted(_family(s.op, len(kids)) & self.ops - {s.op})]
        if isinstance(s, Ite):
            return [s.then, s.else_, Ite(s.cond, s.else_, s.then)]
        return []

    def single_edits(self, s: Expr) -> _Edits | None:
        """`edit_terms(s)` with their values."""
        terms = self.edit_terms(s)
        if not terms:
            return None
        kids = children(s)
        if not kids:
            values = [self.value(a) for a in terms]
        elif isinstance(s, Op):
            args = [self.value(k) for k in kids]
            values = [apply_batch(t.op, args) for t in terms]  # type: ignore[union-attr]
        else:
            c, t, e = (self.value(k) for k in kids)
            values = [t, e, ite_batch(c, e, t)]
        return self._rows(terms, values)

    # ------------------------------------------------------------ a missing guard
    def guard_wraps(self, hint: Expr, p: Path, hint_ok: np.ndarray, each: EachCheck,
                    others: Sequence[Expr] = (), enumerated: bool = False) -> tuple[list[tuple[int, Expr]], int]:
        """The int subterm `s` at `p` wrapped as `(ite C s X)` or `(ite C X s)`, where
        that passes the examples, as (edits, term), and the work done (rows evaluated
        and pattern pairs checked). `X` is an atom below the root; at the root also a
        subterm of the hints (one edit); `enumerated`: instead, at the root, a small
        term of the grammar (two edits).

        A goal holds or fails on each example alone, so no row per combination is
        needed: with `hint_ok` (where the hint passes), and where the hint with `X`
        at `p` passes, `(ite C s X)` passes iff `C` holds only where the hint passes
        and fails only where `X` does; the pairs of distinct pass patterns that fit
        come from one matrix product."""
        root = p == ()
        guards = self.guards(root)
        s = subterm(hint, p)
        if guards is None or _is_bool(self.value(s)) or hint_ok.all():
            return [], 0
        branches: list[tuple[int, int, Expr | Entry]] = []  # (edits, cost, term)
        parts: list[np.ndarray] = []
        if enumerated and not root:
            return [], 0
        near: dict[Expr, None] = {} if enumerated else dict.fromkeys(self.int_atoms)
        if root and not enumerated:
            for t in (hint, *others):
                for _, sub in walk(t):
                    if sub != hint and children(sub):
                        near[sub] = None
        near.pop(s, None)
        terms: list[Expr] = []
        values: list[BatchValue] = []
        for x in near:
            v = self._quietly(self.value, x)
            if v is not None and not _is_bool(v):
                terms.append(x)
                values.append(v)
        rows = self._rows(terms, values)
        if rows is not None:
            branches += [(1, self.cost(t), t) for t in terms]
            parts.append(self._eval_slots(hint, [p], [rows.values], rows.n, each))
        fills = self._fill_terms(each) if enumerated else None
        if fills is not None:  # (a term also among the near ones is tried twice, verified once)
            branches += [(2, self._entry_cost(e), e) for e in fills[0]]
            parts.append(fills[1])
        if not parts:
            return [], 0
        x_fail = ~np.concatenate(parts)
        g_true = np.asarray(guards.values.data, dtype=np.bool_)
        x_pat, x_members = _patterns(x_fail, np.array(sorted(range(len(branches)), key=lambda i: branches[i][:2]),
                                                       dtype=np.int64))
        g_cost = self._guard_cost[root]
        g_pat, g_members = _patterns(g_true, np.argsort(g_cost, kind="stable"))
        work = len(branches) + guards.n
        bad = ~hint_ok
        # Each pattern's closeness: its cheapest member's (edits, cost), as one sortable number.
        x_key = np.array([branches[m[0]][0] * (1 << 40) + branches[m[0]][1] for m in x_members], dtype=np.int64)
        g_key = g_cost[[m[0] for m in g_members]]
        fits: list[tuple[int, int, bool, int, int]] = []  # (edits, cost, s_then, x pattern, guard pattern)
        for s_then in (True, False):
            s_used = g_pat if s_then else ~g_pat
            x_used = ~s_used
            valid = np.flatnonzero(~(s_used & bad).any(axis=1) & s_used.any(axis=1) & x_used.any(axis=1))
            if not len(valid):
                continue
            # Where X fails and is used, per pair of patterns: a float32 product (BLAS; the
            # counts, at most the examples, are exact), a chunk of X patterns at a time.
            used = x_used[valid].T.astype(np.float32)
            chunk = max(1, CLASH_CELLS // len(valid))
            xa_parts, gb_parts = [], []
            for lo in range(0, len(x_pat), chunk):
                xa, gb = np.nonzero(x_pat[lo:lo + chunk].astype(np.float32) @ used == 0)
                xa += lo
                xa, gb = _closest(xa, gb, x_key[xa] + g_key[valid[gb]])
                xa_parts.append(xa)
                gb_parts.append(gb)
            work += len(x_pat) * len(valid)
            xa, gb = np.concatenate(xa_parts), np.concatenate(gb_parts)
            xa, gb = _closest(xa, gb, x_key[xa] + g_key[valid[gb]])
            for a, b in zip(xa.tolist(), gb.tolist()):
                edits, cost, _ = branches[x_members[a][0]]
                fits.append((edits, cost + int(g_cost[g_members[valid[b]][0]]), s_then, a, int(valid[b])))
        fits.sort()  # the closest pairs of patterns first, their cheapest members first
        out: list[tuple[int, Expr]] = []
        for _, _, s_then, a, b in fits:
            for gi in g_members[b]:
                for xi in x_members[a]:
                    edits, _, x = branches[xi]
                    x = x.term if isinstance(x, Entry) else x
                    c = guards.terms[gi]
                    out.append((edits, replace_at(hint, p, Ite(c, s, x) if s_then else Ite(c, x, s))))
            if len(out) >= MAX_WRAPS:
                break
        return out, work

    def _fill_terms(self, each: EachCheck) -> tuple[list[Entry], np.ndarray] | None:
        """The grammar's small int terms (up to FILL_NODES nodes, FILL_TERMS built), in
        enumeration order, one per distinct value (their terms built only when
        chosen), and where each passes as the whole hole; once per example set."""
        if self._fills is False:
            self._fills = None
            if self.limits is not None:
                lim = self.limits
                enum = Enumerator(self.g, self.env, lim, max_level=lim.ast_node * FILL_NODES,
                                  should_stop=lambda built: built >= FILL_TERMS)
                for _ in enum.terms():
                    pass
                size = self.env.size
                seen: set[bytes] = set()
                entries: list[Entry] = []
                for level in sorted({lvl for banks in enum.banks.values() for lvl in banks}):
                    for nt in sorted(enum.banks):
                        for e in enum.banks[nt].get(level, ()):
                            if e.value.lo is not None and e.nodes > 1:
                                key = e._vkey or value_key(to_array(e.value, size))  # kept: keyed already
                                if key not in seen:
                                    seen.add(key)
                                    entries.append(e)
                rows = self._rows(entries, [e.value for e in entries])  # type: ignore[arg-type]
                if rows is not None:
                    self._fills = (entries, each(rows.values, rows.n))
        return self._fills  # type: ignore[return-value]

    # ------------------------------------------------------------ the neighbourhood
    def neighbours(self, hint: Expr, each: EachCheck, max_terms: int,
                   others: Sequence[Expr] = ()) -> tuple[list[Neighbour], int]:
        """Every stage of `stages` at once: the neighbours that pass, and the work."""
        out: list[Neighbour] = []
        built = 0
        for found, work in self.stages(hint, each, max_terms, others):
            out += found
            built += work
        return out, built

    def stages(self, hint: Expr, each: EachCheck, max_terms: int,
               others: Sequence[Expr] = ()) -> Iterator[tuple[list[Neighbour], int]]:
        """Neighbours of `hint` that pass the examples, in small steps: each yield is
        (the neighbours a stage found, closest first, or [] within a stage; the rows
        and pattern pairs evaluated by the step). Stages, cheapest and closest first:
        one edit (and two leaves swapped); a guard (one edit, two with an enumerated
        branch); two edits. About `max_terms` rows in all, plus the bounded work of
        `guard_wraps`. `others`: the other hints, whose subterms may fill a missing
        branch. A caller may stop between steps (and verify what a stage found first)."""
        if not self._sort_fits(hint):  # every edit keeps the sort: no neighbour can be an answer
            yield [], 0
            return
        positions = [p for p, _ in walk(hint)]
        single: dict[Path, _Edits | None] = {}
        found: list[tuple[int, int, str, Expr]] = []  # (edits, cost, text, term)
        seen: set[str] = {str(hint)}  # (an edit can give the hint back: its ite branches swapped when equal)
        built = 0

        def add(edits: int, t: Expr) -> None:
            metrics = style_metrics(t, self.style)
            if metrics.fits:  # (past the style profile, a term is no answer)
                found.append((edits, metrics.cost, str(t), t))

        def keep(edits: int, make: Callable[[int], Expr], mask: np.ndarray) -> None:
            for i in np.flatnonzero(mask).tolist():
                add(edits, make(i))

        def stage_end() -> list[Neighbour]:
            found.sort(key=lambda f: (f[0], f[1], f[2]))
            out: list[Neighbour] = []
            for edits, _, text, t in found:
                if text not in seen:
                    seen.add(text)
                    out.append(Neighbour(t, edits))
            found.clear()
            return out

        for p in positions:  # one edit
            edits = single[p] = self._quietly(self.single_edits, subterm(hint, p))
            if edits is None or built >= max_terms:
                continue
            built += edits.n
            mask = self._eval_slots(hint, [p], [edits.values], edits.n, each).all(axis=1)
            keep(1, lambda i, p=p, e=edits: replace_at(hint, p, e.terms[i]), mask)
        swaps = self._swaps(hint)
        if swaps is not None:
            built += swaps.n
            keep(1, lambda i: swaps.terms[i], each(swaps.values, swaps.n).all(axis=1))
        yield stage_end(), built
        hint_ok = self._quietly(lambda h: self._eval_slots(h, [], [], 1, each)[0], hint)
        # A wrap keeps the hint's values where its guard holds, and must pass there: no
        # wrap where the hint passes nowhere (or everywhere: no guard is missing).
        wrapping = hint_ok is not None and hint_ok.any() and not hint_ok.all() and self.has_ite
        wrap_at = [p for p in positions if self._wrap_fits(hint, p)] \
            if wrapping and self.guards(False) is not None else []
        if wrap_at[:1] == [()] and self.guards(True) is not None:
            yield [], 0  # the root's guards: a step of their own (once per example set)
        # A guard at each position (the root first), with an atom or a hint's subterm as
        # the other branch; then at the root with an enumerated term (its own step first).
        # What each step finds is verified before the next.
        for p, enumerated in [(p, False) for p in wrap_at] + ([((), True)] if wrap_at[:1] == [()] else []):
            if built >= max_terms:
                break
            if enumerated:
                if self._fill_terms(each) is None:
                    break
                yield [], 0
            try:
                with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                    wraps, work = self.guard_wraps(hint, p, hint_ok, each, others, enumerated)  # type: ignore[arg-type]
            except (EvalError, TypeError, ValueError):  # an ill-typed or unbound context
                continue
            for e, t in wraps:
                add(e, t)
            yield stage_end(), work
        work = 0
        for i, p in enumerate(positions):  # two edits: p, then a position after it in pre-order
            ep = single[p]
            # (Where p cannot be evaluated, its edits still combine with one inside it
            # that makes the term evaluable: a wrong operator above a wrong name.)
            p_terms = ep.terms if ep is not None else self._quietly(self.edit_terms, subterm(hint, p)) or []
            if not p_terms:
                continue
            if work:
                yield [], work
                work = 0
            for q in positions[i + 1:]:
                eq = single[q]
                if eq is None or built >= max_terms:
                    continue
                if _is_prefix(p, q):  # q inside p: where p's edit keeps q's subterm, if it does
                    for pt in p_terms:
                        kept = _kept_at(subterm(hint, p), pt, q[len(p):])
                        if kept is None:
                            continue
                        t1, q1 = replace_at(hint, p, pt), p + kept
                        built += eq.n
                        work += eq.n
                        mask = self._eval_slots(t1, [q1], [eq.values], eq.n, each).all(axis=1)
                        keep(2, lambda j, t1=t1, q1=q1: replace_at(t1, q1, eq.terms[j]), mask)
                    continue
                if ep is None:
                    continue
                m = ep.n * eq.n
                if m > MAX_PAIR_ROWS:
                    continue
                built += m
                work += m
                ia = np.repeat(np.arange(ep.n), eq.n)
                ib = np.tile(np.arange(eq.n), ep.n)
                mask = self._eval_slots(hint, [p, q], [_take(ep.values, ia), _take(eq.values, ib)], m,
                                        each).all(axis=1)
                keep(2, lambda k, p=p, q=q, ep=ep, eq=eq: replace_at(
                    replace_at(hint, p, ep.terms[k // eq.n]), q, eq.terms[k % eq.n]), mask)
        yield stage_end(), work

    def _sort_fits(self, hint: Expr) -> bool:
        """Whether the hint's sort is the hole's (the grammar's start), where both are known."""
        want = self.g.sorts.get(self.g.start)
        v = self._quietly(self.value, hint)
        return v is None or want not in ("Int", "Bool") or _is_bool(v) == (want == "Bool")

    def _wrap_fits(self, hint: Expr, p: Path) -> bool:
        """Whether a guard wrap at `p` can fit the style profile: the smallest one, a
        comparison of two atoms with an atom as the other branch, does."""
        a = self.int_atoms[0] if self.int_atoms else Const(0)
        return style_metrics(replace_at(hint, p, Ite(Op("=", (a, a)), subterm(hint, p), a)), self.style).fits

    def _swaps(self, hint: Expr) -> _Edits | None:
        """The hint with two of its (different) leaves of one sort exchanged: swapped
        operands. (A Bool leaf swapped with an int one is ill-sorted, and its value's
        sort would keep the others from stacking.)"""
        leaves = [(p, t) for p, t in walk(hint) if not children(t)]
        sorts = [self._quietly(lambda e: _is_bool(self.value(e)), t) for _, t in leaves]
        terms: list[Expr] = []
        values: list[BatchValue] = []
        for i, (p, a) in enumerate(leaves):
            for j, (q, b) in enumerate(leaves[i + 1:], i + 1):
                if a == b or sorts[i] != sorts[j]:
                    continue
                t = replace_at(replace_at(hint, p, b), q, a)
                v = self._quietly(self.value, t)
                if v is not None:
                    terms.append(t)
                    values.append(v)
        return self._quietly(lambda _: self._rows(terms, values), hint)

    @staticmethod
    def _quietly(edits: Callable[[Expr], T | None], s: Expr) -> T | None:
        """None where `s` cannot be evaluated (an unknown name, an ill-typed operator)."""
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                return edits(s)
        except (EvalError, TypeError, ValueError):
            return None

    def _eval_slots(self, term: Expr, paths: list[Path], slots: list[BatchValue], m: int,
                    each: EachCheck) -> np.ndarray:
        """Where the term with `slots` at `paths` (one row each) passes (rows x
        examples); nowhere when the term cannot be evaluated."""
        tpl = term
        for i, p in enumerate(paths):
            tpl = replace_at(tpl, p, slot_var(i))
        try:
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                v = template_value(tpl, slots, self.env)
        except (EvalError, TypeError, ValueError):  # an ill-typed or unbound context: no row counts
            return np.zeros((m, self.env.size), dtype=np.bool_)
        d = v.data
        size = self.env.size
        if not isinstance(d, np.ndarray) or d.shape != (m, size):
            d = np.broadcast_to(to_array(v, size), (m, size))
            v = BatchValue(d, v.lo, v.hi)
        return each(v, m)


def stack_values(values: Sequence[BatchValue], size: int) -> BatchValue | None:
    """Values on `size` examples as one matrix: a row for each 1-D value (or scalar), the
    rows of each 2-D one; bool, or ints (exact Python ints throughout when any row needs
    them) with merged bounds. None when Booleans and ints mix, or nothing is given."""
    if not values:
        return None
    datas = [v.data for v in values]
    kinds = {d.dtype if type(d) is np.ndarray and d.ndim == 1 else None for d in datas}
    # The common case: rows as they are, stacked at once (int64 rows beside exact-int rows
    # become exact ints, as below; row by row, that took a third of dyn_fee's search).
    if kinds == {np.dtype(np.bool_)} or (None not in kinds and kinds <= {np.dtype(np.int64), np.dtype(object)}):
        bounds = (None, None) if values[0].lo is None else \
            (min(int(v.lo) for v in values), max(int(v.hi) for v in values))  # type: ignore[arg-type]
        return BatchValue(np.stack(datas), *bounds)
    arrays = [np.atleast_2d(to_array(v, size)) for v in values]
    if any(a.dtype == np.bool_ for a in arrays):
        return BatchValue(np.concatenate(arrays), None, None) if all(a.dtype == np.bool_ for a in arrays) else None
    if any(a.dtype == object for a in arrays):
        arrays = [a.astype(object) for a in arrays]
    return BatchValue(np.concatenate(arrays), min(int(v.lo) for v in values),  # type: ignore[arg-type]
                      max(int(v.hi) for v in values))  # type: ignore[arg-type]


def _patterns(rows: np.ndarray, rank: np.ndarray) -> tuple[np.ndarray, list[list[int]]]:
    """The distinct rows of a Boolean matrix (in `np.unique`'s order), and for each the
    first `PER_PATTERN` row indices holding it, in `rank` order. Rows are compared as
    packed 64-bit words: `np.unique(axis=0)` sorted them byte by byte, seconds for the
    root guards of a grammar of 20 variables."""
    m, n = rows.shape
    packed = np.packbits(rows, axis=1)  # the first example in the highest bit
    words = np.zeros((m, -(-packed.shape[1] // 8) * 8), dtype=np.uint8)
    words[:, :packed.shape[1]] = packed
    keys = words.view(">u8")  # rows x words, compared in order as the bits are
    order = np.lexsort(keys.T[::-1]) if n else np.arange(m)
    ordered = keys[order]
    first = np.ones(m, dtype=np.bool_)
    first[1:] = (ordered[1:] != ordered[:-1]).any(axis=1)
    inverse = np.empty(m, dtype=np.int64)
    inverse[order] = np.cumsum(first) - 1
    pats = rows[order[first]]
    group = inverse[rank]
    by_group = np.argsort(group, kind="stable")  # rank order kept within a group
    grouped = group[by_group]
    place = np.arange(len(grouped)) - np.searchsorted(grouped, grouped)  # index within its group
    members: list[list[int]] = [[] for _ in range(len(pats))]
    for g, i in zip(grouped[place < PER_PATTERN].tolist(), rank[by_group][place < PER_PATTERN].tolist()):
        members[g].append(i)
    return pats, members


def _closest(xa: np.ndarray, gb: np.ndarray, key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The MAX_WRAPS pairs of lowest key (all when fewer): only the closest can be
    returned, the rest are not listed."""
    if len(xa) <= MAX_WRAPS:
        return xa, gb
    keep = np.argpartition(key, MAX_WRAPS)[:MAX_WRAPS]
    return xa[keep], gb[keep]


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


def _kept_at(s: Expr, edit: Expr, rel: Path) -> Path | None:
    """Where the subterm at `rel` (not empty) inside `s` stands in `edit`, one of
    `single_edits(s)`; None where the edit dropped it. An operator edit keeps its
    arguments in place, an ite replaced by a branch keeps that branch, swapped
    branches trade places."""
    if isinstance(s, Op):
        return rel
    if isinstance(s, Ite):
        if edit == Ite(s.cond, s.else_, s.then):
            return ((0, 2, 1)[rel[0]],) + rel[1:]
        if rel[0] > 0 and edit == children(s)[rel[0]]:
            return rel[1:]
    return None


def _is_prefix(p: Path, q: Path) -> bool:
    return len(p) < len(q) and q[:len(p)] == p


def _take(v: BatchValue, ix: np.ndarray) -> BatchValue:
    return BatchValue(v.data[ix], v.lo, v.hi)  # type: ignore[index]


__all__ = ["Neighbour", "Repairer", "stack_values"]
