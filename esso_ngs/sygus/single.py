"""Single-invocation problems: `forall x. phi(x, f(x))`, solved by per-point
solutions and decision-tree unification (in the manner of cvc5's CEGQI and EUSolver).

A function is *single-invocation* when every constraint sees it at one and the
same application, whose arguments are distinct declared variables (the usual CLIA
shape). Then each counterexample point x asks only for a value of f at x, and
`phi` itself says which terms are right there:
- leaves: the Int terms the constraints compare f(x) with (`(= (f x) (+ x y))`,
  `(>= (f x) k)` also gives k+1 and k-1), the variables and the problem's literals;
  when no leaf is right at a point, the Enumerator adds the smallest term of the
  grammar that is;
- conditions: the comparisons of the constraints without f, and those with f
  where f(x) is replaced by each leaf (for max-of-N, `(>= r x1)` gives `(>= x2 x1)`);
  when they cannot separate the points, the Enumerator adds small predicates;
Candidates, each checked by Z3 (`_Checker`: f(x) defined once as the term), every
failing constraint giving a counterexample point:
- premise chains: `(ite P1 t1 (ite P2 t2 ...))` straight from constraints shaped
  `(=> P (= f(x) t))` or Boolean ite chains of such goals (array sums, mpg);
- decision trees (`dtree.py`): each point under a leaf that is right there,
  splitting on the condition of highest information gain;
- guarded chains: `(ite phi(x, t1) t1 ...)` over a cover of the points, and once
  over every leaf (max-of-N, where trees grow exponentially), each guard without
  the conjuncts that mention an earlier leaf (Z3 still checks the result).
After the first proved term, a share of the time goes to looking for a smaller
one; then ite branches whose removal Z3 still proves are dropped, and spec terms
take their linear normal form where it is smaller. The smallest proved term wins.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import z3

from ..lang.batched import BatchEnv, column_value, evaluate_batch, to_array
from ..lang.expr import BOOL_OPS, COMPARE, INT_OPS, BoolLit, Const, Expr, Ite, Op, Var, node_count, replace_at, \
    substitute, walk
from ..lang.evaluate import Value, evaluate
from ..lang.sexpr import to_sexpr
from ..lang.z3enc import to_z3, z3_value_to_py
from ..synth.enumerate import Enumerator, LevelDone
from .common import Run, compiled, limits_for
from .dtree import decision_tree
from .examples import Examples, apps_in
from .problem import SygusProblem, SynthFun
from .terms import BOOL, INT
from .unify import condition_grammar, condition_nonterminal_of

MAX_CONDITIONS = 4000  # cap on conditions built from the constraints' atoms
MAX_ROUNDS = 400
FULL_CHAIN_ROUND = 3  # the round that also tries every guarded leaf
POLISH_SHARE = 0.3  # of the time left, spent looking for a smaller answer after the first one


@dataclass(frozen=True, slots=True)
class SingleInvocation:
    fun: SynthFun
    placeholder: str  # the application's variable in the constraints
    to_param: dict[str, str]  # declared variable -> the function's parameter
    constraints: tuple[int, ...]


def single_invocation(problem: SygusProblem, funs: list[SynthFun], cidx: list[int]) -> SingleInvocation | None:
    """The single-invocation shape of one function's constraints, or None."""
    if len(funs) != 1 or funs[0].is_inv or funs[0].sort not in (INT, BOOL):
        return None
    apps = apps_in(problem, cidx)
    if len(apps) != 1 or apps[0].nested:
        return None
    args = apps[0].args
    if not all(isinstance(a, Var) for a in args) or len({a.name for a in args}) != len(args):  # type: ignore[union-attr]
        return None
    declared = problem.var_sorts
    if any(a.name not in declared for a in args):  # type: ignore[union-attr]
        return None
    used = set().union(*(_free(problem.constraints[i]) for i in cidx)) if cidx else set()
    arg_names = {a.name for a in args}  # type: ignore[union-attr]
    if not used <= arg_names | {apps[0].var}:
        return None  # a constraint reads a variable the function cannot see: not forall x. exists r
    f = funs[0]
    return SingleInvocation(f, apps[0].var, {a.name: p for a, p in zip(args, f.params)},  # type: ignore[union-attr]
                            tuple(cidx))


