"""What the SyGuS solvers share: options, results, the run state, grammar limits."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable, Mapping, Sequence

from ..grammar import CompiledGrammar, compile_grammar
from ..lang.expr import Expr
from ..lang.sexpr import to_sexpr
from ..formats.model import StyleProfile
from ..synth.enumerate import Limits
from .check import CheckResult, check, z3_limit_ms
from .examples import apps_in
from .problem import SygusProblem, SynthFun

Trace = Callable[[str], None]


# A plain settings record: its field list has the shape of neural.backend.SampleSettings, nothing in common.
@dataclass(frozen=True, slots=True)
class SolveOptions:
    timeout_s: float = 60.0
    z3_timeout_ms: int = 5000
    seed: int = 0
    random_examples: int = 2


@dataclass(slots=True)
class SolveResult:
    status: str  # "solved" | "infeasible" | "unknown" | "timeout"
    terms: dict[str, Expr] = field(default_factory=dict)  # function name -> term (internal names)
    reason: str = ""
    time_s: float = 0.0
    rounds: int = 0
    candidates: int = 0
    z3_calls: int = 0
    methods: dict[str, str] = field(default_factory=dict)  # function name -> how it was solved
    last_candidate: str = ""  # the last term Z3 checked (the best partial state on a timeout)
    strategies: list[dict] = field(default_factory=list)  # portfolio log: name, share_s, spent_s, outcome

    @property
    def solved(self) -> bool:
        return self.status == "solved"


@dataclass(slots=True)
class Run:
    """What a whole solve shares: options, deadline, counters, trace."""

    problem: SygusProblem
    options: SolveOptions
    deadline: float
    result: SolveResult
    log: Trace

    def out_of_time(self) -> bool:
        return time.perf_counter() > self.deadline

    def z3_ms(self) -> int:
        """A Z3 time limit that ends by the deadline (at least 1 ms)."""
        return max(1, z3_limit_ms(self.options.z3_timeout_ms, self.deadline))

    def check(self, terms: Mapping[str, Expr], cidx: Sequence[int]) -> CheckResult:
        """`check.check` of candidate terms within the deadline, counted."""
        self.result.z3_calls += 1
        self.result.last_candidate = " ".join(to_sexpr(t) for t in terms.values())
        return check(self.problem, terms, self.options.z3_timeout_ms, list(cidx), deadline=self.deadline)

    def stop(self, _built: int) -> bool:
        """The Enumerator's `should_stop` hook."""
        return self.out_of_time()


def compiled(f: SynthFun) -> CompiledGrammar:
    return compile_grammar(f.grammar, StyleProfile(), f.variables)


def limits_for(g: CompiledGrammar) -> Limits:
    """Size order (one per node, no ite penalty: SyGuS asks for any solution), bounded
    by the largest term when the language is finite, so that exhaustion is detected."""
    return Limits(None if g.is_infinite else _max_size(g), None, None, 1, 0, 0)


def _max_size(g: CompiledGrammar) -> int:
    memo: dict[str, int] = {}
    active: set[str] = set()

    def size(nt: str) -> int:
        if nt in memo:
            return memo[nt]
        if nt in active:  # a unit cycle adds no node
            return 0
        active.add(nt)
        best = 0
        for r in g.rules.get(nt, ()):
            if all(b in g.productive for _, b in r.slots):
                best = max(best, r.own_nodes + sum(size(b) for _, b in r.slots))
        active.discard(nt)
        memo[nt] = best
        return best

    return max(size(g.start), 1)


def complete_search(problem: SygusProblem, funs: Sequence[SynthFun], cidx: Sequence[int]) -> bool:
    """Whether running out of terms proves that no solution exists: the grammars are the
    file's own (no approximated `Constant`) and pruning is exact (no nested applications)."""
    if any(f.default_grammar or f.approximate for f in funs):
        return False
    return not any(a.nested for a in apps_in(problem, list(cidx)))
