"""The bottom-up enumerator against a frozen copy of its one-term-at-a-time original.

The enumerator builds combinations in bulk (numpy over rows of combinations); it
must keep exactly what building them one by one kept: the same terms in the same
order, the same levels and costs, the same counters, the same stops. The original
implementation (before vectorization) is kept below as `RefEnumerator` and both
run side by side on every benchmark spec, on guided searches, on values outside
int64 and on assorted operators.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest

from esso_ngs.grammar import CompiledGrammar, Rule, compile_grammar, grammar_for_hole
from esso_ngs.lang.batched import (
    BatchEnv,
    BatchValue,
    apply_batch,
    batch_value,
    ite_batch,
    scalar_value,
    to_array,
    value_key,
)
from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.expr import (
    BoolLit,
    Const,
    EnumLit,
    Expr,
    Hole,
    Ite,
    Op,
    Var,
    ite_count,
    ite_depth,
    node_count,
    replace_at,
)
from esso_ngs.lang.sexpr import to_sexpr
from esso_ngs.formats import load_spec
from esso_ngs.formats.model import GrammarSpec, Penalties, StyleProfile
from esso_ngs.synth.enumerate import Enumerator, EnumStats, LevelDone, Limits
from esso_ngs.synth.examples import ExampleSet
from esso_ngs.synth.guidance import Hint, learn_guidance

ROOT = Path(__file__).resolve().parents[2]
SPEC_FILES = sorted((ROOT / "benchmarks" / "specs").glob("*_hole.yaml")) + \
    sorted((ROOT / "benchmarks" / "specs_hard").glob("*_hole.yaml"))


# ---------------------------------------------------------------- the reference (original) enumerator
# Verbatim from esso_ngs/synth/enumerate.py before vectorization (Entry -> RefEntry,
# Enumerator -> RefEnumerator, helpers prefixed with _ref); Limits, LevelDone and
# EnumStats are shared with the module under test (unchanged there).

@dataclass(slots=True)
class RefEntry:
    """One enumerated term of a nonterminal."""

    term: Expr
    level: int  # enumeration level (the weight, plus guidance extras)
    weight: int  # ast_node * nodes + branch * ites
    nodes: int
    ites: int
    depth: int  # ite nesting
    value: BatchValue

    def cost(self, nesting_penalty: int) -> int:
        return self.weight + nesting_penalty * self.depth



class RefEnumerator:
    def __init__(self, grammar: CompiledGrammar, env: BatchEnv, limits: Limits,
                 rule_extra: Mapping[tuple[str, int], int] | None = None,
                 seeds: Sequence[tuple[str, Expr, int]] = (),
                 max_level: int | None = None, should_stop: Callable[[int], bool] | None = None) -> None:
        self.g = grammar
        self.env = env
        self.limits = limits
        self.rule_extra = dict(rule_extra or {})
        self.seeds = list(seeds)  # (nonterminal, term, level)
        self.max_level = max_level
        self.top_level: int | None = None  # known once `terms()` starts
        self.should_stop = should_stop or (lambda _built: False)  # asked with the count of terms built
        self.stopped = False
        self.banks: dict[str, dict[int, list[RefEntry]]] = {nt: {} for nt in grammar.nonterminals}
        self.seen: dict[str, set[tuple[bytes, int]]] = {nt: set() for nt in grammar.nonterminals}
        self.stats = EnumStats()
        live = grammar.productive & grammar.reachable
        self.rules = {nt: [r for r in grammar.rules.get(nt, ()) if all(b in live for _, b in r.slots)]
                      for nt in grammar.nonterminals if nt in live}
        self.unit_rules = [r for rs in self.rules.values() for r in rs if r.is_unit]
        self.slot_templates = {id(r): _ref_slot_template(r) for rs in self.rules.values() for r in rs}

    # -------------------------------------------------------------- levels
    def rule_level(self, r: Rule) -> int:
        own = self.limits.ast_node * r.own_nodes + self.limits.branch * r.own_ites
        return own + self.rule_extra.get((r.nonterminal, r.index), 0)

    def terms(self) -> Iterator[RefEntry | LevelDone]:
        """New start-symbol entries, level by level, each level closed by LevelDone."""
        bound = self.limits.max_weight()
        top = self.max_level
        if bound is not None:
            # Guidance raises a term's level by at most the largest extra per node.
            stretch = max(self.rule_extra.values(), default=0) * (self.limits.max_nodes or 1)
            top = bound + stretch if top is None else min(top, bound + stretch)
        if top is None:
            top = 10_000
        self.top_level = top
        start = self.g.start
        for level in range(1, top + 1):
            before = (self.stats.built, self.stats.kept)
            new_start: list[RefEntry] = []
            for nt, rules in self.rules.items():
                for r in rules:
                    if r.is_unit:
                        continue
                    rl = self.rule_level(r)
                    if rl > level:
                        continue
                    for entry in self._apply(r, level - rl, level):
                        if self._add(nt, entry) and nt == start:
                            new_start.append(entry)
                    if self.stopped:
                        return
            for nt, term, seed_level in self.seeds:
                if seed_level == level:
                    entry = self._entry_of(term, level)
                    if entry is not None and self._add(nt, entry) and nt == start:
                        new_start.append(entry)
            new_start.extend(self._unit_closure(level))
            self.stats.levels.append((level, self.stats.built - before[0], self.stats.kept - before[1]))
            yield from new_start
            yield LevelDone(level)

    # -------------------------------------------------------------- building
    def _apply(self, r: Rule, budget: int, level: int) -> Iterator[RefEntry]:
        k = len(r.slots)
        if k == 0:
            if budget == 0:
                entry = self._entry_of(r.template, level)
                if entry is not None:
                    yield entry
            return
        if budget < k:
            return
        banks = [self.banks[nt] for _, nt in r.slots]
        for split in _ref_splits(budget, [sorted(b) for b in banks]):
            lists = [banks[i][w] for i, w in enumerate(split)]
            for combo in itertools.product(*lists):
                if self.stats.built % 1024 == 0 and self.should_stop(self.stats.built):
                    self.stopped = True
                    return
                entry = self._compose(r, combo, level)
                if entry is not None:
                    yield entry

    def _compose(self, r: Rule, kids: tuple[RefEntry, ...], level: int) -> RefEntry | None:
        self.stats.built += 1
        lim = self.limits
        nodes = r.own_nodes + sum(c.nodes for c in kids)
        ites = r.own_ites + sum(c.ites for c in kids)
        depth = max([r.own_ite_depth] + [c.depth + above for c, above in zip(kids, r.slot_ites_above)])
        if (lim.max_nodes is not None and nodes > lim.max_nodes) or \
                (lim.max_branches is not None and ites > lim.max_branches) or \
                (lim.max_nesting is not None and depth > lim.max_nesting):
            self.stats.pruned_style += 1
            return None
        term = r.template
        for (path, _), kid in zip(r.slots, kids):
            term = replace_at(term, path, kid.term)
        value = _ref_template_value(self.slot_templates[id(r)], [c.value for c in kids], self.env)
        weight = lim.ast_node * nodes + lim.branch * ites
        return RefEntry(term, level, weight, nodes, ites, depth, value)

    def _entry_of(self, term: Expr, level: int) -> RefEntry | None:
        self.stats.built += 1
        nodes, ites, depth = node_count(term), ite_count(term), ite_depth(term)
        lim = self.limits
        if (lim.max_nodes is not None and nodes > lim.max_nodes) or \
                (lim.max_branches is not None and ites > lim.max_branches) or \
                (lim.max_nesting is not None and depth > lim.max_nesting):
            self.stats.pruned_style += 1
            return None
        value = batch_value(term, self.env)
        return RefEntry(term, level, lim.ast_node * nodes + lim.branch * ites, nodes, ites, depth, value)

    def _add(self, nt: str, entry: RefEntry) -> bool:
        key = (value_key(to_array(entry.value, self.env.size)), entry.depth)
        seen = self.seen[nt]
        if key in seen:
            self.stats.pruned_equivalent += 1
            return False
        seen.add(key)
        self.banks[nt].setdefault(entry.level, []).append(entry)
        self.stats.kept += 1
        return True

    def _unit_closure(self, level: int) -> list[RefEntry]:
        """Unit rules (A -> B) pass B's new entries of this level on to A."""
        new_start: list[RefEntry] = []
        changed = True
        while changed:
            changed = False
            for r in self.unit_rules:
                a, b = r.nonterminal, r.slots[0][1]
                src_level = level - self.rule_level(r)
                for entry in list(self.banks[b].get(src_level, [])):
                    moved = RefEntry(entry.term, level, entry.weight, entry.nodes, entry.ites, entry.depth, entry.value)
                    if self._add(a, moved):
                        changed = True
                        if a == self.g.start:
                            new_start.append(moved)
        return new_start