def _free(e: Expr) -> set[str]:
    return {n.name for _, n in walk(e) if isinstance(n, Var)}


# ---------------------------------------------------------------- term pools

def _sort_of(e: Expr, sorts: dict[str, str]) -> str | None:
    if isinstance(e, Const):
        return INT
    if isinstance(e, Var):
        return sorts.get(e.name)
    if isinstance(e, Ite):
        return _sort_of(e.then, sorts)
    if isinstance(e, Op):
        return INT if e.op in INT_OPS else BOOL if e.op in BOOL_OPS else None
    return BOOL


def _has_placeholder(e: Expr, ph: str) -> bool:
    return any(isinstance(n, Var) and n.name == ph for _, n in walk(e))


class _Pool:
    """Distinct terms (over the declared variables) with their values on the points."""

    def __init__(self) -> None:
        self.terms: list[Expr] = []
        self.index: set[Expr] = set()

    def add(self, term: Expr) -> bool:
        if term in self.index:
            return False
        self.index.add(term)
        self.terms.append(term)
        return True


def spec_terms(problem: SygusProblem, si: SingleInvocation) -> tuple[list[Expr], list[Expr]]:
    """(leaves, conditions) read off the constraints, smallest first."""
    sorts = {**problem.var_sorts, si.placeholder: si.fun.sort}
    ph = si.placeholder
    leaves: _Pool = _Pool()
    atoms_with: list[Expr] = []
    conds: _Pool = _Pool()
    want = si.fun.sort
    for v in sorted(si.to_param):
        if sorts[v] == want:
            leaves.add(Var(v))
    if want == BOOL:
        leaves.add(BoolLit(True))
        leaves.add(BoolLit(False))
    for c in problem.constants if want == INT else ():
        leaves.add(Const(c))
    if want == INT:
        leaves.add(Const(0))
        leaves.add(Const(1))
    for i in si.constraints:
        for _, n in walk(problem.constraints[i]):
            s = _sort_of(n, sorts)
            has = _has_placeholder(n, ph)
            if s == want and not has and want == INT and not isinstance(n, (Const, Var)):
                leaves.add(n)
            if isinstance(n, Op) and n.op in COMPARE and len(n.args) == 2:
                if has:
                    atoms_with.append(n)
                    a, b = n.args
                    other = b if a == Var(ph) else a if b == Var(ph) else None
                    if other is not None and want == INT and not _has_placeholder(other, ph):
                        leaves.add(other)
                        if n.op in ("<", ">", "!="):
                            leaves.add(Op("+", (other, Const(1))))
                            leaves.add(Op("-", (other, Const(1))))
                elif _sort_of(n.args[0], sorts) == INT:
                    conds.add(n)
            elif isinstance(n, Var) and sorts.get(n.name) == BOOL and n.name != ph:
                conds.add(n)
    if problem.logic == "LIA":  # an answer must stay in the logic: no term of the constraints beyond it
        leaves.terms = [t for t in leaves.terms if is_linear(t)]
        conds.terms = [t for t in conds.terms if is_linear(t)]
    leaf_list = sorted({normalize_linear(t) for t in leaves.terms}, key=lambda t: (node_count(t), to_sexpr(t)))
    for atom in atoms_with:
        for t in leaf_list:
            if len(conds.terms) >= MAX_CONDITIONS:
                break
            conds.add(substitute(atom, {ph: t}))
    return leaf_list, sorted(conds.terms, key=lambda t: (node_count(t), to_sexpr(t)))


# ---------------------------------------------------------------- a fast check for this shape

