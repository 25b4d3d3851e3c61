"""Invariants by ICE learning: positive, negative and implication examples.

For `(inv-constraint inv pre trans post)` an invariant must contain every state of
`pre`, be closed under `trans`, and exclude every state violating `post`. The
learner keeps three kinds of examples, each from one failed verification condition:
- positive (must be in): a state of pre that the candidate excludes;
- negative (must be out): a state in the candidate that violates post;
- implication (a, b): a step a -> b of trans leaving the candidate; whatever the
  invariant is, it holds at b if it holds at a.
Candidates come from the Enumerator over the invariant's grammar, run on the
example states as points, so pruning keeps one predicate per distinct
classification. Implications are propagated (a positive a makes b positive, a
negative b makes a negative); a state both positive and negative is reachable and
violates post, which proves that no invariant exists.

Invariants are mostly conjunctions, too large to reach by size (three atoms are
11+ nodes). So when the grammar has `(and S S)` at its start, each completed
enumeration level also proposes a conjunction of the predicates enumerated so far,
learned from the same examples (see `conjunction`).
"""
from __future__ import annotations

import numpy as np

from ..lang.batched import BatchEnv, to_array
from ..lang.evaluate import Value
from ..lang.expr import Expr, Op, Var, substitute
from ..lang.sexpr import to_sexpr
from ..synth.enumerate import Enumerator, LevelDone
from ..grammar import CompiledGrammar
from ..wording import plural
from .check import check_formula
from .common import Run, compiled, complete_search, limits_for
from .problem import InvTask, SygusProblem
from .terms import BOOL

State = tuple[Value, ...]


class IceExamples:
    def __init__(self, task: InvTask) -> None:
        self.task = task
        self.points: dict[State, int] = {}
        self.pos: set[State] = set()
        self.neg: set[State] = set()
        self.impl: set[tuple[State, State]] = set()

    def state(self, assignment: dict[str, Value], names: tuple[str, ...]) -> State:
        # A model gives only the variables of its formula; the others are free: take 0.
        s = tuple(bool(assignment.get(n, False)) if sort == BOOL else int(assignment.get(n, 0))
                  for n, sort in zip(names, self.task.sorts))
        self.points.setdefault(s, len(self.points))
        return s

    def add_pos(self, s: State) -> bool:
        new = s not in self.pos
        self.pos.add(s)
        return new

    def add_neg(self, s: State) -> bool:
        new = s not in self.neg
        self.neg.add(s)
        return new

    def add_impl(self, a: State, b: State) -> bool:
        new = (a, b) not in self.impl
        self.impl.add((a, b))
        return new

    def propagate(self) -> State | None:
        """Close pos forward and neg backward along implications; a state in both, if any."""
        changed = True
        while changed:
            changed = False
            for a, b in self.impl:
                if a in self.pos and b not in self.pos:
                    self.pos.add(b)
                    changed = True
                if b in self.neg and a not in self.neg:
                    self.neg.add(a)
                    changed = True
        both = self.pos & self.neg
        return min(both) if both else None

    def env(self) -> BatchEnv:
        states = sorted(self.points, key=self.points.__getitem__) or [
            tuple(False if s == BOOL else 0 for s in self.task.sorts)]
        cols: dict[str, np.ndarray] = {}
        for j, (name, sort) in enumerate(zip(self.task.state, self.task.sorts)):
            vals = [s[j] for s in states]
            cols[name] = np.array(vals, dtype=bool) if sort == BOOL else np.array(vals, dtype=object)
        return BatchEnv(cols, size=len(states))

    def index(self, states: set[State]) -> np.ndarray:
        return np.array(sorted(self.points[s] for s in states), dtype=np.int64)


