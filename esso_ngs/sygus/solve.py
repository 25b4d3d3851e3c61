"""SyGuS solving: a portfolio of strategies per component of functions.

Functions are solved per *component*: functions that share a constraint are solved
together, the others alone; components share the time budget evenly. Each component
runs the strategies that fit its shape, in order, each with a share of the time
left when it starts (`portfolio`), and the first answer wins:
- an invariant (a lone synth-inv with its inv-constraint): ICE learning (`ice.py`);
- functions written without a grammar: an affine template first (`affine.py`, 15%);
- a single-invocation function without a grammar (`single.py`): per-point leaves,
  guarded chains and decision trees from the constraints (60%);
- a function whose grammar has `(ite B S S)` at its start, seen at one application:
  divide and conquer (`unify.py`, 70% of what is left);
- enumerative CEGIS (below), for one function or a product of several: the rest.
Every strategy checks the deadline in its inner loops and bounds each Z3 call by it;
`SolveResult.strategies` records each one's share, time and outcome, `methods` which
one answered, and a timeout's reason names the last candidate checked.

Enumerative CEGIS: terms come from the function's grammar (or the default one)
through the same bottom-up, observationally pruned Enumerator as ESSO holes, in size
order; a candidate that passes the examples is checked by Z3 against the
instantiated constraints, and each counterexample becomes an example (the
enumeration restarts, as terms merged on the old examples may now differ).

Verdicts: `solved` (Z3 proved the terms), `infeasible` (a finite grammar was
exhausted with every candidate refuted, and nothing was approximated),
`unknown` / `timeout` otherwise. Every returned solution has been proved.
"""
from __future__ import annotations

import itertools
import time
from typing import Callable, Iterator

from ..lang.batched import to_array
from ..lang.evaluate import Value
from ..lang.expr import Expr
from ..lang.sexpr import to_sexpr
from ..synth.enumerate import Entry, Enumerator, LevelDone
from ..wording import plural
from .affine import affine_applicable, solve_affine
from .check import check_formula
from .common import Run, SolveOptions, SolveResult, Trace, compiled, complete_search, limits_for
from .examples import Examples, PointContext, apps_in
from .ice import solve_invariant
from .problem import InvTask, SygusProblem, SynthFun
from .single import single_invocation, solve_single
from .unify import condition_nonterminal, solve_unify

__all__ = ["SolveOptions", "SolveResult", "solve"]


def solve(problem: SygusProblem, options: SolveOptions = SolveOptions(), trace: Trace | None = None,
          result: SolveResult | None = None) -> SolveResult:
    """Solve within `options.timeout_s`. `result` (default a new one) is filled as the
    search goes: a caller that cuts the search short reads the best partial state there."""
    start = time.perf_counter()
    result = result if result is not None else SolveResult("unknown")
    run = Run(problem, options, start + options.timeout_s, result, trace or (lambda _m: None))
    status, reason = _solve_all(run)
    result.status, result.reason = status, reason
    result.time_s = time.perf_counter() - start
    return result


