"""Divide and conquer for conditional functions (max-n, clamps, guarded formulas).

Plain enumeration must reach a whole `(ite c1 t1 (ite c2 t2 t3))` by size, which
for max3 means terms of size 14 and millions of candidates. When every constraint
sees the function at one and the same application (so each example judges a term
by its value at one point) and the grammar's start has the rule `(ite B S S)`,
we enumerate separately, both by the same Enumerator:
- leaf terms of S, each with the set of examples it satisfies (its *cover*);
- conditions of B, each with its truth values on the examples;
and once the leaves cover every example, a decision tree over the conditions puts
each example under a leaf that covers it (greedy splits, in the style of EUSolver).
The tree is a term of the grammar; Z3 checks it like any candidate, and a
counterexample restarts both enumerations on the larger example set.
"""
from __future__ import annotations

from typing import Iterator

import numpy as np

from ..grammar import CompiledGrammar, compile_grammar
from ..lang.batched import to_array
from ..lang.expr import Expr, Ite, Var
from ..lang.sexpr import to_sexpr
from ..formats.model import GrammarSpec, StyleProfile
from ..synth.enumerate import Entry, Enumerator, LevelDone
from ..wording import plural
from .common import Run, compiled, limits_for
from .dtree import decision_tree
from .examples import Examples, PointContext, apps_in
from .problem import SygusProblem, SynthFun


def condition_nonterminal(problem: SygusProblem, f: SynthFun, cidx: list[int]) -> str | None:
    """B when divide and conquer applies: one application of f, and `S -> (ite B S S)`."""
    apps = apps_in(problem, cidx)
    if f.is_inv or len(apps) != 1 or apps[0].nested:
        return None
    return condition_nonterminal_of(f)


def condition_nonterminal_of(f: SynthFun) -> str | None:
    """B when f's grammar has `S -> (ite B S S)` at its start S."""
    g = compiled(f)
    for r in g.rules.get(g.start, ()):
        t = r.template
        if isinstance(t, Ite) and all(isinstance(k, Var) for k in (t.cond, t.then, t.else_)) \
                and [nt for _, nt in r.slots][1:] == [g.start, g.start] and len(r.slots) == 3:
            return r.slots[0][1]
    return None


def condition_grammar(f: SynthFun, nt: str) -> CompiledGrammar:
    """f's grammar started at its condition nonterminal."""
    spec = GrammarSpec(f.grammar.grammar_id + "#" + nt, nt, f.grammar.productions)
    return compile_grammar(spec, StyleProfile(), f.variables)


class _Pool:
    """Distinct value vectors of enumerated terms, first (smallest) term kept."""

    def __init__(self) -> None:
        self.terms: list[Expr] = []
        self.rows: list[np.ndarray] = []
        self.seen: set[bytes] = set()

    def add(self, term: Expr, row: np.ndarray) -> bool:
        key = np.packbits(row).tobytes()
        if key in self.seen:
            return False
        self.seen.add(key)
        self.terms.append(term)
        self.rows.append(row)
        return True

    def matrix(self) -> np.ndarray:
        return np.array(self.rows, dtype=bool)


def solve_unify(run: Run, f: SynthFun, cond_nt: str, cidx: list[int]) -> tuple[str, dict[str, Expr], str]:
    problem, opts, res = run.problem, run.options, run.result
    g, gc = compiled(f), condition_grammar(f, cond_nt)
    examples = Examples(problem.variables)
    examples.seed(opts.random_examples, opts.seed)
    undecided: set[str] = set()

    def attempt(term: Expr) -> str | None:
        """'solved', 'restart', or None (undecided or already tried)."""
        text = to_sexpr(term)
        if text in undecided:
            return None
        verdict = run.check({f.name: term}, cidx)
        run.log(f"  candidate {text}: {verdict.status}")
        if verdict.ok:
            return "solved"
        if verdict.status == "invalid":
            added = [examples.add(cex) for _, cex in verdict.counterexamples]  # all of them, no short cut
            if any(added):
                return "restart"
        undecided.add(text)
        return None

    while True:
        res.rounds += 1
        ctx = PointContext(problem, [f], cidx, examples, {})
        env = ctx.envs[f.name]
        run.log(f"round {res.rounds} (divide and conquer): {plural(examples.size, 'example')}")
        t_enum = Enumerator(g, env, limits_for(g), should_stop=run.stop)
        c_enum = Enumerator(gc, env, limits_for(gc), should_stop=run.stop)
        t_stream, c_stream = t_enum.terms(), c_enum.terms()
        leaves, conds = _Pool(), _Pool()
        covered = np.zeros(examples.size, dtype=bool)
        t_level = c_level = 0
        t_done = c_done = False
        outcome: str | None = None
        while outcome is None:
            if run.out_of_time():
                outcome = "timeout"
                break
            if t_done and c_done:
                break
            if not t_done and (t_level <= c_level or c_done):
                level, t_done, batch = _next_level(t_stream)
                t_level = level or t_level
                for e in batch:  # a level may hold many thousand terms: the clock is read at each
                    if run.out_of_time():
                        outcome = "timeout"
                        break
                    cov = ctx.cover({f.name: (e.term, to_array(e.value, env.size))})
                    if cov.all():
                        outcome = attempt(e.term)
                        if outcome == "solved":
                            res.candidates += t_enum.stats.built + c_enum.stats.built
                            return "solved", {f.name: e.term}, ""
                        if outcome:
                            break
                    elif cov.any() and leaves.add(e.term, cov):
                        covered |= cov
            else:
                level, c_done, batch = _next_level(c_stream)
                c_level = level or c_level
                for e in batch:
                    if run.out_of_time():
                        outcome = "timeout"
                        break
                    vals = np.asarray(to_array(e.value, env.size), dtype=bool)
                    if vals.any() and not vals.all():
                        conds.add(e.term, vals)
            if outcome is None and covered.all() and conds.terms:
                tree = build_tree(leaves, conds)
                if tree is not None:
                    outcome = attempt(tree)
                    if outcome == "solved":
                        res.candidates += t_enum.stats.built + c_enum.stats.built
                        return "solved", {f.name: tree}, ""
        res.candidates += t_enum.stats.built + c_enum.stats.built
        if outcome == "restart":
            continue
        if outcome == "timeout" or t_enum.stopped or c_enum.stopped:
            return "timeout", {}, "time limit reached"
        return "unknown", {}, "no decision tree over the enumerated terms and conditions"


def _next_level(stream: Iterator[Entry | LevelDone]) -> tuple[int | None, bool, list[Entry]]:
    """The entries of the next level: (level, exhausted, entries)."""
    batch: list[Entry] = []
    for item in stream:
        if isinstance(item, LevelDone):
            return item.level, False, batch
        batch.append(item)
    return None, True, batch


def build_tree(leaves: _Pool, conds: _Pool) -> Expr | None:
    """A decision tree whose every example lands on a leaf that covers it, or None
    (pools list terms in enumeration order: smallest first)."""
    return decision_tree(leaves.matrix(), conds.matrix(), leaves.terms, conds.terms,
                         np.arange(len(leaves.terms)), np.arange(len(conds.terms)))