class _Checker:
    """Z3 on phi(x, r) with r = the candidate: the constraints are encoded once per
    solve and the candidate once per check (the generic check substitutes the term
    into every constraint). Counterexamples are replayed with the exact evaluator.
    Used inside the loop; the final answer is checked again by the generic check."""

    def __init__(self, problem: SygusProblem, si: SingleInvocation) -> None:
        self.problem, self.si = problem, si
        sorts = problem.var_sorts
        self.env: dict[str, z3.ExprRef] = {n: (z3.Bool(n) if s == BOOL else z3.Int(n)) for n, s in sorts.items()}
        self.r = z3.Bool("r!") if si.fun.sort == BOOL else z3.Int("r!")
        self.env[si.placeholder] = self.r
        self.encoded = [to_z3(problem.constraints[i], self.env) for i in si.constraints]

    def check(self, run: Run, tree: Expr) -> tuple[str, list[dict[str, Value]]]:
        """("valid" | "invalid" | "unknown", counterexamples) of a tree over the declared variables."""
        run.result.z3_calls += 1
        run.result.last_candidate = to_sexpr(tree)
        solver = z3.Solver()
        solver.add(self.r == to_z3(tree, self.env))
        status, cexes = "valid", []
        for i, c in zip(self.si.constraints, self.encoded):
            if run.out_of_time():
                return "unknown", cexes
            solver.push()
            solver.add(z3.Not(c))
            solver.set("timeout", run.z3_ms())
            answer = solver.check()
            if answer == z3.sat:
                m = solver.model()
                cex = {n: z3_value_to_py(m.eval(v, model_completion=True)) for n, v in self.env.items()
                       if n != self.si.placeholder}
                env = {**cex, self.si.placeholder: evaluate(tree, cex)}
                if evaluate(self.problem.constraints[i], env) is False:
                    status = "invalid"
                    cexes.append(cex)
                elif status == "valid":
                    status = "unknown"
            elif answer != z3.unsat and status == "valid":
                status = "unknown"
            solver.pop()
        return status, cexes


def normalize_linear(e: Expr) -> Expr:
    """The smaller of `e` and its linear normal form `c1*x1 + ... + c0` (for spec terms
    such as `(+ (+ x x) x)` written through define-funs): same value, fewer nodes."""
    coeffs = _linear(e)
    if coeffs is None:
        return e
    parts: list[Expr] = []
    for name in sorted(k for k in coeffs if k):
        c = coeffs[name]
        if c:
            parts.append(Var(name) if c == 1 else Op("-", (Var(name),)) if c == -1 else Op("*", (Const(c), Var(name))))
    if coeffs.get("", 0) or not parts:
        parts.append(Const(coeffs.get("", 0)))
    out = parts[0] if len(parts) == 1 else Op("+", tuple(parts))
    return out if node_count(out) < node_count(e) else e


def _linear(e: Expr) -> dict[str, int] | None:
    """Coefficients by variable ('' for the constant) of a linear Int term, or None."""
    if isinstance(e, Const):
        return {"": e.value}
    if isinstance(e, Var):
        return {e.name: 1}
    if not isinstance(e, Op):
        return None
    parts = [_linear(a) for a in e.args]
    if any(p is None for p in parts):
        return None
    if e.op in ("+", "-"):
        if e.op == "-" and len(parts) == 1:
            return {k: -v for k, v in parts[0].items()}  # type: ignore[union-attr]
        out: dict[str, int] = {}
        for j, p in enumerate(parts):
            sign = -1 if e.op == "-" and j > 0 else 1
            for k, v in p.items():  # type: ignore[union-attr]
                out[k] = out.get(k, 0) + sign * v
        return out
    if e.op == "*" and len(parts) == 2:
        a, b = parts
        for x, y in ((a, b), (b, a)):
            if set(x) <= {""}:  # type: ignore[arg-type]
                k = x.get("", 0)  # type: ignore[union-attr]
                return {n: k * v for n, v in y.items()}  # type: ignore[union-attr]
    return None


def is_linear(e: Expr) -> bool:
    """No product of two non-constants, no div/mod by a non-constant (the LIA fragment)."""
    for _, n in walk(e):
        if isinstance(n, Op) and n.op == "*" and sum(not _constant(a) for a in n.args) > 1:
            return False
        if isinstance(n, Op) and n.op in ("div", "mod", "safe_div", "safe_mod") and not _constant(n.args[1]):
            return False
    return True


