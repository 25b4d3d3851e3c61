"""Lark grammar text for a compiled grammar, in the subset both engines accept.

The same text serves `lark` (parsing, pre-filtering) and llguidance (token-level
constrained decoding). Dialect rules we keep to (found by testing both):

- Entry rule `start`; rule names lowercase, prefixed `nt_` so no nonterminal can
  clash with `start` or with each other after lowercasing (duplicates get `_2`).
- Terminals are only string literals, one per *word* of the canonical syntax:
  `"("`, the operator, `" "`, each atom, `")"`. Never a literal that spans a space
  or a parenthesis (such as `"(* amount bps)"` or `"(safe_div "`): llguidance's
  lexer commits to the longest literal with one byte of lookahead, so with both
  `"(* amount bps)"` and `"(* "` allowed it rejects `(* amount fee)` after
  reading `(* a`. Words end at a space or `)`, which continue no word, so
  longest-match lexing is always right.
- No `%import`, no `%ignore`, no regexes, no templates, no `?rule` / `_rule`
  inlining, no priorities: whitespace is exactly one space, as in `to_sexpr`.
- Only live rules (reachable from start, all slots productive): lark rejects
  references to undefined rules, and an unproductive rule would let a constrained
  decoder walk into a dead end.

The text is grammatical for lark's Earley parser. LALR works too when the grammar
is unambiguous, but spec grammars often are not (`Expr -> Term | amount` with
`Term -> amount`), so use Earley.
"""
from __future__ import annotations

import json
import re
from collections import deque
from functools import lru_cache
from typing import TYPE_CHECKING

from ..errors import UserError
from ..memo import IdentityCache
from ..wording import plural
from .analysis import INF, max_height_within, productive_rules
from .rules import Rule, Tpl, head_text

if TYPE_CHECKING:
    from .compile import CompiledGrammar


class EmptyLanguageError(UserError):
    """The grammar (or its bounded version) derives no term: no Lark text can say so."""


def lark_name(g: CompiledGrammar, nt: str) -> str:
    """The Lark rule name of nonterminal `nt` in `g`'s texts."""
    return lark_rule_names(g.nonterminals)[nt]


@lru_cache(maxsize=256)
def lark_rule_names(nonterminals: tuple[str, ...]) -> dict[str, str]:
    """Lark-safe, distinct rule names: `nt_` + lowercased name, runs of non
    alphanumerics as one `_` (so `__` never occurs: bounded names use it)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for nt in nonterminals:
        base = "nt_" + (re.sub(r"[^a-z0-9]+", "_", nt.lower()).strip("_") or "x")
        name, k = base, 2
        while name in used:
            name, k = f"{base}_{k}", k + 1
        used.add(name)
        out[nt] = name
    return out


def _lit(word: str) -> str:
    return json.dumps(word)  # both dialects read JSON-style escapes in "..."


def tpl_to_lark(tpl: Tpl, slot_name) -> str:
    """The Lark sequence for a template; `slot_name(path, nt)` names slot rules."""
    parts: list[str] = []

    def emit(t: Tpl, path: tuple[int, ...]) -> None:
        if t[0] == "S":
            parts.append(slot_name(path, t[1]))
            return
        head = t[1]
        kids: tuple[Tpl, ...] = t[2]  # type: ignore[assignment]
        if not kids:
            parts.append(_lit(head_text(head)))  # type: ignore[arg-type]
            return
        parts.append(_lit("("))
        parts.append(_lit(head_text(head)))  # type: ignore[arg-type]
        for i, k in enumerate(kids):
            parts.append(_lit(" "))
            emit(k, path + (i,))
        parts.append(_lit(")"))

    emit(tpl, ())
    return " ".join(parts)


def _rule_block(name: str, alternatives: list[str]) -> str:
    if not alternatives:
        raise AssertionError(f"rule {name} has no alternatives")
    return f"{name}: " + "\n    | ".join(alternatives)


def live_rules(g: CompiledGrammar) -> dict[str, tuple[Rule, ...]]:
    """Rules of nonterminals reachable from start through productive rules, whose
    slots are all productive."""
    if g.is_empty:
        raise EmptyLanguageError(f"grammar {g.grammar_id}: {g.start} derives no term, "
                                 "so there is no Lark grammar for it")
    keep: dict[str, tuple[Rule, ...]] = {}
    queue = deque([g.start])
    while queue:
        a = queue.popleft()
        if a in keep:
            continue
        rs = tuple(r for r in g.rules[a] if all(b in g.productive for _, b in r.slots))
        keep[a] = rs
        queue.extend(b for r in rs for _, b in r.slots if b not in keep)
    return keep


def _header(g: CompiledGrammar, extra: str = "") -> str:
    # A comment line: both dialects accept `//` comments.
    return (f"// esso-ngs grammar {g.grammar_id}, start {g.start}: canonical S-expression "
            f"terms, single spaces{extra}\n")


# The full text of each grammar, computed once: a hole's grammar is reused across
# rounds and samples.
_FULL_TEXT: IdentityCache[str] = IdentityCache(256)


def lark_text(g: CompiledGrammar) -> str:
    """Full grammar in the Lark dialect that both lark and llguidance accept;
    entry rule `start`; canonical term syntax (single spaces)."""
    text = _FULL_TEXT.get((g,))
    if text is None:
        text = _FULL_TEXT.put((g,), (), _full_lark_text(g))
    return text


def _full_lark_text(g: CompiledGrammar) -> str:
    live = live_rules(g)
    names = lark_rule_names(g.nonterminals)
    blocks = [f"start: {names[g.start]}"]
    for nt in g.nonterminals:
        if nt in live:
            alts = [tpl_to_lark(r.tpl, lambda _p, b: names[b]) for r in live[nt]]
            blocks.append(_rule_block(names[nt], alts))
    return _header(g) + "\n".join(blocks) + "\n"


# ---------------------------------------------------------------- bounded
def _fixed_height(tpl: Tpl) -> int:
    """Height of the template's own nodes (a slot counts 0)."""
    if tpl[0] == "S":
        return 0
    return 1 + max((_fixed_height(k) for k in tpl[2]), default=0)  # type: ignore[misc]


