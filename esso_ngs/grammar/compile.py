"""Compile a spec grammar (`GrammarSpec`) into a typed, analysed `CompiledGrammar`.

Compilation parses every rule template once, infers sorts and computes the static
facts (unit closure, rule index, minimal sizes, finiteness...). `CompiledGrammar` is
plain frozen data; its operations are functions of the modules that own them
(membership.check_term, lark_text.lark_text, counting.count_by_size,
sampling.sample_terms, diagnostics.diagnose, style.style_metrics), which cache what
is costly to derive by the grammar's identity. Callers compile once per grammar:
`compile_grammar` is memoized on the frozen spec.

This module imports none of those consumers (tests/test_import_cycles.py).
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache

from ..lang.expr import BoolLit, Const, Expr, Var, walk
from ..lang.sexpr import TermSyntaxError, parse_term
from ..formats.model import GrammarSpec, StyleProfile
from . import analysis
from .diagnostic import Diagnostic
from .rules import Head, Rule, make_rule
from .sorts import infer_sorts

# One `variables` argument in hashable form: (name, sort or "") pairs, sorted.
_VarKey = tuple[tuple[str, str], ...] | None


# eq=False: equality and hashing by identity, so caches keyed by a grammar cost
# one id (its fields are dicts, and two compilations are never compared).
@dataclass(frozen=True, slots=True, eq=False)
class CompiledGrammar:
    """A spec grammar, parsed, typed and analysed. Plain data: do not mutate."""

    spec: GrammarSpec
    style: StyleProfile | None
    grammar_id: str
    start: str
    # The names a term may use (None: not known), and the sorts of those given one.
    variables: frozenset[str] | None
    var_sorts: Mapping[str, str]
    # Problems found while compiling (bad rule text, duplicate nonterminals...):
    # reported by `diagnostics.diagnose` with the grammar-level ones.
    problems: tuple[Diagnostic, ...]
    nonterminals: tuple[str, ...]
    rules: Mapping[str, tuple[Rule, ...]]
    sorts: Mapping[str, str]
    unsorted: tuple[str, ...]
    # Static facts (see analysis.py).
    closure: Mapping[str, tuple[str, ...]]
    index: Mapping[str, Mapping[Head, tuple[Rule, ...]]]
    # Unit chains A -> ... -> B for derivations, precomputed: a membership check
    # builds one derivation per accepted term and must stay cheap.
    unit_chains: Mapping[tuple[str, str], tuple[str, ...]]
    min_size: Mapping[str, float]
    min_ites: Mapping[str, float]
    min_ite_depth: Mapping[str, float]
    min_height: Mapping[str, float]
    productive: frozenset[str]
    reachable: frozenset[str]
    recursive: frozenset[str]
    # Terminal atoms that rules mention: what a term may contain at all.
    terminal_vars: frozenset[str]
    literals: frozenset[Expr]
    # True when the start derives no finite term.
    is_empty: bool
    # True when the language has infinitely many terms.
    is_infinite: bool

    def __repr__(self) -> str:
        return f"CompiledGrammar({self.grammar_id!r}, start={self.start!r}, nonterminals={self.nonterminals!r})"


def compile_grammar(spec: GrammarSpec, style: StyleProfile | None = None,
                    variables: Collection[str] | Mapping[str, str] | None = None
                    ) -> CompiledGrammar:
    """Compile (memoized) a grammar.

    `variables`: the names a term of the hole may use (state vars and the params of
    the hole's actions); a mapping name -> "Int"/"Bool" also gives their sorts.
    Without it, diagnostics cannot tell unknown variables and all vars are Int.
    """
    key: _VarKey
    if variables is None:
        key = None
    elif isinstance(variables, Mapping):
        key = tuple(sorted((str(k), str(v)) for k, v in variables.items()))
    else:
        key = tuple(sorted((str(v), "") for v in variables))
    return _compile_cached(spec, style, key)


@lru_cache(maxsize=256)
def _compile_cached(spec: GrammarSpec, style: StyleProfile | None, key: _VarKey
                    ) -> CompiledGrammar:
    return _compile(spec, style, key)


def _compile(spec: GrammarSpec, style: StyleProfile | None, var_key: _VarKey) -> CompiledGrammar:
    var_sorts = {n: s for n, s in (var_key or ()) if s in ("Int", "Bool")}
    problems: list[Diagnostic] = []

    names: list[str] = []
    for nt, _ in spec.productions:
        if nt in names:
            problems.append(Diagnostic(
                "error", "duplicate-nonterminal",
                f"nonterminal {nt} is defined twice; only the first definition is used", nt))
        else:
            names.append(nt)
    nt_set = frozenset(names)

    rules: dict[str, tuple[Rule, ...]] = {}
    for nt in names:
        parsed: list[Rule] = []
        for i, text in enumerate(spec.rules(nt)):
            try:
                template = parse_term(str(text))
            except TermSyntaxError as err:
                problems.append(Diagnostic(
                    "error", "rule-syntax", f"rule `{text}` of {nt} is not a term: {err}; "
                    "it is left out", nt, str(text)))
                continue
            parsed.append(make_rule(nt, i, template, nt_set))
        rules[nt] = tuple(parsed)
    if spec.start not in rules:
        problems.append(Diagnostic(
            "error", "undefined-start",
            f"start nonterminal {spec.start} has no productions: the language is empty",
            spec.start))

    sorts, unknown = infer_sorts(rules, var_sorts)
    closure = analysis.unit_closure(rules)
    min_size = analysis.min_sizes(rules)
    productive = frozenset(nt for nt, v in min_size.items() if v < analysis.INF)
    reachable = frozenset(analysis.reachable(rules, spec.start))
    prod_rules = analysis.productive_rules(rules, min_size)
    is_empty = spec.start not in productive

    leaf_vars: set[str] = set()
    literals: set[Expr] = set()
    for rs in rules.values():
        for r in rs:
            for _, node in walk(r.template):
                if isinstance(node, Var) and node.name not in nt_set:
                    leaf_vars.add(node.name)
                elif isinstance(node, (Const, BoolLit)):
                    literals.add(node)

    return CompiledGrammar(
        spec=spec,
        style=style,
        grammar_id=spec.grammar_id,
        start=spec.start,
        variables=None if var_key is None else frozenset(name for name, _ in var_key),
        var_sorts=var_sorts,
        problems=tuple(problems),
        nonterminals=tuple(names),
        rules=rules,
        sorts=sorts,
        unsorted=tuple(unknown),
        closure=closure,
        index=analysis.rule_index(rules, closure),
        unit_chains={(a, b): analysis.unit_chain(rules, a, b)
                     for a, reach in closure.items() for b in reach},
        min_size=min_size,
        min_ites=analysis.min_ites(rules),
        min_ite_depth=analysis.min_ite_depths(rules),
        min_height=analysis.min_heights(rules),
        productive=productive,
        reachable=reachable,
        recursive=frozenset(analysis.recursive_nonterminals(prod_rules)),
        terminal_vars=frozenset(leaf_vars),
        literals=frozenset(literals),
        is_empty=is_empty,
        is_infinite=not is_empty and analysis.has_growing_cycle(prod_rules, reachable & productive),
    )