def _ref_splits(total: int, available: list[list[int]]) -> Iterator[tuple[int, ...]]:
    """Tuples of levels, one per slot from its available levels, summing to `total`."""
    if len(available) == 1:
        if total in available[0]:
            yield (total,)
        return
    rest_min = sum(a[0] for a in available[1:] if a) if all(available[1:]) else None
    if rest_min is None or not available[0]:
        return
    for w in available[0]:
        if w + rest_min > total:
            break
        for tail in _ref_splits(total - w, available[1:]):
            yield (w,) + tail


_REF_SLOT = "\x00slot"


def _ref_slot_template(r: Rule) -> Expr:
    term = r.template
    for i, (path, _) in enumerate(r.slots):
        term = replace_at(term, path, Var(f"{_REF_SLOT}{i}"))
    return term


def _ref_template_value(t: Expr, slots: list[BatchValue], env: BatchEnv) -> BatchValue:
    if isinstance(t, Var):
        if t.name.startswith(_REF_SLOT):
            return slots[int(t.name[len(_REF_SLOT):])]
        return batch_value(t, env)
    if isinstance(t, Op):
        return apply_batch(t.op, [_ref_template_value(a, slots, env) for a in t.args])
    if isinstance(t, Ite):
        return ite_batch(_ref_template_value(t.cond, slots, env), _ref_template_value(t.then, slots, env),
                         _ref_template_value(t.else_, slots, env))
    if isinstance(t, Const):
        return scalar_value(t.value)
    if isinstance(t, BoolLit):
        return scalar_value(t.value)
    if isinstance(t, EnumLit):
        return scalar_value(env.enums[t.symbol])
    if isinstance(t, Hole):
        raise ValueError("a grammar rule cannot hold a hole")
    raise TypeError(f"not an expression: {t!r}")



