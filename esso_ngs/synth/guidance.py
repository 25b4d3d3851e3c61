"""Turn ranked hints into guidance for the enumerator.

A probabilistic grammar in the style of HySynth (Barke et al.) and of Li, Parsert
and Polgreen (2024): count how often each rule derives the hints' in-grammar parts
(weighted by rank), smooth, and charge each rule `-log2 p(rule)` relative to its
nonterminal's likeliest rule as extra enumeration levels. Likely rules become
cheap, so enumeration order becomes "likely and cheap first". Hints outside the
grammar still inform the weights through their maximal in-grammar subterms, and
those subterms are seeded into the banks at a discount.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Sequence

from ..grammar import CompiledGrammar
from ..grammar.membership import Derivation, Matcher
from ..lang.expr import Expr, children, ite_count, node_count
from ..verify.candidate import Candidate

SMOOTHING = 0.5  # pseudo-count per rule: unseen rules stay reachable
SCALE = 1.0  # enumeration levels per bit of surprise
MAX_EXTRA = 6  # an unlikely rule costs at most this many extra levels


# A hint is the one candidate record (`verify.candidate`): parsed once where its text
# entered, with the checks already made on it; `Hint` is the synthesizer API's name.
Hint = Candidate


@dataclass(slots=True)
class Guidance:
    rule_extra: dict[tuple[str, int], int] = field(default_factory=dict)
    seeds: list[tuple[str, Expr, int]] = field(default_factory=list)  # (nonterminal, term, level)
    rule_counts: dict[tuple[str, int], float] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return not self.rule_counts


def parse_hint(hint: Hint) -> Expr | None:
    """The hint's term (parsed when the record was made), None when its text is not a term."""
    return hint.expr


def learn_guidance(g: CompiledGrammar, hints: Sequence[Hint], ast_node: int = 1, branch: int = 0) -> Guidance:
    guidance = Guidance()
    counts = guidance.rule_counts
    seeds: dict[tuple[str, Expr], int] = {}
    for rank, hint in enumerate(hints):
        term = parse_hint(hint)
        if term is None:
            continue
        weight = 1.0 / (rank + 1)
        matcher = Matcher(g, term)
        for nt, sub in _maximal_derivable(g, matcher, term):
            _count(g, matcher.derivation(nt, sub), counts, weight)
            for nt2, sub2 in _derivable_subterms(g, matcher, nt, sub):
                if children(sub2):
                    level = max(1, (ast_node * node_count(sub2) + branch * ite_count(sub2)) // 2)
                    key = (nt2, sub2)
                    seeds[key] = min(seeds.get(key, level), level)
    for nt in g.nonterminals:
        rules = g.rules.get(nt, ())
        if not rules:
            continue
        total = sum(counts.get((nt, r.index), 0.0) for r in rules)
        if total == 0:
            continue  # no evidence about this nonterminal: leave its order alone
        probs = {r.index: (counts.get((nt, r.index), 0.0) + SMOOTHING) / (total + SMOOTHING * len(rules))
                 for r in rules}
        best = max(probs.values())
        for idx, p in probs.items():
            guidance.rule_extra[(nt, idx)] = min(MAX_EXTRA, round(SCALE * math.log2(best / p)))
    guidance.seeds = sorted(((nt, t, lvl) for (nt, t), lvl in seeds.items()), key=lambda s: (s[2], str(s[1])))
    return guidance


def _count(g: CompiledGrammar, d: Derivation, counts: dict[tuple[str, int], float], weight: float) -> None:
    for a, b in zip(d.via, d.via[1:]):
        unit = next((r for r in g.rules.get(a, ()) if r.is_unit and r.slots[0][1] == b), None)
        if unit is not None:
            counts[(a, unit.index)] = counts.get((a, unit.index), 0.0) + weight
    counts[(d.rule.nonterminal, d.rule.index)] = counts.get((d.rule.nonterminal, d.rule.index), 0.0) + weight
    for child in d.children:
        _count(g, child, counts, weight)


def _maximal_derivable(g: CompiledGrammar, m: Matcher, term: Expr) -> list[tuple[str, Expr]]:
    """The largest subterms some nonterminal derives (the whole term when in the language)."""
    for nt in (g.start, *g.nonterminals):
        if nt in g.index and m.derives(nt, term) is not None:
            return [(nt, term)]
    out: list[tuple[str, Expr]] = []
    for k in children(term):
        out.extend(_maximal_derivable(g, m, k))
    return out


def _derivable_subterms(g: CompiledGrammar, m: Matcher, nt: str, term: Expr) -> list[tuple[str, Expr]]:
    """(nonterminal, subterm) pairs along the derivation of `term` from `nt`."""
    d = m.derivation(nt, term)
    out: list[tuple[str, Expr]] = []

    def visit(d: Derivation, t: Expr) -> None:
        out.append((d.nonterminal, t))
        for (path, _), child in zip(d.rule.slots, d.children):
            sub = t
            for i in path:
                sub = children(sub)[i]
            visit(child, sub)

    visit(d, term)
    return out
