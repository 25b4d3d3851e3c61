"""Bottom-up enumeration of a grammar's terms, cheapest first, with observational
equivalence pruning.

Terms are built level by level. A term's *weight* is the additive part of the style
cost (`ast_node * nodes + branch * ites`); its cost adds `nesting * ite_depth`, which
is not additive but bounded, so `cost >= weight`: once level W is complete, every
term of cost <= W has been built, which is what lets the CEGIS loop take candidates
in exact cost order. Guidance (weights learned from hints) adds a non-negative
`extra` to each rule's level, and seeds put hint subterms in early: that reorders
the search ("likely and cheap first") at the price of the cost-order guarantee.

Two terms of one nonterminal with the same values on every example (and the same
ite depth, so that their costs compare like their weights) are interchangeable in
any context on those examples: only the first is kept.

Speed. A rule and a split of its level over its slots give the cartesian product of
the slots' entry lists: those combinations are built in bulk, in chunks of rows.
Each completed bank (one nonterminal at one earlier level) is stacked once into a
2-D array (entries x examples) with its entries' sizes; a chunk gathers its rows
from those arrays, checks the style limits on size arrays, and evaluates the rule's
template once over all its rows with the batched evaluator's own operations
(`apply_batch`, `ite_batch`, which work elementwise on 2-D arrays). Overflow: rows
whose every intermediate value is provably within +-2**61 (per-row magnitude
bounds, `magnitudes`) run in int64; the other rows (a child outside int64, or a
possibly large product) go through the batched evaluator with their banks' bounds,
which computes in int64 only when those bounds allow and on exact Python ints
otherwise. Rows are then keyed (`value_key`'s digest) and deduplicated in order
against `seen`, exactly as one-at-a-time building would, and terms (`Entry.term`)
are only assembled when asked for. The counters, the kept entries and their order,
and the `should_stop` calls (at every multiple of 1024 terms built) are those of
building each combination in turn, which is still what happens for templates that
are not well typed for their banks (e.g. a bank mixing Booleans and ints), or
without examples.
"""
from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import math
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np

from ..grammar import CompiledGrammar, Rule
from ..lang.batched import (
    I64_MAX,
    I64_MIN,
    BatchEnv,
    BatchValue,
    batch_value,
    to_array,
    value_key,
)
from ..lang.expr import Expr, ite_count, ite_depth, node_count, replace_at
from ..lang.templates import (
    SAFE_BOUND,
    SAFE_MAGNITUDE,
    canonical_rows,
    magnitudes,
    safe_template_value,
    slot_var,
    template_kind,
    template_value,
)
from ..formats.model import StyleProfile

_blake2b = hashlib.blake2b
_new_value = functools.partial(tuple.__new__, BatchValue)  # BatchValue from a (data, lo, hi) tuple


class Entry:
    """One enumerated term of a nonterminal.

    `term` is assembled from the children's terms on first access (most enumerated
    terms are never looked at); an Entry can also be made from a term directly.
    """

    __slots__ = ("_kids", "_rule", "_term", "_vkey", "depth", "ites", "level", "nodes", "value", "weight")

    def __init__(self, term: Expr | None, level: int, weight: int, nodes: int, ites: int, depth: int,
                 value: BatchValue, _rule: Rule | None = None, _kids: tuple[Entry, ...] | Entry | None = None,
                 _vkey: bytes | None = None) -> None:
        self._term = term
        self._rule = _rule  # with _kids: the term is the rule's template filled with the kids' terms
        self._kids = _kids  # an Entry alone: the same term as that entry
        self.level = level  # enumeration level (the weight, plus guidance extras)
        self.weight = weight  # ast_node * nodes + branch * ites
        self.nodes = nodes
        self.ites = ites
        self.depth = depth  # ite nesting
        self.value = value
        self._vkey = _vkey  # value_key of the values, once computed

    @property
    def term(self) -> Expr:
        t = self._term
        return t if t is not None else self._build()

    @term.setter
    def term(self, t: Expr) -> None:
        self._term, self._rule, self._kids = t, None, None

    def _build(self) -> Expr:
        # Iterative (terms can be deep): build every missing subterm bottom-up.
        stack: list[Entry] = [self]
        while stack:
            e = stack[-1]
            if e._term is not None:
                stack.pop()
                continue
            kids = e._kids
            if isinstance(kids, Entry):  # an alias (unit rule) of another entry
                if kids._term is None:
                    stack.append(kids)
                    continue
                e._term = kids._term
            else:
                assert kids is not None and e._rule is not None
                missing = [k for k in kids if k._term is None]
                if missing:
                    stack.extend(missing)
                    continue
                term = e._rule.template
                for (path, _), kid in zip(e._rule.slots, kids):
                    term = replace_at(term, path, kid._term)  # type: ignore[arg-type]
                e._term = term
            e._rule, e._kids = None, None
            stack.pop()
        return self._term  # type: ignore[return-value]

    def cost(self, nesting_penalty: int) -> int:
        return self.weight + nesting_penalty * self.depth

    def __repr__(self) -> str:
        return (f"Entry(term={self.term!r}, level={self.level}, weight={self.weight}, nodes={self.nodes}, "
                f"ites={self.ites}, depth={self.depth}, value={self.value!r})")