# ---------------------------------------------------------------- comparing runs


def _run(cls, grammar: CompiledGrammar, env: BatchEnv, limits: Limits, budget: int | None, **kw) -> dict:
    """Everything observable of a run: the stream, the counters, the banks."""
    stop = (lambda built: built >= budget) if budget is not None else None
    enum = cls(grammar, env, limits, should_stop=stop, **kw)
    stream: list[tuple] = []
    for item in enum.terms():
        if isinstance(item, LevelDone):
            stream.append(("done", item.level))
        else:
            stream.append(_entry_view(item, env, limits))
    banks = {nt: {lvl: [_entry_view(e, env, limits) for e in es] for lvl, es in b.items()}
             for nt, b in enum.banks.items()}
    st = enum.stats
    return {"stream": stream, "banks": banks, "top_level": enum.top_level, "stopped": enum.stopped,
            "stats": (st.built, st.kept, st.pruned_equivalent, st.pruned_style, list(st.levels))}


def _entry_view(e, env: BatchEnv, limits: Limits) -> tuple:
    values = to_array(e.value, env.size)
    if e.value.lo is not None and values.size:  # bounds must stay sound
        assert e.value.lo <= min(values.tolist()) and max(values.tolist()) <= e.value.hi
    return (to_sexpr(e.term), e.level, e.weight, e.nodes, e.ites, e.depth, e.cost(limits.nesting),
            values.dtype.str if values.dtype != object else "O", value_key(values))


def _assert_same(grammar: CompiledGrammar, env: BatchEnv, limits: Limits, budget: int | None, **kw) -> dict:
    ref = _run(RefEnumerator, grammar, env, limits, budget, **kw)
    new = _run(Enumerator, grammar, env, limits, budget, **kw)
    assert new["stats"] == ref["stats"]
    assert new["stopped"] == ref["stopped"] and new["top_level"] == ref["top_level"]
    assert len(new["stream"]) == len(ref["stream"])
    for i, (a, b) in enumerate(zip(new["stream"], ref["stream"])):
        assert a == b, (i, a, b)
    assert new["banks"] == ref["banks"]
    return new