def _solve_all(run: Run) -> tuple[str, str]:
    problem = run.problem
    uses = [_funs_of(problem, i) for i in range(len(problem.constraints))]
    # Constraints about no function must simply be valid.
    for i, funs in enumerate(uses):
        if not funs:
            status, cex, reason = check_formula(problem.constraints[i], problem.var_sorts,
                                                run.options.z3_timeout_ms, run.deadline)
            run.result.z3_calls += 1
            if status == "invalid":
                return "infeasible", f"constraint {i + 1} mentions no function and is false at {_show(cex)}"
            if status == "unknown":
                run.log(f"constraint {i + 1} mentions no function and Z3 cannot decide it: {reason}")
    comps = _components(problem, uses)
    global_deadline = run.deadline
    for k, comp in enumerate(comps):
        cidx = [i for i, funs in enumerate(uses) if funs & set(comp)]
        funs = [problem.fun(n) for n in comp]
        # Components share what is left evenly; strategies share a component's time by shape.
        comp_deadline = time.perf_counter() + (global_deadline - time.perf_counter()) / (len(comps) - k)
        status, terms, reason, method = "unknown", {}, "no strategy applies", ""
        for name, share, strategy in portfolio(problem, funs, cidx):
            now = time.perf_counter()
            left = comp_deadline - now
            if left <= 0:
                status, reason = "timeout", "time limit reached"
                break
            run.deadline = now + left * share
            # Logged as running first: a caller that cuts the search short sees where it was.
            entry = {"functions": list(comp), "strategy": name, "share_s": round(left * share, 3),
                     "spent_s": None, "outcome": "running"}
            run.result.strategies.append(entry)
            status, terms, reason = strategy(run, funs, cidx)
            spent = time.perf_counter() - now
            entry.update(spent_s=round(spent, 3), outcome=status)
            run.log(f"{', '.join(comp)}: {name} ({left * share:.1f} s): {status} in {spent:.2f} s"
                    + (f": {reason}" if reason and status != "solved" else ""))
            if status in ("solved", "infeasible"):
                method = name
                break
        run.deadline = global_deadline
        if status != "solved":
            names = ", ".join(comp)
            if status == "unknown" and time.perf_counter() >= comp_deadline:
                status = "timeout"
            last = run.result.last_candidate
            reason = reason + (f"; last candidate checked: {last}" if last and status == "timeout" else "")
            return status, f"{names}: {reason}" if reason else names
        run.result.terms.update(terms)
        run.result.methods.update({n: method for n in comp})
        run.log(f"{', '.join(comp)}: solved by {method}: " +
                "; ".join(f"{n} = {to_sexpr(t)}" for n, t in terms.items()))
    return "solved", ""


Strategy = Callable[[Run, list[SynthFun], list[int]], tuple[str, dict[str, Expr], str]]


def portfolio(problem: SygusProblem, funs: list[SynthFun], cidx: list[int]) -> list[tuple[str, float, Strategy]]:
    """The strategies that apply to a component, in order, each with its share of the time
    left when it starts (the last one takes all that is left)."""
    inv = _inv_component(problem, funs, cidx)
    if inv is not None:
        return [("ice", 1.0, lambda run, _f, _c: solve_invariant(problem, inv, run))]
    out: list[tuple[str, float, Strategy]] = []
    if affine_applicable(problem, funs, cidx):
        out.append(("affine", 0.15, _affine))
    if len(funs) > 1:
        return out + [("cegis-product", 1.0, lambda run, fs, c: _cegis(run, fs, c, product=True))]
    f = funs[0]
    si = single_invocation(problem, funs, cidx) if f.default_grammar else None
    cond = condition_nonterminal(problem, f, cidx)
    if si is not None:
        out.append(("single-invocation", 0.6 if cond is not None else 1.0, lambda run, _f, _c: solve_single(run, si)))
    if cond is not None:
        out.append(("divide-and-conquer", 0.7, lambda run, fs, c: solve_unify(run, fs[0], cond, c)))
    out.append(("cegis", 1.0, lambda run, fs, c: _cegis(run, fs, c, product=False)))
    return out


def _affine(run: Run, funs: list[SynthFun], cidx: list[int]) -> tuple[str, dict[str, Expr], str]:
    terms = solve_affine(run, funs, cidx)
    if terms is None:
        return ("timeout" if run.out_of_time() else "unknown"), {}, "no affine function fits"
    return "solved", terms, ""


def _funs_of(problem: SygusProblem, i: int) -> set[str]:
    return {a.fun for a in apps_in(problem, [i])}


def _components(problem: SygusProblem, uses: list[set[str]]) -> list[list[str]]:
    """Functions linked by shared constraints, in declaration order."""
    parent = {f.name: f.name for f in problem.funs}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for funs in uses:
        names = sorted(funs)
        for a, b in zip(names, names[1:]):
            parent[find(a)] = find(b)
    groups: dict[str, list[str]] = {}
    for f in problem.funs:
        groups.setdefault(find(f.name), []).append(f.name)
    return list(groups.values())


def _inv_component(problem: SygusProblem, funs: list[SynthFun], cidx: list[int]) -> InvTask | None:
    """The invariant task when this component is exactly one synth-inv and its inv-constraints."""
    if len(funs) != 1 or not funs[0].is_inv:
        return None
    tasks = [t for t in problem.invs if t.fun == funs[0].name]
    if len(tasks) != 1 or len(cidx) != 3:
        return None  # extra constraints on the invariant: the generic loop handles them
    return tasks[0]


# ---------------------------------------------------------------- CEGIS

