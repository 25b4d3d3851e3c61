"""Compile a spec grammar (`GrammarSpec`) into a typed, analysed `CompiledGrammar`.

Compilation parses every rule template once, infers sorts and computes the static
facts (unit closure, rule index, minimal sizes...). Everything else (membership,
Lark text, counts, samples, diagnostics) is derived from the compiled object and
cached on it, so callers compile once per grammar: `compile_grammar` is memoized
on the frozen spec.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from functools import cached_property, lru_cache
from typing import TYPE_CHECKING

from ..lang.expr import BoolLit, Const, Expr, Var, walk
from ..lang.sexpr import TermSyntaxError, parse_term
from ..formats.model import GrammarSpec, StyleProfile
from . import analysis
from .diagnostic import Diagnostic
from .rules import Rule, make_rule
from .sorts import infer_sorts

if TYPE_CHECKING:
    from .counting import TermCounter
    from .membership import Membership
    from .style import StyleMetrics

# One `variables` argument in hashable form: (name, sort or "") pairs, sorted.
_VarKey = tuple[tuple[str, str], ...] | None


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
    return CompiledGrammar(spec, style, key)


class CompiledGrammar:
    """A spec grammar, parsed, typed and analysed. Treat as immutable."""

    def __init__(self, spec: GrammarSpec, style: StyleProfile | None, var_key: _VarKey) -> None:
        self.spec = spec
        self.style = style
        self.grammar_id = spec.grammar_id
        self.start: str = spec.start
        self.variables: frozenset[str] | None = (
            None if var_key is None else frozenset(name for name, _ in var_key))
        self.var_sorts: dict[str, str] = {n: s for n, s in (var_key or ()) if s in ("Int", "Bool")}
        # Problems found while compiling (bad rule text, duplicate nonterminals...):
        # reported by `diagnostics()` with the grammar-level ones.
        self.problems: list[Diagnostic] = []

        names: list[str] = []
        for nt, _ in spec.productions:
            if nt in names:
                self.problems.append(Diagnostic(
                    "error", "duplicate-nonterminal",
                    f"nonterminal {nt} is defined twice; only the first definition is used", nt))
            else:
                names.append(nt)
        self.nonterminals: tuple[str, ...] = tuple(names)
        nt_set = frozenset(names)

        rules: dict[str, tuple[Rule, ...]] = {}
        for nt in names:
            parsed: list[Rule] = []
            for i, text in enumerate(spec.rules(nt)):
                try:
                    template = parse_term(str(text))
                except TermSyntaxError as err:
                    self.problems.append(Diagnostic(
                        "error", "rule-syntax", f"rule `{text}` of {nt} is not a term: {err}; "
                        "it is left out", nt, str(text)))
                    continue
                parsed.append(make_rule(nt, i, template, nt_set))
            rules[nt] = tuple(parsed)
        self.rules: Mapping[str, tuple[Rule, ...]] = rules
        if self.start not in rules:
            self.problems.append(Diagnostic(
                "error", "undefined-start",
                f"start nonterminal {self.start} has no productions: the language is empty",
                self.start))

        sorts, unknown = infer_sorts(rules, self.var_sorts)
        self.sorts: Mapping[str, str] = sorts
        self.unsorted: tuple[str, ...] = tuple(unknown)

        # Static facts (see analysis.py).
        self.closure = analysis.unit_closure(rules)
        self.index = analysis.rule_index(rules, self.closure)
        # Unit chains A -> ... -> B for derivations, precomputed: check() builds one
        # derivation per accepted term and must stay cheap.
        self.unit_chains: dict[tuple[str, str], tuple[str, ...]] = {
            (a, b): analysis.unit_chain(rules, a, b) for a, reach in self.closure.items() for b in reach}
        self.min_size = analysis.min_sizes(rules)
        self.min_ites = analysis.min_ites(rules)
        self.min_ite_depth = analysis.min_ite_depths(rules)
        self.min_height = analysis.min_heights(rules)
        self.productive: frozenset[str] = frozenset(
            nt for nt, v in self.min_size.items() if v < analysis.INF)
        self.reachable: frozenset[str] = frozenset(analysis.reachable(rules, self.start))
        self.recursive: frozenset[str] = frozenset(analysis.recursive_nonterminals(
            analysis.productive_rules(rules, self.min_size)))

        # Terminal atoms that rules mention: what a term may contain at all.
        leaf_vars: set[str] = set()
        literals: set[Expr] = set()
        for rs in rules.values():
            for r in rs:
                for _, node in walk(r.template):
                    if isinstance(node, Var) and node.name not in nt_set:
                        leaf_vars.add(node.name)
                    elif isinstance(node, (Const, BoolLit)):
                        literals.add(node)
        self.terminal_vars: frozenset[str] = frozenset(leaf_vars)
        self.literals: frozenset[Expr] = frozenset(literals)

    # ------------------------------------------------------------ derived facts
    @property
    def is_empty(self) -> bool:
        """True when the start derives no finite term."""
        return self.start not in self.productive

    @property
    def is_infinite(self) -> bool:
        """True when the language has infinitely many terms."""
        return not self.is_empty and self._has_growing_cycle()

    def _has_growing_cycle(self) -> bool:
        # A cycle through unit rules only adds no node; a language is infinite iff a
        # live nonterminal reaches itself through at least one non-unit rule.
        live = self.reachable & self.productive
        prod = analysis.productive_rules(self.rules, self.min_size)
        edges = {a: [(b, r.is_unit) for r in prod.get(a, ()) for _, b in r.slots if b in live]
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

    def lark_name(self, nt: str) -> str:
        return self._lark_names[nt]

    @cached_property
    def _lark_names(self) -> dict[str, str]:
        from .lark_text import lark_rule_names
        return lark_rule_names(self.nonterminals)

    # ------------------------------------------------------------ public API
    def lark_text(self) -> str:
        """Full grammar in the Lark dialect that both lark and llguidance accept;
        entry rule `start`; canonical term syntax (single spaces)."""
        return self._full_lark

    @cached_property
    def _full_lark(self) -> str:
        from .lark_text import full_lark_text
        return full_lark_text(self)

    def bounded_lark_text(self, max_nodes: int | None = None, max_nesting: int | None = None,
                          max_depth: int | None = None) -> str:
        """A finite version of the grammar for token-constrained decoding.

        Exactly bounded: term height (levels of nodes) <= max_depth and ite nesting
        <= max_nesting. max_depth defaults to the greatest height a term of at most
        `max_nodes` nodes can have in this grammar, so every term within max_nodes and
        max_nesting is kept; the node count itself is bounded only through the height
        (some larger terms remain: check them with `check`/`style_metrics`). Defaults
        come from the style profile (max_ast_nodes, max_nesting); without any limit,
        max_nodes = 12.
        """
        from .lark_text import bounded_lark_text
        if max_nodes is None:
            max_nodes = (self.style.max_ast_nodes if self.style and self.style.max_ast_nodes
                         else 12)
        if max_nesting is None and self.style is not None:
            max_nesting = self.style.max_nesting
        return bounded_lark_text(self, max_nodes, max_nesting, max_depth)

    def check(self, term: str | Expr) -> Membership:
        """Whether `term` is in the language, and if not, why (see Membership)."""
        from .membership import check
        return check(self, term)

    def count_by_size(self, max_size: int) -> list[int]:
        """Exact number of distinct terms of each size 0..max_size (size = AST nodes)."""
        return self.counter.counts(max_size)

    def sample(self, n: int, seed: int = 0, max_size: int | None = None) -> list[Expr]:
        """`n` random terms, uniform by size: a size is drawn uniformly among the sizes
        1..max_size that have terms, then a term uniformly among those of that size."""
        from .sampling import sample
        return sample(self, n, seed, max_size)

    def diagnostics(self, hole_sort: str | None = None) -> list[Diagnostic]:
        """Everything a grammar author should know (see diagnostics.py)."""
        from .diagnostics import diagnose
        return diagnose(self, hole_sort)

    def style_metrics(self, term: Expr) -> StyleMetrics:
        from .style import style_metrics
        return style_metrics(term, self.style or StyleProfile())

    @cached_property
    def counter(self) -> TermCounter:
        from .counting import TermCounter
        return TermCounter(self)

    def rule_by_text(self, nt: str, text: str) -> Rule | None:
        return next((r for r in self.rules.get(nt, ()) if r.text == text), None)

    def __repr__(self) -> str:
        return f"CompiledGrammar({self.grammar_id!r}, start={self.start!r}, nonterminals={self.nonterminals!r})"