def _spec_holes() -> list[tuple[Path, str]]:
    out = []
    for path in SPEC_FILES:
        spec = load_spec(path)
        out.extend((path, h.hole_id) for h in spec.synth.holes)
    return out


SPEC_HOLES = _spec_holes()


@pytest.mark.parametrize("path,hole_id", SPEC_HOLES, ids=[f"{p.stem}:{h}" for p, h in SPEC_HOLES])
def test_same_terms_order_and_counters_as_the_original_on_benchmark_specs(path: Path, hole_id: str) -> None:
    spec = load_spec(path)
    g = grammar_for_hole(spec, hole_id)
    env = ExampleSet(spec, (hole_id,)).env()
    limits = Limits.of(spec.synth.style)
    out = _assert_same(g, env, limits, 40_000)
    assert out["stream"], "nothing enumerated"


@pytest.mark.parametrize("path,hole_id", SPEC_HOLES[:6], ids=[f"{p.stem}:{h}" for p, h in SPEC_HOLES[:6]])
def test_same_with_a_bound_and_more_examples(path: Path, hole_id: str) -> None:
    spec = load_spec(path)
    g = grammar_for_hole(spec, hole_id)
    env = ExampleSet(spec, (hole_id,), random_examples=20, seed=3).env()
    limits = Limits.of(spec.synth.style)
    _assert_same(g, env, limits, None, max_level=9)


GUIDED = ["fee_free_allowance", "best_quote", "twap_accumulator", "fee_bps"]


@pytest.mark.parametrize("prefix", GUIDED)
def test_same_on_guided_searches(prefix: str) -> None:
    import json
    manifest = json.loads((ROOT / "benchmarks" / "specs" / "manifest.json").read_text())
    entry = next(s for s in manifest["specs"] if s["prefix"] == prefix)
    hole_id, h = next(iter(entry["holes"].items()))
    spec = load_spec(ROOT / "benchmarks" / "specs" / f"{prefix}_hole.yaml")
    g = grammar_for_hole(spec, hole_id)
    limits = Limits.of(spec.synth.style)
    guidance = learn_guidance(g, [Hint(h["intended"])], limits.ast_node)
    env = ExampleSet(spec, (hole_id,)).env()
    _assert_same(g, env, limits, 8_000, rule_extra=guidance.rule_extra, seeds=guidance.seeds)


def _grammar(productions: dict[str, list[str]], start: str, variables: Mapping[str, str],
             max_nodes: int | None = 7, max_branches: int | None = 2, max_nesting: int | None = 1
             ) -> tuple[CompiledGrammar, Limits]:
    style = StyleProfile(max_ast_nodes=max_nodes, max_branches=max_branches, max_nesting=max_nesting,
                         penalties=Penalties(ast_node=1, branch=3, nesting=4))
    spec = GrammarSpec("T", start, tuple((nt, tuple(rs)) for nt, rs in productions.items()))
    return compile_grammar(spec, style, variables), Limits.of(style)


BIG = 1 << 62


def test_same_when_values_leave_int64() -> None:
    """Products of large inputs leave int64 (exact rows), and sums bring some back."""
    g, limits = _grammar({"E": ["x", "y", "C", "(* E E)", "(+ E E)", "(- E E)", "(- E)", "(min E E)"],
                          "C": ["-3", "7", "4611686018427387904"]},
                         "E", {"x": "Int", "y": "Int"}, max_nodes=6)
    env = BatchEnv({"x": np.array([0, 1, -1, BIG, -BIG, 3_000_000_000, 12345, -7], dtype=object),
                    "y": np.array([5, -(1 << 63), (1 << 63) - 1, 2, BIG + 5, -3, 0, 1], dtype=object)})
    _assert_same(g, env, limits, 6_000)


