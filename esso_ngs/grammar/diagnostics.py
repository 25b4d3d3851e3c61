"""What `esso-ngs grammar check` reports about a grammar.

Errors make the grammar wrong (the intended term may be unreachable); warnings are
probably mistakes; infos are facts worth seeing (counts by size, finiteness).
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from ..lang.expr import Var, walk
from . import analysis
from .analysis import INF
from .counting import count_by_size
from .diagnostic import Diagnostic
from .sorts import type_errors

if TYPE_CHECKING:
    from .compile import CompiledGrammar

DEFAULT_COUNT_SIZE = 8


def diagnose(g: CompiledGrammar, hole_sort: str | None = None) -> list[Diagnostic]:
    out: list[Diagnostic] = list(g.problems)
    out += _atoms(g)
    out += _structure(g)
    out += _types(g, hole_sort)
    out += _style(g)
    out += _language(g)
    return out


def _atoms(g: CompiledGrammar) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    where: dict[str, list[tuple[str, str]]] = {}  # atom -> [(nt, rule text)]
    for nt in g.nonterminals:
        for r in g.rules[nt]:
            for _, node in walk(r.template):
                if isinstance(node, Var) and node.name not in g.rules:
                    where.setdefault(node.name, []).append((nt, r.text))
    for name in sorted(where):
        uses = where[name]
        nt, rule = uses[0]
        places = ", ".join(f"`{t}` ({n})" for n, t in uses[:3]) + (" ..." if len(uses) > 3 else "")
        known = g.variables is not None and name in g.variables
        if name[:1].isupper() and not known:
            out.append(Diagnostic(
                "error", "undefined-nonterminal",
                f"`{name}` looks like a nonterminal but has no productions; it is read as a "
                f"variable in {places}", nt, rule))
        elif g.variables is not None and not known:
            out.append(Diagnostic(
                "error", "unknown-variable",
                f"`{name}` names no variable of the hole's action(s) (used in {places})", nt, rule))
    if g.variables is not None:
        for nt in g.nonterminals:
            if nt in g.variables:
                out.append(Diagnostic(
                    "warning", "nonterminal-shadows-variable",
                    f"nonterminal {nt} has the name of a variable: every `{nt}` in a rule means "
                    "the nonterminal, so the variable cannot be written", nt))
        unused = sorted(v for v in g.variables if v not in g.terminal_vars)
        if unused:
            out.append(Diagnostic("info", "unused-variables",
                                  "variables no rule mentions: " + ", ".join(unused)))
    else:
        out.append(Diagnostic("info", "variables-unknown",
                              "the hole's variables are not known: atoms were not checked against them"))
    return out


def _structure(g: CompiledGrammar) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for nt in g.nonterminals:
        if nt not in g.reachable:
            out.append(Diagnostic("warning", "unreachable",
                                  f"{nt} is not reachable from the start {g.start}", nt))
        if nt not in g.productive:
            sev = "error" if nt in g.reachable else "warning"
            why = "it has no rules" if not g.rules[nt] else "every rule needs an unproductive nonterminal"
            out.append(Diagnostic(sev, "unproductive",
                                  f"{nt} derives no finite term ({why})", nt))
        elif nt in g.reachable:
            for r in g.rules[nt]:
                dead = sorted({b for _, b in r.slots if b not in g.productive})
                if dead:
                    out.append(Diagnostic("warning", "dead-rule",
                                          f"rule `{r.text}` can never apply: {', '.join(dead)} "
                                          "derives no term", nt, r.text))
        seen: set[str] = set()
        for r in g.rules[nt]:
            if r.text in seen:
                out.append(Diagnostic("warning", "duplicate-rule", f"rule `{r.text}` is listed twice",
                                      nt, r.text))
            seen.add(r.text)
        for r in g.rules[nt]:
            if r.is_unit and nt in g.closure.get(r.slots[0][1], ()):
                out.append(Diagnostic("info", "unit-cycle",
                                      f"unit rules form a cycle through {nt} and {r.slots[0][1]} "
                                      "(harmless, but one direction is redundant)", nt, r.text))
    return out


def _types(g: CompiledGrammar, hole_sort: str | None) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for nt in g.unsorted:
        out.append(Diagnostic("warning", "unknown-sort",
                              f"the sort of {nt} cannot be inferred (taken as Int)", nt))
    for nt in g.nonterminals:
        for r in g.rules[nt]:
            for msg in type_errors(r, g.sorts, g.var_sorts):
                out.append(Diagnostic("error", "type-error", f"rule `{r.text}`: {msg}", nt, r.text))
    if hole_sort and g.start in g.sorts and g.sorts[g.start] != hole_sort:
        out.append(Diagnostic("error", "hole-sort",
                              f"the hole is {hole_sort} but the start {g.start} is {g.sorts[g.start]}",
                              g.start))
    return out


def _style(g: CompiledGrammar) -> list[Diagnostic]:
    """Rules that no term within the style profile can use. The smallest term that
    uses rule r of A has ctx[A] + min_size(r) nodes, where ctx[A] is the least the
    rest of the term needs around A (analysis.context_minimum); ite nesting uses a
    lower bound of the same form."""
    p = g.style
    if p is None or g.is_empty:
        return []
    out: list[Diagnostic] = []
    ctx_nodes = analysis.context_minimum(g.rules, g.start, g.min_size, lambda r: r.own_nodes)
    ctx_ites = analysis.context_minimum(g.rules, g.start, g.min_ites, lambda r: r.own_ites)
    ctx_depth = analysis.context_ite_depth(g.rules, g.start, g.min_size)
    for nt in g.nonterminals:
        if nt not in g.reachable or nt not in g.productive:
            continue
        for r in g.rules[nt]:
            size = ctx_nodes[nt] + analysis.rule_min_size(r, g.min_size)
            if size == INF:
                continue
            reasons = []
            if p.max_ast_nodes is not None and size > p.max_ast_nodes:
                reasons.append(f"its smallest use has {int(size)} nodes > max_ast_nodes {p.max_ast_nodes}")
            depth = ctx_depth[nt] + analysis.rule_min_ite_depth(r, g.min_ite_depth)
            if p.max_nesting is not None and depth > p.max_nesting:
                reasons.append(f"it needs ite depth {int(depth)} > max_nesting {p.max_nesting}")
            ites = ctx_ites[nt] + analysis.rule_min_ites(r, g.min_ites)
            if p.max_branches is not None and ites > p.max_branches:
                reasons.append(f"it needs {int(ites)} branches > max_branches {p.max_branches}")
            if reasons:
                out.append(Diagnostic("warning", "rule-never-fits",
                                      f"rule `{r.text}` can never fit the style profile: "
                                      + "; ".join(reasons), nt, r.text))
    return out


def _language(g: CompiledGrammar) -> list[Diagnostic]:
    if g.is_empty:
        return [Diagnostic("error", "empty-language",
                           f"the language is empty: {g.start} derives no term", g.start)]
    out: list[Diagnostic] = []
    p = g.style
    limit = p.max_ast_nodes if p is not None and p.max_ast_nodes else DEFAULT_COUNT_SIZE
    counts = count_by_size(g, limit)
    shown = ", ".join(f"{n}:{c}" for n, c in enumerate(counts) if n > 0)
    out.append(Diagnostic("info", "counts",
                          f"distinct terms by size (nodes) up to {limit}: {shown}; "
                          f"total {sum(counts)}"))
    infinite = g.is_infinite
    out.append(Diagnostic("info", "finiteness",
                          "the language is infinite" if infinite else "the language is finite"))
    if p is not None:
        start = g.start
        reasons = []
        if p.max_ast_nodes is not None and sum(counts) == 0:
            reasons.append(f"its smallest term has {int(g.min_size[start])} nodes > max_ast_nodes {p.max_ast_nodes}")
        if p.max_nesting is not None and g.min_ite_depth[start] > p.max_nesting:
            reasons.append(f"every term has ite depth >= {int(g.min_ite_depth[start])} > max_nesting {p.max_nesting}")
        if p.max_branches is not None and g.min_ites[start] > p.max_branches:
            reasons.append(f"every term has >= {int(g.min_ites[start])} branches > max_branches {p.max_branches}")
        if reasons:
            kind = "infinite-but-useless" if infinite else "no-term-fits"
            out.append(Diagnostic("warning", kind, ("the language is infinite, but " if infinite else "")
                                  + "no term fits the style profile: " + "; ".join(reasons), start))
    return out