def _cegis(run: Run, funs: list[SynthFun], cidx: list[int], product: bool
           ) -> tuple[str, dict[str, Expr], str]:
    problem, opts, res = run.problem, run.options, run.result
    examples = Examples(problem.variables)
    examples.seed(opts.random_examples, opts.seed)
    extra: dict[str, list[dict[str, Value]]] = {}
    undecided: set[str] = set()
    grammars = {f.name: compiled(f) for f in funs}
    complete = complete_search(problem, funs, cidx)
    while True:
        res.rounds += 1
        ctx = PointContext(problem, funs, cidx, examples, extra)
        enums = {f.name: Enumerator(grammars[f.name], ctx.envs[f.name], limits_for(grammars[f.name]),
                                    should_stop=run.stop) for f in funs}
        run.log(f"round {res.rounds}: {plural(examples.size, 'example')}")
        candidates = _product(enums, funs) if product else _single(enums[funs[0].name], funs[0].name)
        outcome: str | None = None
        for combo in candidates:
            if run.out_of_time():
                outcome = "timeout"
                break
            values = {n: (e.term, to_array(e.value, ctx.envs[n].size)) for n, e in combo.items()}
            if not ctx.passes(values):
                continue
            terms = {n: e.term for n, e in combo.items()}
            key = " ".join(to_sexpr(t) for t in terms.values())
            if key in undecided:
                continue
            verdict = run.check(terms, cidx)
            run.log(f"  candidate {key}: {verdict.status}")
            if verdict.ok:
                res.candidates += sum(e.stats.built for e in enums.values())
                return "solved", terms, ""
            if verdict.status == "invalid":
                added = False
                for _, cex in verdict.counterexamples:
                    added = examples.add(cex) or added
                    for fname, pts in ctx.nested_points(terms, cex).items():
                        extra.setdefault(fname, []).extend(pts)
                if added:
                    outcome = "restart"
                    break
            undecided.add(key)  # Z3 could not decide, or its counterexample taught nothing new
        res.candidates += sum(e.stats.built for e in enums.values())
        if outcome == "restart":
            continue
        if outcome == "timeout" or any(e.stopped for e in enums.values()) or run.out_of_time():
            return "timeout", {}, "time limit reached"
        if undecided:
            return "unknown", {}, f"Z3 could not decide {plural(len(undecided), 'candidate')}, e.g. {min(undecided, key=len)}"
        if complete:
            return "infeasible", {}, "every term of the grammar is refuted"
        return "unknown", {}, "no term found (the grammar was approximated or pruning was inexact)"


def _single(enum: Enumerator, name: str) -> Iterator[dict[str, Entry]]:
    for item in enum.terms():
        if not isinstance(item, LevelDone):
            yield {name: item}


def _product(enums: dict[str, Enumerator], funs: list[SynthFun]) -> Iterator[dict[str, Entry]]:
    """Tuples of terms, one per function, by increasing total size."""
    names = [f.name for f in funs]
    streams = {n: enums[n].terms() for n in names}
    banks: dict[str, dict[int, list[Entry]]] = {n: {} for n in names}
    done: dict[str, int] = {n: 0 for n in names}  # highest completed level
    finished: dict[str, bool] = {n: False for n in names}

    def advance(n: str, level: int) -> None:
        while done[n] < level and not finished[n]:
            try:
                item = next(streams[n])
            except StopIteration:
                finished[n] = True
                return
            if isinstance(item, LevelDone):
                done[n] = item.level
            else:
                banks[n].setdefault(item.level, []).append(item)

    k = len(names)
    for total in itertools.count(k):
        for n in names:
            advance(n, total - (k - 1))
        if all(finished.values()) and total > sum(done.values()):
            return
        for split in _compositions(total, k):
            lists = [banks[n].get(lv, []) for n, lv in zip(names, split)]
            for combo in itertools.product(*lists):
                yield dict(zip(names, combo))


def _compositions(total: int, k: int) -> Iterator[tuple[int, ...]]:
    if k == 1:
        yield (total,)
        return
    for first in range(1, total - k + 2):
        for rest in _compositions(total - first, k - 1):
            yield (first,) + rest


def _show(cex: dict | None) -> str:
    return ", ".join(f"{k}={v}" for k, v in (cex or {}).items()) or "any input"