def _constant(e: Expr) -> bool:
    return not any(isinstance(n, Var) for _, n in walk(e))


# ---------------------------------------------------------------- the solver

class _Points:
    """Counterexample points and the values of leaves and conditions there."""

    def __init__(self, problem: SygusProblem, si: SingleInvocation, examples: Examples) -> None:
        self.problem, self.si, self.examples = problem, si, examples
        self.env = BatchEnv(examples.columns(), size=examples.size)

    def values(self, terms: list[Expr]) -> np.ndarray:
        n = self.examples.size
        return np.array([evaluate_batch(t, self.env) for t in terms]) if terms else np.zeros((0, n))

    def covers(self, leaves: list[Expr]) -> np.ndarray:
        """leaves x points: whether every constraint holds there with f(x) = the leaf."""
        n = self.examples.size
        out = np.ones((len(leaves), n), dtype=bool)
        for k, t in enumerate(leaves):
            vals = evaluate_batch(t, self.env)
            env = BatchEnv({}, size=n)
            env.values = dict(self.env.values)
            env.values[self.si.placeholder] = column_value(vals)
            for i in self.si.constraints:
                out[k] &= np.asarray(evaluate_batch(self.problem.constraints[i], env), dtype=bool)
        return out


def solve_single(run: Run, si: SingleInvocation) -> tuple[str, dict[str, Expr], str]:
    problem, res = run.problem, run.result
    f = si.fun
    leaves, conds = spec_terms(problem, si)
    sizes_l = [node_count(t) for t in leaves]
    sizes_c = [node_count(t) for t in conds]
    examples = Examples(problem.variables)
    examples.seed(run.options.random_examples, run.options.seed)
    rename = {v: Var(p) for v, p in si.to_param.items()}
    tried: set[Expr] = set()
    best: Expr | None = None
    checker = _Checker(problem, si)
    first_round = res.rounds
    pending_chain = premise_chain(problem, si)
    polish_until = run.deadline
    for _ in range(MAX_ROUNDS):
        res.rounds += 1
        if run.out_of_time() or (best is not None and time.perf_counter() > polish_until):
            break
        pts = _Points(problem, si, examples)
        C = pts.covers(leaves)
        missing = ~C.any(axis=0)
        if missing.any():
            extra = _enumerate_leaf(run, si, pts, missing)
            if extra is None:
                break
            leaves.append(extra)
            sizes_l.append(node_count(extra))
            continue
        P = pts.values(conds).astype(bool) if conds else np.zeros((0, examples.size), dtype=bool)
        tree = decision_tree(C, P, leaves, conds, np.array(sizes_l), np.array(sizes_c))
        chain = guard_chain(problem, si, C, leaves)
        if tree is None and chain is None:
            more = _enumerate_conditions(run, si, pts, conds)
            if not more:
                break
            conds.extend(more)
            sizes_c.extend(node_count(t) for t in more)
            continue
        # The smaller of the two first; the other too when it is new (the tree may grow
        # exponentially, as for max-of-N, where guarded leaves stay quadratic).
        fresh = sorted({t for t in (tree, chain) if t is not None and t not in tried}, key=node_count)
        if pending_chain is not None:  # point-independent: tried once, at the first check
            fresh.append(pending_chain)
            pending_chain = None
        if res.rounds - first_round == FULL_CHAIN_ROUND and best is None:
            fresh.append(full_chain(problem, si, leaves, C))  # last: only when the others failed
        # Once an answer is verified, only smaller terms are worth a check (the tree often is).
        fresh = sorted({t for t in fresh if t is not None and t not in tried
                        and (best is None or node_count(t) < node_count(best))}, key=node_count)
        learned = False
        for cand in fresh:
            tried.add(cand)
            status, cexes = checker.check(run, cand)
            run.log(f"  single-invocation {'tree' if cand is tree else 'chain'} "
                    f"({node_count(cand)} nodes, {examples.size} points): {status}")
            if status == "valid":
                if best is None:
                    polish_until = time.perf_counter() + POLISH_SHARE * (run.deadline - time.perf_counter())
                best = cand
                break
            learned = any([examples.add(cex) for cex in cexes]) or learned
            if run.out_of_time():
                break
        if best is not None and (best is tree or not fresh):
            break
        if not learned and (best is not None or not fresh or run.out_of_time()):
            break
    if best is None:
        if run.out_of_time():
            return "timeout", {}, "time limit reached"
        return "unknown", {}, "no leaf, condition or counterexample left to learn from"
    # Every term kept here was proved by `_Checker` (Z3 unsat of each negated constraint
    # with f(x) defined as the term), so no final check can undo it at the deadline.
    best = simplify(run, checker, best)
    return "solved", {f.name: substitute(best, rename)}, ""