def solve_invariant(problem: SygusProblem, task: InvTask, run: Run) -> tuple[str, dict[str, Expr], str]:
    f = problem.fun(task.fun)
    g = compiled(f)
    res = run.result
    sorts = problem.var_sorts
    ex = IceExamples(task)
    primed_of = dict(zip(task.state, task.primed))

    def vcs(term: Expr) -> list[tuple[str, Expr]]:
        there = substitute(term, {s: Var(p) for s, p in primed_of.items()})
        return [("neg", Op("=>", (term, task.post))),
                ("pos", Op("=>", (task.pre, term))),
                ("impl", Op("=>", (Op("and", (term, task.trans)), there)))]

    # Seed one state of pre and one violating post: the first candidates then already split them.
    for kind, formula in (("pos", Op("not", (task.pre,))), ("neg", task.post)):
        status, cex, _ = check_formula(formula, sorts, run.options.z3_timeout_ms, run.deadline)
        res.z3_calls += 1
        if status == "invalid" and cex is not None:
            s = ex.state(cex, task.state)
            (ex.add_pos if kind == "pos" else ex.add_neg)(s)

    undecided: set[str] = set()
    conj_ok = _has_binary_and(g)

    def attempt(term: Expr) -> str | None:
        """'solved', 'restart' (new examples), or None (undecided or nothing learned)."""
        text = to_sexpr(term)
        if text in undecided:
            return None
        learned = unknown = refuted = False
        res.last_candidate = text
        for kind, formula in vcs(term):
            status, cex, _ = check_formula(formula, sorts, run.options.z3_timeout_ms, run.deadline)
            res.z3_calls += 1
            if status == "unknown":
                unknown = True
            elif status == "invalid" and cex is not None:
                refuted = True
                a = ex.state(cex, task.state)
                if kind == "pos":
                    learned = ex.add_pos(a) or learned
                elif kind == "neg":
                    learned = ex.add_neg(a) or learned
                else:
                    learned = ex.add_impl(a, ex.state(cex, task.primed)) or learned
        run.log(f"  candidate {text}: " + ("refuted" if refuted else "unknown" if unknown else "valid"))
        if not refuted and not unknown:
            return "solved"
        if learned:
            return "restart"
        undecided.add(text)
        return None

    while True:
        res.rounds += 1
        bad = ex.propagate()
        if bad is not None:
            return "infeasible", {}, f"state {_fmt(problem, task, bad)} is reachable from pre and violates post"
        env = ex.env()
        pos, neg = ex.index(ex.pos), ex.index(ex.neg)
        impl = sorted((ex.points[a], ex.points[b]) for a, b in ex.impl)
        ia = np.array([a for a, _ in impl], dtype=np.int64)
        ib = np.array([b for _, b in impl], dtype=np.int64)
        run.log(f"ICE round {res.rounds}: {len(ex.pos)} positive, {len(ex.neg)} negative, "
                f"{len(ex.impl)} implication examples")
        enum = Enumerator(g, env, limits_for(g), should_stop=run.stop)
        atoms: list[tuple[Expr, np.ndarray]] = []
        outcome: str | None = None
        for item in enum.terms():
            if run.out_of_time():
                break
            if isinstance(item, LevelDone):
                # Conjunctions of the predicates so far: invariants are mostly conjunctions,
                # and whole conjunctions are too large to reach by size.
                term = conjunction(atoms, pos, neg, ia, ib) if conj_ok and atoms else None
                if term is not None:
                    outcome = attempt(term)
                    if outcome == "solved":
                        res.candidates += enum.stats.built
                        return "solved", {task.fun: term}, ""
                    if outcome == "restart":
                        break
                continue
            v = np.asarray(to_array(item.value, env.size), dtype=bool)
            if conj_ok and v[pos].all() and not v.all():
                atoms.append((item.term, v))
            if not (v[pos].all() and not v[neg].any() and (~v[ia] | v[ib]).all()):
                continue
            outcome = attempt(item.term)
            if outcome == "solved":
                res.candidates += enum.stats.built
                return "solved", {task.fun: item.term}, ""
            if outcome == "restart":
                break
        res.candidates += enum.stats.built
        if outcome == "restart":
            continue
        if run.out_of_time() or enum.stopped:
            return "timeout", {}, "time limit reached"
        if undecided:
            return "unknown", {}, f"Z3 could not decide {plural(len(undecided), 'candidate')}"
        if complete_search(problem, [f], []):
            return "infeasible", {}, "no predicate of the grammar separates the examples"
        return "unknown", {}, "no invariant found in the default grammar"


def _has_binary_and(g: CompiledGrammar) -> bool:
    """Whether the start nonterminal S has the rule (and S S): conjunctions are in the grammar."""
    s = Var(g.start)
    return any(r.template == Op("and", (s, s)) for r in g.rules.get(g.start, ()))


def conjunction(atoms: list[tuple[Expr, np.ndarray]], pos: np.ndarray, neg: np.ndarray,
                ia: np.ndarray, ib: np.ndarray) -> Expr | None:
    """A small conjunction of atoms (each true on every positive example) that excludes
    every negative example and respects the implications, or None.

    The strongest such conjunction is found first, Houdini-style: implications whose
    source it contains make their target positive, which drops the atoms false there.
    Then a greedy cover of the negatives picks few of its atoms, and atoms that exclude
    the source of a broken implication are added back until none is broken."""
    A = np.array([v for _, v in atoms], dtype=bool)
    keep = A[:, pos].all(axis=1) if pos.size else np.ones(len(atoms), dtype=bool)
    while True:
        S = A[keep].all(axis=0)
        broken = S[ia] & ~S[ib]
        if not broken.any():
            break
        keep &= A[:, ib[broken]].all(axis=1)
    if not keep.any() or S[neg].any():
        return None
    kept = np.flatnonzero(keep)
    chosen: list[int] = []
    left = neg.copy()
    while left.size:
        excluded = (~A[kept][:, left]).sum(axis=1)
        best = int(kept[int(np.argmax(excluded))])  # ties: the smallest atom
        chosen.append(best)
        left = left[A[best, left]]
    while True:
        Sc = A[chosen].all(axis=0) if chosen else np.ones(A.shape[1], dtype=bool)
        broken = np.flatnonzero(Sc[ia] & ~Sc[ib])
        if not broken.size:
            break
        a = ia[broken[0]]  # the full conjunction excludes a: one of its atoms does
        chosen.append(int(kept[np.flatnonzero(~A[kept, a])[0]]))
    if not chosen:
        return None
    terms = [atoms[i][0] for i in sorted(set(chosen))]
    out = terms[-1]
    for t in reversed(terms[:-1]):
        out = Op("and", (t, out))
    return out


def _fmt(problem: SygusProblem, task: InvTask, s: State) -> str:
    return ", ".join(f"{problem.names.external(n)}={v}" for n, v in zip(task.state, s))
