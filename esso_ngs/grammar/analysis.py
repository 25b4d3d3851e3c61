"""Static facts about a grammar, each a small fixpoint over the rules.

Used by membership (unit closure, rule index), diagnostics (productive, reachable,
minimal sizes in context), and the bounded Lark text (minimal heights).
Unproductive nonterminals get `INF` for every minimum.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping

from .rules import Head, Rule, tpl_height

INF = float("inf")


def unit_closure(rules: Mapping[str, tuple[Rule, ...]]) -> dict[str, tuple[str, ...]]:
    """For each nonterminal, the nonterminals reachable through unit rules
    (`Expr -> Term`), itself first, in breadth-first (so deterministic) order."""
    out: dict[str, tuple[str, ...]] = {}
    for nt in rules:
        seen = [nt]
        queue = deque([nt])
        while queue:
            a = queue.popleft()
            for r in rules.get(a, ()):
                if r.is_unit:
                    b = r.slots[0][1]
                    if b not in seen:
                        seen.append(b)
                        queue.append(b)
        out[nt] = tuple(seen)
    return out


def unit_chain(rules: Mapping[str, tuple[Rule, ...]], src: str, dst: str) -> tuple[str, ...]:
    """Shortest chain of unit rules src -> ... -> dst, as the nonterminals visited."""
    prev: dict[str, str | None] = {src: None}
    queue = deque([src])
    while queue:
        a = queue.popleft()
        if a == dst:
            break
        for r in rules.get(a, ()):
            if r.is_unit and r.slots[0][1] not in prev:
                prev[r.slots[0][1]] = a
                queue.append(r.slots[0][1])
    chain = [dst]
    while prev.get(chain[-1]) is not None:
        chain.append(prev[chain[-1]])  # type: ignore[arg-type]
    return tuple(reversed(chain))


def rule_index(rules: Mapping[str, tuple[Rule, ...]], closure: Mapping[str, tuple[str, ...]]
               ) -> dict[str, dict[Head, tuple[Rule, ...]]]:
    """For each nonterminal, its non-unit rules and those of its unit closure, by the
    head of their template: a term is matched only against rules of its own head."""
    out: dict[str, dict[Head, tuple[Rule, ...]]] = {}
    for nt, reach in closure.items():
        by_head: dict[Head, list[Rule]] = {}
        for b in reach:
            for r in rules.get(b, ()):
                if not r.is_unit:
                    by_head.setdefault(r.tpl[1], []).append(r)  # type: ignore[arg-type]
        out[nt] = {h: tuple(rs) for h, rs in by_head.items()}
    return out


def _min_fixpoint(rules: Mapping[str, tuple[Rule, ...]], rule_value) -> dict[str, float]:
    """Least fixpoint of value[A] = min over rules of rule_value(rule, value)."""
    value: dict[str, float] = {nt: INF for nt in rules}
    changed = True
    while changed:
        changed = False
        for nt, rs in rules.items():
            for r in rs:
                v = rule_value(r, value)
                if v < value[nt]:
                    value[nt] = v
                    changed = True
    return value


def min_sizes(rules: Mapping[str, tuple[Rule, ...]]) -> dict[str, float]:
    """Fewest AST nodes of a term of each nonterminal (INF: unproductive)."""
    return _min_fixpoint(rules, lambda r, v: r.own_nodes + sum(v.get(b, INF) for _, b in r.slots))


def rule_min_size(r: Rule, sizes: Mapping[str, float]) -> float:
    return r.own_nodes + sum(sizes.get(b, INF) for _, b in r.slots)


def min_ites(rules: Mapping[str, tuple[Rule, ...]]) -> dict[str, float]:
    """Fewest ite nodes (branches) of a term of each nonterminal."""
    return _min_fixpoint(rules, lambda r, v: r.own_ites + sum(v.get(b, INF) for _, b in r.slots))


def rule_min_ites(r: Rule, ites: Mapping[str, float]) -> float:
    return r.own_ites + sum(ites.get(b, INF) for _, b in r.slots)


def rule_min_ite_depth(r: Rule, depth: Mapping[str, float]) -> float:
    inner = [above + depth.get(b, INF) for above, (_, b) in zip(r.slot_ites_above, r.slots)]
    return max([float(r.own_ite_depth), *inner])


def min_ite_depths(rules: Mapping[str, tuple[Rule, ...]]) -> dict[str, float]:
    """Least ite nesting of a term of each nonterminal."""
    return _min_fixpoint(rules, rule_min_ite_depth)


def min_heights(rules: Mapping[str, tuple[Rule, ...]]) -> dict[str, float]:
    """Least height (levels of nodes; an atom has height 1) per nonterminal."""
    def value(r: Rule, v: Mapping[str, float]) -> float:
        hs = {b: v.get(b, INF) for _, b in r.slots}
        if any(h == INF for h in hs.values()):
            return INF
        return tpl_height(r.tpl, hs)  # type: ignore[arg-type]
    return _min_fixpoint(rules, value)


def productive_rules(rules: Mapping[str, tuple[Rule, ...]], sizes: Mapping[str, float]
                     ) -> dict[str, tuple[Rule, ...]]:
    """Rules all of whose slots are productive (the others derive nothing)."""
    return {nt: tuple(r for r in rs if all(sizes.get(b, INF) < INF for _, b in r.slots))
            for nt, rs in rules.items()}


def reachable(rules: Mapping[str, tuple[Rule, ...]], start: str) -> set[str]:
    seen = {start} if start in rules else set()
    queue = deque(seen)
    while queue:
        a = queue.popleft()
        for r in rules.get(a, ()):
            for _, b in r.slots:
                if b not in seen and b in rules:
                    seen.add(b)
                    queue.append(b)
    return seen


def _context_fixpoint(rules: Mapping[str, tuple[Rule, ...]], start: str,
                      edges: Callable[[Rule, float], Iterable[tuple[str, float]]]) -> dict[str, float]:
    """Least value over the derivations from `start` of a quantity that adds up along
    rules: `edges(rule, value at its nonterminal)` gives (slot nonterminal, value there)."""
    ctx: dict[str, float] = {nt: INF for nt in rules}
    if start not in rules:
        return ctx
    ctx[start] = 0
    changed = True
    while changed:
        changed = False
        for a, rs in rules.items():
            if ctx[a] == INF:
                continue
            for r in rs:
                for b, v in edges(r, ctx[a]):
                    if v < ctx[b]:
                        ctx[b] = v
                        changed = True
    return ctx


def context_minimum(rules: Mapping[str, tuple[Rule, ...]], start: str,
                    mins: Mapping[str, float], own) -> dict[str, float]:
    """Least amount (nodes, or ites) that the *rest* of a start-derived term must
    have around an occurrence of each nonterminal: 0 for start; through a rule
    of A with slot B: ctx[A] + own(rule) + the least of the other slots.
    Only productive rules count (others appear in no finite term)."""
    def edges(r: Rule, here: float) -> list[tuple[str, float]]:
        slot_mins = [mins.get(b, INF) for _, b in r.slots]
        if any(m == INF for m in slot_mins):
            return []
        total = own(r) + sum(slot_mins)
        return [(b, here + total - m) for (_, b), m in zip(r.slots, slot_mins)]

    return _context_fixpoint(rules, start, edges)


def context_ite_depth(rules: Mapping[str, tuple[Rule, ...]], start: str,
                      sizes: Mapping[str, float]) -> dict[str, float]:
    """Least number of ite nodes above an occurrence of each nonterminal."""
    def edges(r: Rule, here: float) -> list[tuple[str, float]]:
        if any(sizes.get(b, INF) == INF for _, b in r.slots):
            return []
        return [(b, here + above) for above, (_, b) in zip(r.slot_ites_above, r.slots)]

    return _context_fixpoint(rules, start, edges)


def recursive_nonterminals(rules: Mapping[str, tuple[Rule, ...]]) -> set[str]:
    """Nonterminals that can derive a term containing themselves (through any rules,
    unit or not): the ones whose language may be infinite."""
    edges = {a: {b for r in rs for _, b in r.slots if b in rules} for a, rs in rules.items()}
    out: set[str] = set()
    for a in rules:
        seen: set[str] = set()
        stack = list(edges[a])
        while stack:
            b = stack.pop()
            if b == a:
                out.add(a)
                break
            if b not in seen:
                seen.add(b)
                stack.extend(edges[b])
    return out


def has_growing_cycle(rules: Mapping[str, tuple[Rule, ...]], live: frozenset[str]) -> bool:
    """Whether a live nonterminal reaches itself through at least one non-unit rule:
    exactly when the language is infinite (a cycle through unit rules only adds no
    node). `rules`: as from `productive_rules`; `live`: reachable and
    productive nonterminals."""
    edges = {a: [(b, r.is_unit) for r in rules.get(a, ()) for _, b in r.slots if b in live]
             for a in live}
    for a in live:
        # search states (nonterminal, grew?) for a path back to a that grew
        seen: set[tuple[str, bool]] = set()
        stack = [(b, not unit) for b, unit in edges[a]]
        while stack:
            b, grew = stack.pop()
            if b == a and grew:
                return True
            if (b, grew) in seen:
                continue
            seen.add((b, grew))
            stack.extend((c, grew or not unit) for c, unit in edges.get(b, ()))
    return False


def max_height_within(rules: Mapping[str, tuple[Rule, ...]], sizes: Mapping[str, float],
                      heights: Mapping[str, float], start: str, max_nodes: int) -> int:
    """The greatest height of a start term with at most `max_nodes` nodes.

    m[A, h] = least size of a term of A with height >= h: either the rule's own
    shape (slots at their least height) already reaches h, or one slot at template
    depth k carries height h - k. Unrolling a grammar by height up to this bound
    therefore loses no term of at most `max_nodes` nodes.
    """
    if start not in rules or sizes.get(start, INF) == INF:
        return 0
    table: dict[tuple[str, int], float] = {}

    def least(b: str, need: int, cur: Mapping[str, float], h: int) -> float:
        if need <= heights.get(b, INF):
            return sizes.get(b, INF)  # every term of b is that high already
        return cur[b] if need == h else table.get((b, need), INF)

    best = 0
    for h in range(1, max_nodes + 1):
        def rule_value(r: Rule, cur: Mapping[str, float], h: int = h) -> float:
            base = rule_min_size(r, sizes)
            if base == INF:
                return INF
            hs = {b: heights[b] for _, b in r.slots}
            cands = [base] if tpl_height(r.tpl, hs) >= h else []  # type: ignore[arg-type]
            for path, b in r.slots:
                cands.append(base - sizes[b] + least(b, h - len(path), cur, h))
            return min(cands, default=INF)

        cur = _min_fixpoint(rules, rule_value)
        if cur[start] > max_nodes:
            break
        best = h
        table.update({(nt, h): v for nt, v in cur.items()})
    return best
