"""Shared fixtures for grammar tests: benchmark grammars and a brute-force enumerator."""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path

from esso_ngs.grammar import CompiledGrammar, compile_grammar, grammar_for_hole
from esso_ngs.lang.expr import Expr
from esso_ngs.formats.model import GrammarSpec, Penalties, StyleProfile

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "benchmarks" / "specs"
MANIFEST = SPECS / "manifest.json"


@dataclass(frozen=True)
class BenchHole:
    prefix: str
    hole_id: str
    entry: dict

    @property
    def id(self) -> str:
        return f"{self.prefix}:{self.hole_id}"


def bench_holes() -> list[BenchHole]:
    if not MANIFEST.is_file():
        return []
    man = json.loads(MANIFEST.read_text())
    return [BenchHole(s["prefix"], hid, h) for s in man["specs"] for hid, h in s["holes"].items()]


_LOADED: dict[str, object] = {}


def load_bench_spec(prefix: str):
    from esso_ngs.formats import load_spec
    if prefix not in _LOADED:
        _LOADED[prefix] = load_spec(SPECS / f"{prefix}_hole.yaml")
    return _LOADED[prefix]


def bench_grammar(h: BenchHole) -> CompiledGrammar:
    return grammar_for_hole(load_bench_spec(h.prefix), h.hole_id)  # type: ignore[arg-type]


def make(productions: dict[str, list[str]], start: str, style: StyleProfile | None = None,
         variables=None, gid: str = "G") -> CompiledGrammar:
    spec = GrammarSpec(gid, start, tuple((nt, tuple(rs)) for nt, rs in productions.items()))
    return compile_grammar(spec, style, variables)


FEE = {
    "Const": ["0", "1", "100", "10000"],
    "Term": ["amount", "bps", "(* amount bps)"],
    "Expr": ["Term", "(safe_div Term Const)", "(ite (<= Term Term) Expr Expr)"],
}
FEE_STYLE = StyleProfile(max_nesting=2, max_branches=1, max_ast_nodes=8,
                         penalties=Penalties(branch=5, nesting=10, ast_node=1))

# Ambiguous on purpose: `amount` is an Expr directly and through Term, and
# (+ Expr Expr) nests: counting derivations would over-count.
AMBIGUOUS = {
    "Expr": ["Term", "amount", "(+ Expr Expr)", "(ite Cond Expr Expr)"],
    "Term": ["amount", "1", "(* Term Term)"],
    "Cond": ["(< Expr Expr)", "true", "(and Cond Cond)"],
}

# Unit cycle A <-> B.
UNIT_CYCLE = {"A": ["B", "x", "(+ A B)"], "B": ["A", "y", "(- B 1)"]}


def enumerate_terms(g: CompiledGrammar, max_size: int, cap: int = 4000) -> dict[int, set[Expr]]:
    """All distinct terms of the start symbol by size, by brute force (instantiating
    rule templates), for sizes up to max_size; stops early when a size has more
    than `cap` terms (returns only the sizes fully enumerated)."""
    nts = list(g.rules)
    by: dict[str, list[set[Expr]]] = {nt: [set() for _ in range(max_size + 1)] for nt in nts}
    done: dict[int, set[Expr]] = {}
    for s in range(1, max_size + 1):
        changed = True
        while changed:  # unit rules feed the same size: iterate to a fixpoint
            changed = False
            for nt in nts:
                for r in g.rules[nt]:
                    if r.is_unit:
                        new = by[r.slots[0][1]][s] - by[nt][s]
                    else:
                        new = set(_instances(r, s, by)) - by[nt][s]
                    if new:
                        by[nt][s] |= new
                        changed = True
        done[s] = by[g.start][s] if g.start in by else set()
        if sum(len(v[s]) for v in by.values()) > cap:
            break
    return done


def _instances(r, size: int, by: dict[str, list[set[Expr]]]):
    k = len(r.slots)
    rest = size - r.own_nodes
    if k == 0:
        if rest == 0:
            yield r.template
        return
    if rest < k:
        return
    for cut in itertools.combinations(range(1, rest), k - 1):
        parts = [b - a for a, b in zip((0,) + cut, cut + (rest,))]
        pools = [by[nt][p] for (_, nt), p in zip(r.slots, parts)]
        if any(not p for p in pools):
            continue
        for combo in itertools.product(*pools):
            yield r.instantiate(combo)