def _env_of(pts: _Points, si: SingleInvocation) -> BatchEnv:
    """The points as values of the function's parameters (what the Enumerator runs on)."""
    cols = pts.examples.columns()
    return BatchEnv({si.to_param[v]: cols[v] for v in si.to_param}, size=pts.examples.size)


def _enumerate_leaf(run: Run, si: SingleInvocation, pts: _Points, missing: np.ndarray) -> Expr | None:
    """The smallest term of the grammar right at the first uncovered point (over the declared variables)."""
    g = compiled(si.fun)
    env = _env_of(pts, si)
    to_var = {p: Var(v) for v, p in si.to_param.items()}
    target = int(np.flatnonzero(missing)[0])
    enum = Enumerator(g, env, limits_for(g), should_stop=run.stop)
    for item in enum.terms():
        if isinstance(item, LevelDone):
            continue
        term = substitute(item.term, to_var)
        if pts.covers([term])[0, target]:
            return term
    return None


def _enumerate_conditions(run: Run, si: SingleInvocation, pts: _Points, have: list[Expr]) -> list[Expr]:
    """Small predicates of the function's Bool nonterminal with new truth vectors on the points."""
    nt = condition_nonterminal_of(si.fun)
    if nt is None:
        return []
    g = condition_grammar(si.fun, nt)
    env = _env_of(pts, si)
    to_var = {p: Var(v) for v, p in si.to_param.items()}
    seen = {pts.values([t]).astype(bool).tobytes() for t in have}
    out: list[Expr] = []
    enum = Enumerator(g, env, limits_for(g), should_stop=run.stop)
    for item in enum.terms():
        if isinstance(item, LevelDone):
            if out:
                return out
            continue
        vals = np.asarray(to_array(item.value, env.size), dtype=bool)
        key = vals.tobytes()
        if vals.any() and not vals.all() and key not in seen:
            seen.add(key)
            out.append(substitute(item.term, to_var))
    return out


# ---------------------------------------------------------------- guarded leaves

def guard_chain(problem: SygusProblem, si: SingleInvocation, C: np.ndarray, leaves: list[Expr]) -> Expr | None:
    """Guarded leaves over a greedy cover of the points (the leaf covering most first)."""
    left = np.ones(C.shape[1], dtype=bool)
    chosen: list[int] = []
    while left.any():
        gain = (C[:, left]).sum(axis=1)
        k = int(np.argmax(gain))
        if gain[k] == 0:
            return None
        chosen.append(k)
        left &= ~C[k]
    if si.fun.sort != INT and len(chosen) > 1:
        return None
    return _chain(problem, si, [leaves[k] for k in chosen])


def full_chain(problem: SygusProblem, si: SingleInvocation, leaves: list[Expr], C: np.ndarray) -> Expr | None:
    """Guarded leaves over every leaf but the constants, not only those the points need: when counterexamples come one leaf at a time
    (max-of-N), this is right long before the points cover every case."""
    if si.fun.sort != INT or len(leaves) > 64:
        return None
    order = sorted((k for k in range(len(leaves)) if not isinstance(leaves[k], Const)),
                   key=lambda k: (-int(C[k].sum()), node_count(leaves[k])))
    chain = [leaves[k] for k in order]
    return _chain(problem, si, chain) if chain else None


