"""Exact counts of *distinct* terms by size, and uniform sampling, by dynamic programming.

Counting derivations would over-count: spec grammars are often ambiguous
(`Expr -> Term | amount`, `Term -> amount`). A grammar of rule templates is a
regular tree grammar, so we determinize it bottom-up: the *state* of a term is
the set of symbols deriving it. Each term has exactly one state, so

    count[n][S] = number of distinct terms of size n whose state is S

partitions the terms, and the answer for size n sums count[n][S] over the states
S that contain the start symbol. Only states that actually occur are built.

Templates are first flattened: a nested template node that is not a slot becomes
an auxiliary symbol with a one-node production, so every production reads
`A -> head(X1, ..., Xk)`. A unit rule `A -> B` just puts A in every state that
has B.

For a head of arity k we combine children position by position, keeping the set
of productions still *alive* (whose first j children matched): that makes a
k-ary node cost k pairwise convolutions instead of a k-fold product of states.
The same tables drive uniform sampling, read backwards.
"""
from __future__ import annotations

import random
from typing import TYPE_CHECKING, Iterator

from ..lang.expr import BoolLit, Const, EnumLit, Expr, Ite, Op, Var
from ..memo import IdentityCache
from .rules import Head, Tpl, head_arity

if TYPE_CHECKING:
    from .compile import CompiledGrammar

State = frozenset  # of symbol names (nonterminals and auxiliary symbols)
Alive = frozenset  # of production indices


def build_term(head: Head, kids: tuple[Expr, ...]) -> Expr:
    tag = head[0]
    if tag == "$var":
        return Var(str(head[1]))
    if tag == "$int":
        return Const(int(head[1]))  # type: ignore[call-overload]
    if tag == "$bool":
        return BoolLit(bool(head[1]))
    if tag == "$enum":
        return EnumLit(str(head[1]))
    if tag == "ite":
        return Ite(*kids)
    return Op(str(tag), kids)