def test_same_with_inputs_already_outside_int64() -> None:
    g, limits = _grammar({"E": ["x", "y", "1", "(* E E)", "(+ E E)", "(div E E)", "(mod E E)"]},
                         "E", {"x": "Int", "y": "Int"}, max_nodes=5)
    env = BatchEnv({"x": np.array([1 << 70, -(1 << 65), 3, 0], dtype=object),
                    "y": np.array([-2, 0, 1 << 64, -5], dtype=object)})
    _assert_same(g, env, limits, None)
    g, limits = _grammar({"E": ["x", "y", "(* E E)", "(- E E)", "(div E E)"]}, "E", {"x": "Int", "y": "Int"},
                         max_nodes=5)
    _assert_same(g, env, limits, None)
    g, limits = _grammar({"E": ["y", "2", "(+ x E)", "(* E 3)"]}, "E", {"x": "Int", "y": "Int"}, max_nodes=7)
    _assert_same(g, env, limits, None)


def test_same_with_euclidean_division_and_zero_divisors() -> None:
    g, limits = _grammar({"E": ["a", "b", "C", "(div E E)", "(mod E E)", "(safe_div E C)", "(safe_mod E C)",
                                "(+ E C)"],
                          "C": ["0", "-3", "2"]},
                         "E", {"a": "Int", "b": "Int"}, max_nodes=6)
    env = BatchEnv({"a": np.array([7, -7, 0, 5, -1, 9, -(1 << 63), (1 << 63) - 1]),
                    "b": np.array([2, 2, -3, 0, -1, -4, -1, -1])})
    _assert_same(g, env, limits, None)
    # and every kept value is the exact semantics of its term
    enum = Enumerator(g, env, limits)
    cols = {"a": [7, -7, 0, 5, -1, 9, -(1 << 63), (1 << 63) - 1], "b": [2, 2, -3, 0, -1, -4, -1, -1]}
    for item in enum.terms():
        if isinstance(item, LevelDone):
            continue
        got = to_array(item.value, env.size).tolist()
        want = [evaluate(item.term, {"a": cols["a"][i], "b": cols["b"][i]}) for i in range(env.size)]
        assert got == want, to_sexpr(item.term)


def test_same_with_booleans_ite_and_style_limits() -> None:
    g, limits = _grammar({"E": ["x", "y", "0", "1", "(+ E E)", "(ite B E E)", "(max E E)"],
                          "B": ["p", "(<= E E)", "(= E E)", "(not B)", "(and B B)", "(or B B)", "(=> B B)",
                                "(xor B B)"]},
                         "E", {"x": "Int", "y": "Int", "p": "Bool"}, max_nodes=9, max_branches=2, max_nesting=1)
    env = BatchEnv({"x": np.array([0, 3, -2, 10, 5]), "y": np.array([1, 3, 4, -10, 0]),
                    "p": np.array([True, False, True, False, False])})
    _assert_same(g, env, limits, None)


def test_same_when_stopped_mid_split() -> None:
    g, limits = _grammar({"E": ["x", "y", "1", "(+ E E)", "(* E E)", "(- E E)"]},
                         "E", {"x": "Int", "y": "Int"}, max_nodes=9)
    env = BatchEnv({"x": np.array([3, 5, -1]), "y": np.array([2, 7, 11])})
    for budget in (1, 1023, 1024, 1025, 5000, 20_000):
        out = _assert_same(g, env, limits, budget)
        assert out["stopped"]


def test_same_without_examples_and_without_limits() -> None:
    g, limits = _grammar({"E": ["x", "1", "(+ E E)"]}, "E", {"x": "Int"}, max_nodes=5)
    _assert_same(g, BatchEnv({"x": np.zeros(0, dtype=np.int64)}), limits, None)
    g, _ = _grammar({"E": ["x", "1", "(+ E E)", "(* E 2)"]}, "E", {"x": "Int"})
    free = Limits(None, None, None, 1, 0, 0)
    _assert_same(g, BatchEnv({"x": np.array([1, 2, 3])}), free, None, max_level=8)


def test_terms_are_built_lazily_and_match_the_template() -> None:
    g, limits = _grammar({"E": ["x", "1", "(+ E E)", "(ite B E E)"], "B": ["(<= E E)"]},
                         "E", {"x": "Int"}, max_nodes=8)
    env = BatchEnv({"x": np.array([1, 4, -2])})
    enum = Enumerator(g, env, limits)
    items = [i for i in enum.terms() if not isinstance(i, LevelDone)]
    lazy = [e for e in items if e._term is None]
    assert lazy, "entries should be built without their terms"
    for e in items:
        vals = to_array(e.value, env.size).tolist()
        assert vals == [evaluate(e.term, {"x": x}) for x in (1, 4, -2)]
        assert node_count(e.term) == e.nodes and ite_count(e.term) == e.ites and ite_depth(e.term) == e.depth