@dataclass(slots=True)
class EnumStats:
    built: int = 0  # terms constructed (before pruning)
    kept: int = 0  # terms kept after pruning
    pruned_equivalent: int = 0
    pruned_style: int = 0
    levels: list[tuple[int, int, int]] = field(default_factory=list)  # (level, built, kept)


@dataclass(frozen=True, slots=True)
class Limits:
    max_nodes: int | None
    max_branches: int | None
    max_nesting: int | None
    ast_node: int
    branch: int
    nesting: int

    @staticmethod
    def of(style: StyleProfile) -> "Limits":
        p = style.penalties
        # A zero node penalty would make a level hold infinitely many terms: enumerate
        # with at least 1 per node (costs are still reported with the spec's penalties).
        return Limits(style.max_ast_nodes, style.max_branches, style.max_nesting,
                      max(int(p.ast_node), 1), max(int(p.branch), 0), max(int(p.nesting), 0))

    def max_weight(self) -> int | None:
        if self.max_nodes is None:
            return None
        return self.ast_node * self.max_nodes + self.branch * (self.max_branches or 0)


class LevelDone:
    """Marker yielded when a level is complete."""

    __slots__ = ("level",)

    def __init__(self, level: int) -> None:
        self.level = level


class _Bank:
    """One completed bank (a nonterminal's entries of one level) as arrays.

    `data` stacks the values (entries x examples): bool, or int64 with zero rows in
    place of the entries outside int64 (flagged by `obj`; their exact rows are in
    `objdata`, built on demand). `lo`/`hi` bound the int64 rows, `lo_all`/`hi_all`
    every entry; `mag` is each entry's largest magnitude, as a float (see
    `magnitudes`). `kind` is "bool", "int", or "mixed" (both: built one at a time).
    """

    __slots__ = (
        "_objdata",
        "data",
        "depth",
        "entries",
        "hi",
        "hi_all",
        "ites",
        "kind",
        "lo",
        "lo_all",
        "mag",
        "mag_max",
        "n",
        "nodes",
        "obj",
    )

    def __init__(self, entries: list[Entry], size: int) -> None:
        n = len(entries)
        self.entries = entries
        self.n = n
        self.nodes = np.fromiter((e.nodes for e in entries), np.int64, n)
        self.ites = np.fromiter((e.ites for e in entries), np.int64, n)
        self.depth = np.fromiter((e.depth for e in entries), np.int64, n)
        self.obj: np.ndarray | None = None
        self._objdata: np.ndarray | None = None
        self.lo = self.hi = self.lo_all = self.hi_all = None
        self.mag = np.zeros(n, dtype=np.float64)  # max |value| per entry (inf: outside int64)
        self.mag_max = 0.0
        nbool = sum(1 for e in entries if e.value.lo is None)
        if 0 < nbool < n:
            self.kind = "mixed"
            self.data = None
            return
        if nbool:
            self.kind = "bool"
            data = np.empty((n, size), dtype=np.bool_)
            for i, e in enumerate(entries):
                data[i] = e.value.data
            self.data = data
            for i, e in enumerate(entries):  # share the stacked rows (one copy of the values)
                e.value = BatchValue(data[i], None, None)
            return
        self.kind = "int"
        data = np.zeros((n, size), dtype=np.int64)
        obj = np.zeros(n, dtype=np.bool_)
        for i, e in enumerate(entries):
            d = e.value.data
            if isinstance(d, np.ndarray):
                if d.dtype == np.int64:
                    data[i] = d
                else:
                    obj[i] = True
            elif I64_MIN <= d <= I64_MAX:
                data[i] = d
            else:
                obj[i] = True
        self.data = data
        self.lo, self.hi = (int(data.min()), int(data.max())) if size else (0, 0)
        if size:
            self.mag = np.abs(data.astype(np.float64)).max(axis=1)
            self.mag[obj] = np.inf
            self.mag_max = float(self.mag.max())
        self.lo_all, self.hi_all = self.lo, self.hi
        if obj.any():
            self.obj = obj
            for i in np.flatnonzero(obj).tolist():
                v = entries[i].value
                self.lo_all = min(self.lo_all, v.lo)
                self.hi_all = max(self.hi_all, v.hi)
        for i, e in enumerate(entries):
            if not obj[i]:
                e.value = BatchValue(data[i], e.value.lo, e.value.hi)

    def objdata(self) -> np.ndarray:
        """Every entry's exact values as an object array (entries x examples)."""
        if self._objdata is None:
            out = self.data.astype(object)  # type: ignore[union-attr]
            for i in np.flatnonzero(self.obj).tolist():  # type: ignore[arg-type]
                out[i] = self.entries[i].value.data
            self._objdata = out
        return self._objdata