def _finite_extent(g: CompiledGrammar, live: dict[str, tuple[Rule, ...]]
                   ) -> dict[str, tuple[float, float]]:
    """(max height, max ite depth) of every non-recursive live nonterminal; INF for
    recursive ones. A nonterminal whose whole language fits a bound is referenced
    by its full rule instead of being unrolled."""
    memo: dict[str, tuple[float, float]] = {}

    def extent(a: str, stack: frozenset[str]) -> tuple[float, float]:
        if a in memo:
            return memo[a]
        if a in stack or a in g.recursive:
            return (INF, INF)
        h_best, n_best = 0.0, 0.0
        for r in live[a]:
            slot_ext = {b: extent(b, stack | {a}) for _, b in r.slots}
            h = _height_with(r.tpl, {b: e[0] for b, e in slot_ext.items()})
            n = max([float(r.own_ite_depth)] + [above + slot_ext[b][1] for above, (_, b)
                                                in zip(r.slot_ites_above, r.slots)])
            h_best, n_best = max(h_best, h), max(n_best, n)
        memo[a] = (h_best, n_best)
        return memo[a]

    for a in live:
        extent(a, frozenset())
    return memo


def _height_with(tpl: Tpl, slot_h: dict[str, float]) -> float:
    if tpl[0] == "S":
        return slot_h[tpl[1]]  # type: ignore[index]
    return 1 + max((_height_with(k, slot_h) for k in tpl[2]), default=0)  # type: ignore[misc]