def test_same_with_env_vars_literals_and_input_independent_results_in_templates() -> None:
    g, limits = _grammar({"E": ["x", "1", "(+ x E)", "(safe_div E 0)", "(ite true E x)", "(ite false E 1)",
                                "(ite (and B true) E E)", "(* E C)", "(- E C)"],
                          "B": ["(<= E 3)", "false", "(= B B)", "(and p B)"],
                          "C": ["99999999999999999999", "2"]},
                         "E", {"x": "Int", "p": "Bool"}, max_nodes=7, max_branches=2, max_nesting=2)
    env = BatchEnv({"x": np.array([1, 4, -2, 0, 7]), "p": np.array([True, False, False, True, True])})
    _assert_same(g, env, limits, 40_000)


def test_same_on_ill_typed_grammars() -> None:
    """Banks mixing Booleans and ints (and templates mixing them) are built one at a time."""
    g, limits = _grammar({"E": ["x", "p", "(ite p E E)", "(+ E E)", "(ite B E E)"], "B": ["(<= E x)", "true"]},
                         "E", {"x": "Int", "p": "Bool"}, max_nodes=6, max_branches=2, max_nesting=2)
    env = BatchEnv({"x": np.array([1, 4, -2]), "p": np.array([True, False, True])})
    _assert_same(g, env, limits, None)


def test_same_with_unit_rules_and_lazy_terms_passed_on() -> None:
    g, limits = _grammar({"S": ["T", "(+ S S)", "(- S 1)"], "T": ["U", "x", "(* T T)"], "U": ["y", "(max U U)"]},
                         "S", {"x": "Int", "y": "Int"}, max_nodes=7)
    env = BatchEnv({"x": np.array([3, -1, 2, 9]), "y": np.array([0, 5, 5, -4])})
    _assert_same(g, env, limits, None)


def test_same_when_stopped_without_examples() -> None:
    g, limits = _grammar({"E": ["x", "1", "(+ E E)", "(* E E)", "(ite B E E)"], "B": ["(<= E E)"]}, "E",
                         {"x": "Int"}, max_nodes=11, max_branches=3, max_nesting=3)
    out = _assert_same(g, BatchEnv({"x": np.zeros(0, dtype=np.int64)}), limits, 3000)
    assert len(out["stream"]) > 3


def _sygus_funs() -> list[tuple[Path, str]]:
    from esso_ngs.sygus.parse import load_problem
    from esso_ngs.sygus.reader import SygusError
    out = []
    for path in sorted((ROOT / "benchmarks" / "sygus").glob("*.sl")):
        try:
            problem = load_problem(path)
        except SygusError as err:  # qm_*: defined operators need the operator table (lang/ops.py)
            if "no table of defined operators" in str(err):
                continue
            raise
        out.extend((path, f.name) for f in problem.funs)
    return out


SYGUS_FUNS = _sygus_funs()


@pytest.mark.parametrize("path,fun", SYGUS_FUNS, ids=[f"{p.stem}:{f}" for p, f in SYGUS_FUNS])
def test_same_on_sygus_grammars(path: Path, fun: str) -> None:
    """SyGuS grammars (Boolean ones too), sized by node count only, on small and large inputs."""
    import random

    from esso_ngs.sygus.common import compiled, limits_for
    from esso_ngs.sygus.parse import load_problem

    f = next(f for f in load_problem(path).funs if f.name == fun)
    g = compiled(f)
    rng = random.Random(7)
    ints = [0, 1, -1, 3, 9, -4, 1 << 40, -(1 << 33), (1 << 62) + 1, 12]
    cols = {n: np.array([rng.random() < 0.5 for _ in ints]) if s == "Bool" else
            np.array(rng.sample(ints, len(ints)), dtype=np.int64) for n, s in zip(f.params, f.sorts)}
    _assert_same(g, BatchEnv(cols), limits_for(g), 6_000)
