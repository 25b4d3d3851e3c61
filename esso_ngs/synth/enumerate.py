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
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Callable, Iterator, Mapping, Sequence

from ..grammar import CompiledGrammar, Rule
from ..lang.batched import (BatchEnv, BatchValue, apply_batch, batch_value, ite_batch, scalar_value,
                            to_array, value_key)
from ..lang.expr import (BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var, ite_count, ite_depth, node_count,
                         replace_at)
from ..spec.model import StyleProfile


@dataclass(slots=True)
class Entry:
    """One enumerated term of a nonterminal."""

    term: Expr
    level: int  # enumeration level (the weight, plus guidance extras)
    weight: int  # ast_node * nodes + branch * ites
    nodes: int
    ites: int
    depth: int  # ite nesting
    value: BatchValue

    def cost(self, nesting_penalty: int) -> int:
        return self.weight + nesting_penalty * self.depth


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


class Enumerator:
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
        self.banks: dict[str, dict[int, list[Entry]]] = {nt: {} for nt in grammar.nonterminals}
        self.seen: dict[str, set[tuple[bytes, int]]] = {nt: set() for nt in grammar.nonterminals}
        self.stats = EnumStats()
        live = grammar.productive & grammar.reachable
        self.rules = {nt: [r for r in grammar.rules.get(nt, ()) if all(b in live for _, b in r.slots)]
                      for nt in grammar.nonterminals if nt in live}
        self.unit_rules = [r for rs in self.rules.values() for r in rs if r.is_unit]
        self.slot_templates = {id(r): _slot_template(r) for rs in self.rules.values() for r in rs}

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
                for r in rules:
                    if r.is_unit:
                        continue
                    rl = self.rule_level(r)
                    if rl > level:
                        continue
                    for entry in self._apply(r, level - rl, level):
                        if self._add(nt, entry) and nt == start:
                            new_start.append(entry)
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
    def _apply(self, r: Rule, budget: int, level: int) -> Iterator[Entry]:
        k = len(r.slots)
        if k == 0:
            if budget == 0:
                entry = self._entry_of(r.template, level)
                if entry is not None:
                    yield entry
            return
        if budget < k:
            return
        banks = [self.banks[nt] for _, nt in r.slots]
        for split in _splits(budget, [sorted(b) for b in banks]):
            lists = [banks[i][w] for i, w in enumerate(split)]
            for combo in itertools.product(*lists):
                if self.stats.built % 1024 == 0 and self.should_stop(self.stats.built):
                    self.stopped = True
                    return
                entry = self._compose(r, combo, level)
                if entry is not None:
                    yield entry

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
        term = r.template
        for (path, _), kid in zip(r.slots, kids):
            term = replace_at(term, path, kid.term)
        value = _template_value(self.slot_templates[id(r)], [c.value for c in kids], self.env)
        weight = lim.ast_node * nodes + lim.branch * ites
        return Entry(term, level, weight, nodes, ites, depth, value)

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
        key = (value_key(to_array(entry.value, self.env.size)), entry.depth)
        seen = self.seen[nt]
        if key in seen:
            self.stats.pruned_equivalent += 1
            return False
        seen.add(key)
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
                    moved = Entry(entry.term, level, entry.weight, entry.nodes, entry.ites, entry.depth, entry.value)
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


_SLOT = "\x00slot"


def _slot_template(r: Rule) -> Expr:
    term = r.template
    for i, (path, _) in enumerate(r.slots):
        term = replace_at(term, path, Var(f"{_SLOT}{i}"))
    return term


def _template_value(t: Expr, slots: list[BatchValue], env: BatchEnv) -> BatchValue:
    if isinstance(t, Var):
        if t.name.startswith(_SLOT):
            return slots[int(t.name[len(_SLOT):])]
        return batch_value(t, env)
    if isinstance(t, Op):
        return apply_batch(t.op, [_template_value(a, slots, env) for a in t.args])
    if isinstance(t, Ite):
        return ite_batch(_template_value(t.cond, slots, env), _template_value(t.then, slots, env),
                         _template_value(t.else_, slots, env))
    if isinstance(t, Const):
        return scalar_value(t.value)
    if isinstance(t, BoolLit):
        return scalar_value(t.value)
    if isinstance(t, EnumLit):
        return scalar_value(env.enums[t.symbol])
    if isinstance(t, Hole):
        raise ValueError("a grammar rule cannot hold a hole")
    raise TypeError(f"not an expression: {t!r}")