def _chain(problem: SygusProblem, si: SingleInvocation, chain: list[Expr]) -> Expr:
    """`(ite g1 t1 (ite g2 t2 ... t_n))`, each guard g_k being phi(x, t_k) (cvc5's
    single-invocation answer shape), with the conjuncts that mention an earlier leaf
    left out: past the earlier guards they are usually implied (for max-of-N, x_k
    need only be compared with the later x's), which halves the term and makes Z3's
    proof easy; Z3 checks the result like any candidate. The last leaf is unguarded."""
    out = chain[-1]
    for k in range(len(chain) - 2, -1, -1):
        earlier = [t for t in chain[:k] if not isinstance(t, Const)]
        guard = _guard(problem, si, chain[k])
        conjuncts = guard.args if isinstance(guard, Op) and guard.op == "and" else (guard,)
        keep = [c for c in conjuncts if not any(_mentions(c, t) for t in earlier)] or [_TRUE] \
            if not isinstance(chain[k], Const) else list(conjuncts)
        out = Ite(simplify_bool(_conj(keep)), chain[k], out)
    return simplify_bool(out)


_NEGATED = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "=": "!=", "!=": "="}


def premise_chain(problem: SygusProblem, si: SingleInvocation) -> Expr | None:
    """`(ite P1 t1 (ite P2 t2 ... tn))` from constraints of the guarded-assignment shape
    `(=> P (= f(x) t))`, in file order (array sums and searches, mpg guards). Premise
    conjuncts shared by every such constraint (an assumption such as `x1 < x2 < x3`)
    are left out, and so are those whose negation alone was an earlier premise."""
    ph = Var(si.placeholder)
    items: list[tuple[list[Expr], Expr]] = []
    for i in si.constraints:
        for atoms, goal in _guarded_goals(problem.constraints[i], []):
            if not (isinstance(goal, Op) and goal.op == "=" and len(goal.args) == 2 and ph in goal.args):
                continue
            t = goal.args[1] if goal.args[0] == ph else goal.args[0]
            if _has_placeholder(t, si.placeholder) or any(_has_placeholder(a, si.placeholder) for a in atoms):
                continue
            items.append((atoms, normalize_linear(t)))
    if len(items) < 2:
        return None
    common = [a for a in items[0][0] if all(a in atoms for atoms, _ in items[1:])]
    done: list[Expr] = []  # single-atom premises already taken
    guards: list[Expr] = []
    for atoms, _ in items:
        keep = [a for a in atoms if a not in common and _negation(a) not in done]
        guards.append(simplify_bool(_conj(keep)) if keep else _TRUE)
        if len(keep) == 1:
            done.append(keep[0])
    out = items[-1][1]
    for guard, (_, t) in zip(reversed(guards[:-1]), reversed(items[:-1])):
        if guard == _TRUE:
            out = t
        elif t != out:
            out = Ite(guard, t, out)
    return out


def _guarded_goals(e: Expr, premises: list[Expr]) -> list[tuple[list[Expr], Expr]]:
    """The goals of a constraint with the premise conjuncts under which each must hold,
    in order: through `(=> P goal)`, `(ite c goal1 goal2)` (and its spelling
    `(or (and c goal1) (and (not c) goal2))`) and conjunctions of goals."""
    if isinstance(e, Op) and e.op == "=>" and len(e.args) == 2:
        return _guarded_goals(e.args[1], premises + _conjuncts(e.args[0]))
    branches = _ite_of(e)
    if branches is not None:
        c, a, b = branches
        return (_guarded_goals(a, premises + _conjuncts(c))
                + _guarded_goals(b, premises + [simplify_bool(_negation(c))]))
    if isinstance(e, Op) and e.op == "and":
        return [g for a in e.args for g in _guarded_goals(a, premises)]
    return [(premises, e)]


def _ite_of(e: Expr) -> tuple[Expr, Expr, Expr] | None:
    """(c, a, b) of a Boolean `(ite c a b)` or `(or (and c a) (and (not c) b))`."""
    if isinstance(e, Ite):
        return e.cond, e.then, e.else_
    if isinstance(e, Op) and e.op == "or" and len(e.args) == 2:
        x, y = e.args
        if isinstance(x, Op) and isinstance(y, Op) and x.op == y.op == "and" and len(x.args) == len(y.args) == 2 \
                and y.args[0] == Op("not", (x.args[0],)):
            return x.args[0], x.args[1], y.args[1]
    return None