def bounded_lark_text(g: CompiledGrammar, max_nodes: int | None = None,
                      max_nesting: int | None = None, max_depth: int | None = None) -> str:
    """A finite version of the grammar for token-constrained decoding.

    Exactly bounded: term height (levels of nodes) <= max_depth and ite nesting
    <= max_nesting. max_depth defaults to the greatest height a term of at most
    `max_nodes` nodes can have in this grammar, so every term within max_nodes and
    max_nesting is kept; the node count itself is bounded only through the height
    (some larger terms remain: check them with `check_term`/`style_metrics`). Defaults
    come from the style profile (max_ast_nodes, max_nesting); without any limit,
    max_nodes = 12.

    Every nonterminal is unrolled by remaining height (and ite nesting, when
    bounded): `nt_expr__h4_i1` derives the terms of Expr with height <= 4 and ite
    depth <= 1. A slot at template depth k gets height budget h - k and ite budget i
    minus the ite nodes above it; a unit slot keeps both (unit cycles then stay on
    one level, which both engines handle). The result is a finite language."""
    if max_nodes is None:
        max_nodes = g.style.max_ast_nodes if g.style and g.style.max_ast_nodes else 12
    if max_nesting is None and g.style is not None:
        max_nesting = g.style.max_nesting
    live = live_rules(g)
    if max_depth is None:
        prod = productive_rules(g.rules, g.min_size)
        max_depth = max_height_within(prod, g.min_size, g.min_height, g.start, max_nodes)
    if max_depth < 1:
        raise EmptyLanguageError(f"grammar {g.grammar_id}: no term of {g.start} has at most "
                                 f"{plural(max_nodes, 'node')}")
    nest_cap = max_nesting  # None: ite nesting not bounded
    names = lark_rule_names(g.nonterminals)
    extent = _finite_extent(g, live)

    # feasible(a, h, i): does a derive some term within height h and ite depth i?
    feas: dict[tuple[str, int, int | None], bool] = {}

    def level_feasible(h: int, i: int | None) -> None:
        # Least fixpoint on one (h, i) level: unit rules stay on the level, every
        # other slot goes to a lower height, already computed.
        current = {a: False for a in live}
        changed = True
        while changed:
            changed = False
            for a, rs in live.items():
                if current[a]:
                    continue
                if any(_fits(r, h, i, current) for r in rs):
                    current[a] = True
                    changed = True
        for a, v in current.items():
            feas[(a, h, i)] = v

    def _fits(r: Rule, h: int, i: int | None, current: dict[str, bool]) -> bool:
        if _fixed_height(r.tpl) > h or (i is not None and r.own_ite_depth > i):
            return False
        for above, (path, b) in zip(r.slot_ites_above, r.slots):
            hb, ib = h - len(path), (None if i is None else i - above)
            if hb < 1 or (ib is not None and ib < 0):
                return False
            if not path:
                if not current[b]:
                    return False
            elif not feas[(b, hb, ib)]:
                return False
        return True

    nest_levels: list[int | None] = [None] if nest_cap is None else list(range(nest_cap + 1))
    for h in range(1, max_depth + 1):
        for i in nest_levels:
            level_feasible(h, i)
    if not feas[(g.start, max_depth, nest_cap)]:
        raise EmptyLanguageError(
            f"grammar {g.grammar_id}: no term of {g.start} within height {max_depth}"
            + (f" and ite nesting {nest_cap}" if nest_cap is not None else ""))

    def fully_within(b: str, h: int, i: int | None) -> bool:
        eh, ei = extent.get(b, (INF, INF))
        return eh <= h and (i is None or ei <= i)

    def bname(b: str, h: int, i: int | None) -> str:
        return names[b] + f"__h{h}" + ("" if i is None else f"_i{i}")

    blocks = [f"start: {bname(g.start, max_depth, nest_cap) if not fully_within(g.start, max_depth, nest_cap) else names[g.start]}"]
    full_needed: set[str] = set()
    seen: set[tuple[str, int, int | None]] = set()
    queue = deque([(g.start, max_depth, nest_cap)])
    if fully_within(g.start, max_depth, nest_cap):
        full_needed.add(g.start)
        queue.clear()
    while queue:
        a, h, i = queue.popleft()
        if (a, h, i) in seen:
            continue
        seen.add((a, h, i))
        alts: list[str] = []
        for r in live[a]:
            if not _fits(r, h, i, {b: feas[(b, h, i)] for b in live}):
                continue

            def slot_name(path: tuple[int, ...], b: str, r: Rule = r, h: int = h, i: int | None = i) -> str:
                above = r.slot_ites_above[[p for p, _ in r.slots].index(path)]
                hb, ib = h - len(path), (None if i is None else i - above)
                if fully_within(b, hb, ib):
                    full_needed.add(b)
                    return names[b]
                queue.append((b, hb, ib))
                return bname(b, hb, ib)

            alts.append(tpl_to_lark(r.tpl, slot_name))
        blocks.append(_rule_block(bname(a, h, i), alts))
    # Non-recursive nonterminals used whole: emit them (and what they use) in full.
    full_queue = deque(sorted(full_needed))
    done: set[str] = set()
    while full_queue:
        b = full_queue.popleft()
        if b in done:
            continue
        done.add(b)
        alts = [tpl_to_lark(r.tpl, lambda _p, c: names[c]) for r in live[b]]
        full_queue.extend(c for r in live[b] for _, c in r.slots if c not in done)
        blocks.append(_rule_block(names[b], alts))
    bound = f"; bounded: height <= {max_depth}" + (
        f", ite nesting <= {nest_cap}" if nest_cap is not None else "") + f" (for <= {plural(max_nodes, 'node')})"
    return _header(g, bound) + "\n".join(blocks) + "\n"