class TermCounter:
    def __init__(self, g: CompiledGrammar) -> None:
        self.g = g
        self.start = g.start
        # productions: (lhs symbol, head, child symbols)
        self.prods: list[tuple[str, Head, tuple[str, ...]]] = []
        aux: dict[Tpl, str] = {}

        def symbol_for(t: Tpl) -> str:
            if t[0] == "S":
                return t[1]  # type: ignore[return-value]
            if t not in aux:
                name = f"#aux{len(aux)}"
                aux[t] = name
                self.prods.append((name, t[1], tuple(symbol_for(k) for k in t[2])))  # type: ignore[arg-type,misc]
            return aux[t]

        for nt in g.nonterminals:
            for r in g.rules[nt]:
                if r.is_unit:
                    continue
                self.prods.append((nt, r.tpl[1], tuple(symbol_for(k) for k in r.tpl[2])))  # type: ignore[arg-type,misc]
        # up[B]: symbols deriving B through unit rules (B included).
        self.up: dict[str, frozenset[str]] = {}
        for a, reach in g.closure.items():
            for b in reach:
                self.up.setdefault(b, frozenset({b}))
                self.up[b] = self.up[b] | {a}
        self.by_head: dict[Head, list[int]] = {}
        for i, (_, head, _) in enumerate(self.prods):
            self.by_head.setdefault(head, []).append(i)
        self.leaf_heads = sorted((h for h in self.by_head if head_arity(h) == 0), key=repr)
        self.node_heads = sorted((h for h in self.by_head if head_arity(h) > 0), key=repr)
        self.count: list[dict[State, int]] = [{}]  # count[0] is empty: no term has size 0
        self._partial: dict[tuple[Head, int, int], dict[Alive, int]] = {}
        self._proj: dict[tuple[Head, int, int], dict[State, int]] = {}
        self._relevant: dict[tuple[Head, int], frozenset[str]] = {}
        self._close: dict[Alive, State] = {}
        self._filter: dict[tuple[Alive, int, State], Alive] = {}

    # ------------------------------------------------------------ automaton
    def close(self, alive: Alive) -> State:
        """State of a node whose alive productions are `alive`: their left-hand
        sides and everything above those through unit rules."""
        s = self._close.get(alive)
        if s is None:
            out: set[str] = set()
            for p in alive:
                lhs = self.prods[p][0]
                out |= self.up.get(lhs, frozenset({lhs}))
            s = self._close[alive] = frozenset(out)
        return s

    def relevant(self, head: Head, j: int) -> frozenset[str]:
        key = (head, j)
        r = self._relevant.get(key)
        if r is None:
            r = self._relevant[key] = frozenset(self.prods[p][2][j] for p in self.by_head[head])
        return r

    def filter(self, alive: Alive, j: int, q: State) -> Alive:
        key = (alive, j, q)
        out = self._filter.get(key)
        if out is None:
            out = self._filter[key] = frozenset(p for p in alive if self.prods[p][2][j] in q)
        return out

    # ------------------------------------------------------------ tables
    def table(self, n: int) -> dict[State, int]:
        while len(self.count) <= n:
            self.count.append(self._compute(len(self.count)))
        return self.count[n]

    def _compute(self, n: int) -> dict[State, int]:
        out: dict[State, int] = {}
        if n == 1:
            for head in self.leaf_heads:
                s = self.close(frozenset(self.by_head[head]))
                out[s] = out.get(s, 0) + 1
            return out
        for head in self.node_heads:
            k = head_arity(head)
            for alive, c in self.partial(head, k, n - 1).items():
                s = self.close(alive)
                out[s] = out.get(s, 0) + c
        return out

    def proj(self, head: Head, j: int, size: int) -> dict[State, int]:
        """count[size] projected onto the symbols that matter at child j of head."""
        key = (head, j, size)
        out = self._proj.get(key)
        if out is None:
            rel = self.relevant(head, j)
            out = {}
            for s, c in self.table(size).items():
                q = s & rel
                if q:
                    out[q] = out.get(q, 0) + c
            self._proj[key] = out
        return out

    def _extend(self, head: Head, j: int, s: int) -> Iterator[tuple[int, State, Alive, Alive, int]]:
        """The ways to fill the first j >= 1 children with total size s, by the last
        one: (its size, its projected state, the productions alive before it, alive
        after it, the number of such fillings)."""
        for nj in range(1, s - (j - 1) + 1):
            prev = self.partial(head, j - 1, s - nj)
            if not prev:
                continue
            for q, cq in self.proj(head, j - 1, nj).items():
                for alive, c in prev.items():
                    yield nj, q, alive, self.filter(alive, j - 1, q), c * cq

    def partial(self, head: Head, j: int, s: int) -> dict[Alive, int]:
        """Ways to fill the first j children of a `head` node with total size s,
        grouped by the productions still alive."""
        key = (head, j, s)
        out = self._partial.get(key)
        if out is not None:
            return out
        out = {}
        if j == 0:
            if s == 0:
                out[frozenset(self.by_head[head])] = 1
        else:
            for _, _, _, a2, ways in self._extend(head, j, s):
                if a2:
                    out[a2] = out.get(a2, 0) + ways
        self._partial[key] = out
        return out

    # ------------------------------------------------------------ public
    def counts(self, max_size: int, symbol: str | None = None) -> list[int]:
        sym = symbol or self.start
        if sym not in self.g.rules:
            return [0] * (max_size + 1)
        return [0] + [sum(c for s, c in self.table(n).items() if sym in s)
                      for n in range(1, max_size + 1)]

    def sample_term(self, rng: random.Random, size: int, symbol: str | None = None) -> Expr | None:
        """A uniformly random distinct term of `symbol` (default start) of this size."""
        sym = symbol or self.start
        states = [(s, c) for s, c in self.table(size).items() if sym in s]
        if not states:
            return None
        return self._sample_state(rng, size, _pick(rng, states))

    def _sample_state(self, rng: random.Random, n: int, state: State) -> Expr:
        if n == 1:
            heads = [(h, 1) for h in self.leaf_heads if self.close(frozenset(self.by_head[h])) == state]
            return build_term(_pick(rng, heads), ())
        options: list[tuple[tuple[Head, Alive], int]] = []
        for head in self.node_heads:
            for alive, c in self.partial(head, head_arity(head), n - 1).items():
                if self.close(alive) == state:
                    options.append(((head, alive), c))
        head, alive = _pick(rng, options)
        k = head_arity(head)
        # Walk the positions backwards, choosing (child size, projected child state).
        picks: list[tuple[int, State]] = []
        s = n - 1
        for j in range(k, 0, -1):
            opts: list[tuple[tuple[int, State, Alive], int]] = []
            for nj, q, a_prev, a2, ways in self._extend(head, j, s):
                if a2 == alive:
                    opts.append(((nj, q, a_prev), ways))
            nj, q, alive = _pick(rng, opts)
            picks.append((nj, q))
            s -= nj
        picks.reverse()
        kids: list[Expr] = []
        for j, (nj, q) in enumerate(picks):
            rel = self.relevant(head, j)
            full = [(st, c) for st, c in self.table(nj).items() if st & rel == q]
            kids.append(self._sample_state(rng, nj, _pick(rng, full)))
        return build_term(head, tuple(kids))


# One counter per grammar: its tables grow with the sizes asked for and are reused.
_COUNTERS: IdentityCache[TermCounter] = IdentityCache(256)


def term_counter(g: CompiledGrammar) -> TermCounter:
    """The grammar's counter (built once, kept while the grammar is in use)."""
    counter = _COUNTERS.get((g,))
    if counter is None:
        counter = _COUNTERS.put((g,), (), TermCounter(g))
    return counter


def count_by_size(g: CompiledGrammar, max_size: int) -> list[int]:
    """Exact number of distinct terms of each size 0..max_size (size = AST nodes)."""
    return term_counter(g).counts(max_size)


def _pick(rng: random.Random, weighted: list):
    """Exact weighted choice (counts can exceed float precision)."""
    total = sum(w for _, w in weighted)
    x = rng.randrange(total)
    for item, w in weighted:
        if x < w:
            return item
        x -= w
    raise AssertionError("unreachable")