def _conjuncts(e: Expr) -> list[Expr]:
    if isinstance(e, Op) and e.op == "and":
        return [x for a in e.args for x in _conjuncts(a)]
    return [e]


def _negation(a: Expr) -> Expr:
    if isinstance(a, Op) and a.op in _NEGATED and len(a.args) == 2:
        return Op(_NEGATED[a.op], a.args)
    if isinstance(a, Op) and a.op == "not":
        return a.args[0]
    return Op("not", (a,))


def _mentions(e: Expr, t: Expr) -> bool:
    return any(n == t for _, n in walk(e))


def _guard(problem: SygusProblem, si: SingleInvocation, leaf: Expr) -> Expr:
    """phi(x, leaf), simplified: where the leaf is right."""
    return simplify_bool(_conj([substitute(problem.constraints[i], {si.placeholder: leaf}) for i in si.constraints]))


def _conj(parts: list[Expr]) -> Expr:
    return parts[0] if len(parts) == 1 else Op("and", tuple(parts))


_TRUE, _FALSE = BoolLit(True), BoolLit(False)


def simplify_bool(e: Expr) -> Expr:
    """Constant folding of a condition: `(>= a a)` is true, `(and true p)` is p, and so on."""
    if isinstance(e, Op):
        args = tuple(simplify_bool(a) for a in e.args)
        op = e.op
        if op in COMPARE and len(args) == 2:
            a, b = args
            if isinstance(a, Const) and isinstance(b, Const):
                return BoolLit({"=": a.value == b.value, "!=": a.value != b.value, "<": a.value < b.value,
                                "<=": a.value <= b.value, ">": a.value > b.value, ">=": a.value >= b.value}[op])
            if a == b:
                return BoolLit(op in ("=", "<=", ">="))
        if op == "not" and isinstance(args[0], BoolLit):
            return BoolLit(not args[0].value)
        if op == "=>" and len(args) == 2:
            a, b = args
            if a == _FALSE or b == _TRUE:
                return _TRUE
            if a == _TRUE:
                return b
            if b == _FALSE:
                return simplify_bool(Op("not", (a,)))
        if op in ("and", "or"):
            unit, zero = (_TRUE, _FALSE) if op == "and" else (_FALSE, _TRUE)
            flat: list[Expr] = []
            for a in args:
                for x in (a.args if isinstance(a, Op) and a.op == op else (a,)):
                    if x == zero:
                        return zero
                    if x != unit and x not in flat:
                        flat.append(x)
            if not flat:
                return unit
            return flat[0] if len(flat) == 1 else Op(op, tuple(flat))
        return Op(op, args)
    if isinstance(e, Ite):
        c = simplify_bool(e.cond)
        if isinstance(c, BoolLit):
            return simplify_bool(e.then if c.value else e.else_)
        return Ite(c, simplify_bool(e.then), simplify_bool(e.else_))
    return e


# ---------------------------------------------------------------- simplification

def simplify(run: Run, checker: _Checker, term: Expr) -> Expr:
    """Drop ite branches while Z3 still proves the term (largest savings first), within the budget."""
    current = term
    improved = True
    while improved and not run.out_of_time():
        improved = False
        for cand in sorted(set(_branch_drops(current)), key=node_count):
            if run.out_of_time():
                break
            if checker.check(run, cand)[0] == "valid":
                run.log(f"  simplified to {node_count(cand)} nodes")
                current = cand
                improved = True
                break
    return current


def _branch_drops(e: Expr) -> list[Expr]:
    """Every term made by replacing one ite of `e` with one of its branches."""
    out: list[Expr] = []
    for path, n in walk(e):
        if isinstance(n, Ite):
            for k in (n.then, n.else_):
                out.append(replace_at(e, path, k))
    return out