# Seconds to free one kept term's objects (its Entry, children tuple, value, key; the
# pruned ones are freed as the search goes), measured once by `benchmarks/bench_budget.py`
# (the `-v` line "its banks freed in"): 0.3-0.6 us per term kept on kinked_rate,
# clamp_price and vault_shares (90,000 to 1.2M kept, 0.06-0.38 s; a 2-core machine at
# load 2). A search that ends by a deadline stops this much before it per term kept
# (`Enumerator.teardown_s`): the freeing happens after it returns, still on its clock.
# Too high a value stops a search a little early; too low lets the process end late.
TEARDOWN_S_PER_KEPT = 0.45e-6


class Enumerator:
    # Rows built per chunk: each chunk costs one pass of numpy calls over the rule's
    # template, so chunks should be large, but not so large as to leave the caches.
    chunk_cells = 1 << 17

    def __init__(self, grammar: CompiledGrammar, env: BatchEnv, limits: Limits,
                 rule_extra: Mapping[tuple[str, int], int] | None = None,
                 seeds: Sequence[tuple[str, Expr, int]] = (),
                 max_level: int | None = None, should_stop: Callable[[int], bool] | None = None) -> None:
        self.g = grammar
        self.env = env
        self.limits = limits
        self.rule_extra = dict(rule_extra or {})
        self.seeds = list(seeds)  # (nonterminal, term, level)
        self.max_level = max_level
        self.top_level: int | None = None  # known once `terms()` starts
        self.should_stop = should_stop or (lambda _built: False)  # asked with the count of terms built
        self.stopped = False
        # The value keys kept, per nonterminal and ite depth: a set per depth holds the
        # entries' own key bytes, where a set of (key, depth) would add a tuple per term
        # (a seventh of the objects the search leaves to free, and nearly half the time
        # freeing them takes: benchmarks/results/budget.md).
        self.seen: dict[str, dict[int, set[bytes]]] = {nt: {} for nt in grammar.nonterminals}
        self.banks: dict[str, dict[int, list[Entry]]] = {nt: {} for nt in grammar.nonterminals}
        self.stats = EnumStats()
        live = grammar.productive & grammar.reachable
        self.rules = {nt: [r for r in grammar.rules.get(nt, ()) if all(b in live for _, b in r.slots)]
                      for nt in grammar.nonterminals if nt in live}
        self.unit_rules = [r for rs in self.rules.values() for r in rs if r.is_unit]
        self.slot_templates = {id(r): _slot_template(r) for rs in self.rules.values() for r in rs}
        self._arrays: dict[tuple[str, int], _Bank] = {}  # completed banks, stacked
        self._typed: dict[tuple[int, tuple[str, ...]], bool] = {}  # (rule, slot kinds) -> well typed
        self._chunk_rows = max(1024, self.chunk_cells // max(env.size, 1))
        # The longest step so far that cannot pause for `should_stop`: stacking a split's
        # banks, or building a chunk (seconds; `stop_margin_s`).
        self.longest_step_s = 0.0

    def teardown_s(self) -> float:
        """About how long freeing this enumerator's banks will take (TEARDOWN_S_PER_KEPT)."""
        return TEARDOWN_S_PER_KEPT * self.stats.kept

    def stop_margin_s(self) -> float:
        """How long before a deadline to stop: freeing the banks (`teardown_s`), and the next
        step that cannot pause (a split's banks stacked, or a chunk: `should_stop` is asked
        before it), taken to last as long as the longest so far. (Both steps back to back
        are possible, but keeping their sum in reserve stopped searches 0.15-0.4 s early.)"""
        return self.teardown_s() + self.longest_step_s

    # -------------------------------------------------------------- levels
    def rule_level(self, r: Rule) -> int:
        own = self.limits.ast_node * r.own_nodes + self.limits.branch * r.own_ites
        return own + self.rule_extra.get((r.nonterminal, r.index), 0)

    def terms(self) -> Iterator[Entry | LevelDone]:
        """New start-symbol entries, level by level, each level closed by LevelDone."""
        bound = self.limits.max_weight()
        top = self.max_level
        if bound is not None:
            # Guidance raises a term's level by at most the largest extra per node.
            stretch = max(self.rule_extra.values(), default=0) * (self.limits.max_nodes or 1)
            top = bound + stretch if top is None else min(top, bound + stretch)
        if top is None:
            top = 10_000
        self.top_level = top
        start = self.g.start
        for level in range(1, top + 1):
            before = (self.stats.built, self.stats.kept)
            new_start: list[Entry] = []
            for nt, rules in self.rules.items():
                out = new_start if nt == start else None
                for r in rules:
                    if r.is_unit:
                        continue
                    rl = self.rule_level(r)
                    if rl > level:
                        continue
                    self._apply(nt, r, level - rl, level, out)
                    if self.stopped:
                        return
            for nt, term, seed_level in self.seeds:
                if seed_level == level:
                    entry = self._entry_of(term, level)
                    if entry is not None and self._add(nt, entry) and nt == start:
                        new_start.append(entry)
            new_start.extend(self._unit_closure(level))
            self.stats.levels.append((level, self.stats.built - before[0], self.stats.kept - before[1]))
            yield from new_start
            yield LevelDone(level)

    # -------------------------------------------------------------- building
    def _apply(self, nt: str, r: Rule, budget: int, level: int, out: list[Entry] | None) -> None:
        """Build the rule's terms of this level, keeping the new ones (`out` collects
        them when `nt` is the start symbol)."""
        k = len(r.slots)
        if k == 0:
            if budget == 0:
                entry = self._entry_of(r.template, level)
                if entry is not None and self._add(nt, entry) and out is not None:
                    out.append(entry)
            return
        if budget < k:
            return
        banks = [self.banks[snt] for _, snt in r.slots]
        for split in _splits(budget, [sorted(b) for b in banks]):
            if self.env.size == 0 or any(w >= level for w in split):
                self._split_one_by_one(nt, r, [banks[i][w] for i, w in enumerate(split)], level, out)
            else:
                t0 = time.perf_counter()
                stacked = [self._bank(snt, w) for (_, snt), w in zip(r.slots, split)]
                self.longest_step_s = max(self.longest_step_s, time.perf_counter() - t0)
                self._split_bulk(nt, r, stacked, level, out)
            if self.stopped:
                return

    def _bank(self, nt: str, w: int) -> _Bank:
        bank = self._arrays.get((nt, w))
        if bank is None or bank.n != len(self.banks[nt][w]):
            bank = self._arrays[(nt, w)] = _Bank(self.banks[nt][w], self.env.size)
        return bank

    def _split_one_by_one(self, nt: str, r: Rule, lists: list[list[Entry]], level: int,
                          out: list[Entry] | None) -> None:
        for combo in itertools.product(*lists):
            if self.stats.built % 1024 == 0 and self.should_stop(self.stats.built):
                self.stopped = True
                return
            entry = self._compose(r, combo, level)
            if entry is not None and self._add(nt, entry) and out is not None:
                out.append(entry)

    def _split_bulk(self, nt: str, r: Rule, banks: list[_Bank], level: int, out: list[Entry] | None) -> None:
        sizes = [b.n for b in banks]
        total = math.prod(sizes)
        pos = 0
        while pos < total:
            built = self.stats.built
            end = min(total, pos + self._chunk_rows)
            # `should_stop` is asked before the combination built as number 1024 * i.
            stop_at = None
            off = (-built) % 1024
            while pos + off < end:
                if self.should_stop(built + off):
                    stop_at = pos + off
                    break
                off += 1024
            if stop_at is not None:
                end = stop_at
            if end > pos:
                t0 = time.perf_counter()
                self._chunk(nt, r, banks, sizes, pos, end, level, out)
                self.longest_step_s = max(self.longest_step_s, time.perf_counter() - t0)
            if stop_at is not None:
                self.stopped = True
                return
            pos = end

    def _chunk(self, nt: str, r: Rule, banks: list[_Bank], sizes: list[int], pos: int, end: int, level: int,
               out: list[Entry] | None) -> None:
        """Combinations pos..end-1 (in `itertools.product` order) of a split."""
        m = end - pos
        k = len(banks)
        ids: list[np.ndarray] = [None] * k  # type: ignore[list-item]
        rem = np.arange(pos, end, dtype=np.int64)
        for i in range(k - 1, 0, -1):
            rem, ids[i] = np.divmod(rem, sizes[i])
        ids[0] = rem
        nodes = banks[0].nodes[ids[0]] + r.own_nodes
        ites = banks[0].ites[ids[0]] + r.own_ites
        depth = np.maximum(banks[0].depth[ids[0]] + r.slot_ites_above[0], r.own_ite_depth)
        for i in range(1, k):
            nodes += banks[i].nodes[ids[i]]
            ites += banks[i].ites[ids[i]]
            np.maximum(depth, banks[i].depth[ids[i]] + r.slot_ites_above[i], out=depth)
        self.stats.built += m
        lim = self.limits
        ok = None
        if lim.max_nodes is not None:
            ok = nodes <= lim.max_nodes
        if lim.max_branches is not None:
            ok = ites <= lim.max_branches if ok is None else ok & (ites <= lim.max_branches)
        if lim.max_nesting is not None:
            ok = depth <= lim.max_nesting if ok is None else ok & (depth <= lim.max_nesting)
        if ok is not None:
            n_ok = int(np.count_nonzero(ok))
            if n_ok < m:
                self.stats.pruned_style += m - n_ok
                if n_ok == 0:
                    return
                ids = [ix[ok] for ix in ids]
                nodes, ites, depth = nodes[ok], ites[ok], depth[ok]
                m = n_ok

        values = self._values(r, banks, ids, m)
        if values is None:  # a template not well typed for these banks: one at a time
            combos = [tuple(b.entries[i] for b, i in zip(banks, t))
                      for t in zip(*(ix.tolist() for ix in ids))]
            tpl = self.slot_templates[id(r)]
            size = self.env.size
            vals = [template_value(tpl, [c.value for c in combo], self.env) for combo in combos]
            keys = [value_key(to_array(v, size)) for v in vals]
        else:
            kind, rows, big = values
            tag = b"b" if kind == "b" else b"i"
            raw = rows.view(np.dtype((np.void, rows.shape[1] * rows.itemsize))).ravel().tolist()
            keys = [_blake2b(tag + x, digest_size=16).digest() for x in raw]
            for j, (row, _, _) in big.items():
                keys[j] = _blake2b(b"o" + ",".join(map(str, row.tolist())).encode(), digest_size=16).digest()

        # Keep the first row of each new (values, depth): a row is new when no earlier
        # row of the chunk and nothing in `seen` has its key, depth by depth.
        seen = self.seen[nt]
        if depth.min() == depth.max():  # one depth (all of them, in grammars without ite)
            groups: Iterator[tuple[int, list[bytes], Sequence[int]]] = iter([(int(depth[0]), keys, range(m))])
        else:
            groups = ((d, list(map(keys.__getitem__, at)), at)
                      for d in np.unique(depth).tolist() for at in [np.flatnonzero(depth == d).tolist()])
        kept: list[int] = []
        for d, dkeys, at in groups:
            first = dict(zip(reversed(dkeys), reversed(at)))  # key -> its first row
            known = seen.get(d)
            if known is None:
                known = seen[d] = set()
            new = first.keys() - known
            known |= new
            kept.extend(map(first.__getitem__, new))
        self.stats.pruned_equivalent += m - len(kept)
        if not kept:
            return
        self.stats.kept += len(kept)
        kept.sort()

        sel = np.array(kept, dtype=np.intp)
        ns, its, ds = nodes[sel], ites[sel], depth[sel]
        w_list = (lim.ast_node * ns + lim.branch * its).tolist()
        n_list, i_list, d_list = ns.tolist(), its.tolist(), ds.tolist()
        kid_rows = list(zip(*[map(b.entries.__getitem__, ix[sel].tolist()) for b, ix in zip(banks, ids)]))
        if values is None:
            vs = [vals[j] for j in kept]
        else:
            compact = rows[sel]
            if kind == "b":
                vs = list(map(_new_value, zip(compact, itertools.repeat(None), itertools.repeat(None))))
            else:
                vs = list(map(_new_value, zip(compact, compact.min(axis=1).tolist(), compact.max(axis=1).tolist())))
                for j, v in big.items():  # rows outside int64 keep their exact values
                    t = bisect.bisect_left(kept, j)
                    if t < len(kept) and kept[t] == j:
                        vs[t] = BatchValue(*v)
        bank = self.banks[nt].setdefault(level, [])
        made = [Entry(None, level, w, n, i, d, v, r, kids, keys[j])
                for w, n, i, d, v, kids, j in zip(w_list, n_list, i_list, d_list, vs, kid_rows, kept)]
        bank.extend(made)
        if out is not None:
            out.extend(made)

    def _values(self, r: Rule, banks: list[_Bank], ids: list[np.ndarray], m: int
                ) -> tuple[str, np.ndarray, dict[int, tuple[np.ndarray, int, int]]] | None:
        """The template's values on the rows: ("b" or "i", rows, rows outside int64).

        The rows array is bool or int64 (rows x examples); the rows outside int64
        (zero there) map to (exact object row, lo, hi). None when the template is
        not well typed for these banks (then rows are built one at a time).

        Rows whose every intermediate value is provably small (`magnitudes`) are
        computed in int64 in one pass; the others with the batched evaluator's
        own bounds discipline (int64 when its bounds allow, exact ints otherwise).
        """
        tpl = self.slot_templates[id(r)]
        sig = (id(r), tuple(b.kind for b in banks))
        typed = self._typed.get(sig)
        if typed is None:
            typed = self._typed[sig] = template_kind(tpl, sig[1], self.env) is not None
        if not typed:
            return None
        with np.errstate(over="ignore", invalid="ignore"):
            _, worst = magnitudes(tpl, [b.mag_max for b in banks], self.env)
            if worst <= SAFE_MAGNITUDE:
                return canonical_rows(self._eval(tpl, banks, ids, m, True), m)
            _, worst = magnitudes(tpl, [b.mag[ix] for b, ix in zip(banks, ids)], self.env)
            safe = np.asarray(worst <= SAFE_MAGNITUDE, dtype=np.bool_)  # NaN (inf * 0) is not safe
        n_safe = int(np.count_nonzero(safe))
        if n_safe == m:
            return canonical_rows(self._eval(tpl, banks, ids, m, True), m)
        rest = ~safe
        part_rest = canonical_rows(self._eval(tpl, banks, [ix[rest] for ix in ids], m - n_safe, False), m - n_safe)
        if n_safe == 0:
            return part_rest
        part_safe = canonical_rows(self._eval(tpl, banks, [ix[safe] for ix in ids], n_safe, True), n_safe)
        if part_safe[0] != part_rest[0]:
            return None
        rows = np.empty((m, self.env.size), dtype=part_safe[1].dtype)
        rows[safe] = part_safe[1]
        rows[rest] = part_rest[1]
        where = np.flatnonzero(rest)
        big = {int(where[j]): v for j, v in part_rest[2].items()}  # safe rows all fit
        return part_safe[0], rows, big

    def _eval(self, tpl: Expr, banks: list[_Bank], ids: list[np.ndarray], m: int, safe: bool) -> BatchValue:
        """The template on the rows (2-D values): `safe` rows in int64 (see `safe_template_value`),
        others exactly, through the batched evaluator."""
        args = []
        for b, ix in zip(banks, ids):
            if b.kind == "bool":
                args.append(BatchValue(b.data[ix], None, None))  # type: ignore[index]
            elif safe:
                args.append(BatchValue(b.data[ix], -SAFE_BOUND, SAFE_BOUND))  # type: ignore[index]
            elif b.obj is not None:
                args.append(BatchValue(b.objdata()[ix], b.lo_all, b.hi_all))
            else:
                args.append(BatchValue(b.data[ix], b.lo, b.hi))  # type: ignore[index]
        v = safe_template_value(tpl, args, self.env) if safe else template_value(tpl, args, self.env)
        d = v.data
        size = self.env.size
        if not isinstance(d, np.ndarray) or d.shape != (m, size):
            d = np.broadcast_to(to_array(v, size), (m, size))
        return BatchValue(d, v.lo, v.hi)

    def _compose(self, r: Rule, kids: tuple[Entry, ...], level: int) -> Entry | None:
        self.stats.built += 1
        lim = self.limits
        nodes = r.own_nodes + sum(c.nodes for c in kids)
        ites = r.own_ites + sum(c.ites for c in kids)
        depth = max([r.own_ite_depth] + [c.depth + above for c, above in zip(kids, r.slot_ites_above)])
        if (lim.max_nodes is not None and nodes > lim.max_nodes) or \
                (lim.max_branches is not None and ites > lim.max_branches) or \
                (lim.max_nesting is not None and depth > lim.max_nesting):
            self.stats.pruned_style += 1
            return None
        value = template_value(self.slot_templates[id(r)], [c.value for c in kids], self.env)
        weight = lim.ast_node * nodes + lim.branch * ites
        return Entry(None, level, weight, nodes, ites, depth, value, r, kids)

    def _entry_of(self, term: Expr, level: int) -> Entry | None:
        self.stats.built += 1
        nodes, ites, depth = node_count(term), ite_count(term), ite_depth(term)
        lim = self.limits
        if (lim.max_nodes is not None and nodes > lim.max_nodes) or \
                (lim.max_branches is not None and ites > lim.max_branches) or \
                (lim.max_nesting is not None and depth > lim.max_nesting):
            self.stats.pruned_style += 1
            return None
        value = batch_value(term, self.env)
        return Entry(term, level, lim.ast_node * nodes + lim.branch * ites, nodes, ites, depth, value)

    def _add(self, nt: str, entry: Entry) -> bool:
        vkey = entry._vkey
        if vkey is None:
            vkey = entry._vkey = value_key(to_array(entry.value, self.env.size))
        seen = self.seen[nt].setdefault(entry.depth, set())
        if vkey in seen:
            self.stats.pruned_equivalent += 1
            return False
        seen.add(vkey)
        self.banks[nt].setdefault(entry.level, []).append(entry)
        self.stats.kept += 1
        return True

    def _unit_closure(self, level: int) -> list[Entry]:
        """Unit rules (A -> B) pass B's new entries of this level on to A."""
        new_start: list[Entry] = []
        changed = True
        while changed:
            changed = False
            for r in self.unit_rules:
                a, b = r.nonterminal, r.slots[0][1]
                src_level = level - self.rule_level(r)
                for entry in list(self.banks[b].get(src_level, [])):
                    moved = Entry(entry._term, level, entry.weight, entry.nodes, entry.ites, entry.depth,
                                  entry.value)
                    if entry._term is None:
                        moved._kids = entry  # the same term, built when needed
                    moved._vkey = entry._vkey
                    if self._add(a, moved):
                        changed = True
                        if a == self.g.start:
                            new_start.append(moved)
        return new_start


def _splits(total: int, available: list[list[int]]) -> Iterator[tuple[int, ...]]:
    """Tuples of levels, one per slot from its available levels, summing to `total`."""
    if len(available) == 1:
        if total in available[0]:
            yield (total,)
        return
    rest_min = sum(a[0] for a in available[1:] if a) if all(available[1:]) else None
    if rest_min is None or not available[0]:
        return
    for w in available[0]:
        if w + rest_min > total:
            break
        for tail in _splits(total - w, available[1:]):
            yield (w,) + tail


def _slot_template(r: Rule) -> Expr:
    term = r.template
    for i, (path, _) in enumerate(r.slots):
        term = replace_at(term, path, slot_var(i))
    return term
