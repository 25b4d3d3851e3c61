"""The decoding grammar without waste: no operation over constants only, no identity operation.

Asked for a term of a generic arithmetic grammar (`E ::= V | C | (op E E) | ...`), a
small model writes `(safe_div 1 1)`, `(safe_div (safe_div x 1) 1)`: terms the
synthesizer's own enumeration reaches at once, worth nothing as hints. The lean
grammar of a hole derives the terms of its grammar that contain

- no operator application (or `ite`) whose subterm holds no variable, unless a rule
  of the grammar writes it whole (a slot-free template such as `(* 100 100)`: its
  author meant it);
- no identity or constant operation: a constant, derived through a slot, that makes
  the operation the identity of its other argument (`(* e 1)`, `(+ 0 e)`, `(- e 0)`,
  `(safe_div e 1)`, `(and e true)`) or a constant (`(* e 0)`, `(safe_div e 0)`,
  `(safe_div 0 e)`, `(or e true)`): see WASTED;
- no chain of operations with constant arguments that is one operation,
  `(+ (+ e 1) 2)`, where a slot makes it (see FOLDING), and no division as the
  dividend of a division, `(safe_div (safe_div a b) c)` (see DIVISIONS);
- no `ite` whose branches are both constants, where a slot makes one, and no two equal
  variables as an ite's branches or as the arguments of an operation trivial on equal
  arguments (`(- x x)`, `(safe_div x x)`, `(<= x x)`);
- and at least one variable (a bare constant is the enumerator's first guess anyway).

Every nonterminal A is split into `A'v` (its terms holding a variable) and `A'k` (its
constant terms: atoms and slot-free templates; `A'k_0_1` without the atoms 0 and 1,
where an argument position needs that; `A'v_div` not a division, as the dividend of
a division; `A'v_addk` not an addition of a constant, as an argument of one). Each rule is kept once for every assignment of its
slots to `'v`/`'k` that obeys the rules above; assignments are disjoint, so the lean
grammar is as unambiguous as the grammar. It is compiled as a grammar of its own (the
same style profile and variables) for `bounded_lark_text`, i.e. for constrained
decoding only: membership and costs are still those of the hole's grammar, of which
the lean language is a subset. Where the split leaves nothing (no variable reachable),
or a rule has too many slots to split, the grammar is used as it is.

`wasteful(term)` says whether a term has such waste (also `(ite c e e)` and `(- e e)`,
which no context-free grammar can exclude): benchmarks count degenerate samples with it.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import product

from ..formats.model import GrammarSpec
from ..lang.expr import (BoolLit, Const, EnumLit, Expr, Ite, Op, Path, Var, children, free_vars, replace_at,
                         subterm, walk)
from ..lang.sexpr import to_sexpr
from .compile import CompiledGrammar, compile_grammar
from .lark_text import bounded_lark_text
from .rules import Rule

# (operator, arity, argument position) -> the constants that make the operation the
# identity of its other argument, `(* e 1)`, or a constant, `(* e 0)`, `(safe_div e 0)`.
_ZERO, _ONE = Const(0), Const(1)
_BY_ARITY = {
    "+": {0: {_ZERO}, 1: {_ZERO}}, "-": {1: {_ZERO}},
    "*": {0: {_ZERO, _ONE}, 1: {_ZERO, _ONE}},
    # (safe_div 1 e) is 0 but where e is 1: a flag, never a formula.
    **{op: {0: {_ZERO, _ONE}, 1: {_ZERO, _ONE}} for op in ("safe_div", "div", "safe_mod", "mod")},
}
WASTED: dict[tuple[str, int, int], frozenset[Expr]] = {
    **{(op, 2, i): frozenset(cs) for op, by_pos in _BY_ARITY.items() for i, cs in by_pos.items()},
    **{("and", n, i): frozenset({BoolLit(True), BoolLit(False)}) for n in (2, 3) for i in range(n)},
    **{("or", n, i): frozenset({BoolLit(True), BoolLit(False)}) for n in (2, 3) for i in range(n)},
}
# Binary operations whose equal arguments make them trivial: (- e e) = 0, (min e e) = e.
_TRIVIAL_ON_EQUAL = frozenset({"-", "min", "max", "safe_div", "div", "=", "<=", ">=", "<", ">", "!="})
# Operations of which a chain, each link with a constant argument, is one operation:
# (+ (+ e 1) 2) is (+ e 3), (- 100 (- 100 e)) is e, (safe_div (safe_div e 100) 100) is
# (safe_div e 10000).
# op -> the positions a constant argument may take (the chain runs through the other);
# the tag names the rule in the lean grammar.
FOLDING: dict[str, tuple[tuple[int, ...], str]] = {
    "+": ((0, 1), "add"), "*": ((0, 1), "mul"), "-": ((0, 1), "sub"), "safe_div": ((1,), "div"), "div": ((1,), "idiv")}
# Divisions whose dividend is a division of the same kind, whatever the divisors: for the
# positive divisors of DeFi formulas (safe_div (safe_div a b) c) is (safe_div a (* b c)),
# as small, and the form a small model repeats until the token limit.
DIVISIONS = frozenset({"safe_div", "div"})
MAX_SPLIT_SLOTS = 6  # a rule with more slots keeps the grammar whole (2^slots assignments)
# Telling equal variables apart multiplies rules by the variables: beyond this many
# rules (the specs_hard grammars give 350-550) the lean grammar does without it.
MAX_LEAN_RULES = 3000


def wasted_at(op: str, arity: int, position: int) -> frozenset[Expr]:
    """The constants that, as this argument, make the operation an identity or a constant."""
    return WASTED.get((op, arity, position), frozenset())


def _constant_link(e: Expr) -> Expr | None:
    """For `(op x k)` with `op` in FOLDING and a constant `k` where FOLDING allows it: x."""
    if isinstance(e, Op) and e.op in FOLDING and len(e.args) == 2:
        for j in FOLDING[e.op][0]:
            if _is_constant_atom(e.args[j]):
                return e.args[1 - j]
    return None


def wasteful(term: Expr) -> bool:
    """Some operation of `term` is over constants only, an identity operation, a
    constant-making one, a chain of FOLDING operations with constant arguments, an
    `ite` with equal or constant branches, or a binary operation over two equal arguments."""
    for _, node in walk(term):
        if isinstance(node, (Op, Ite)) and not free_vars(node):
            return True
        if isinstance(node, Ite) and (node.then == node.else_
                                      or not free_vars(node.then) and not free_vars(node.else_)):
            return True
        if isinstance(node, Op):
            n = len(node.args)
            if n == 2 and node.op in _TRIVIAL_ON_EQUAL and node.args[0] == node.args[1]:
                return True
            if any(a in wasted_at(node.op, n, i) for i, a in enumerate(node.args)):
                return True
            inner = _constant_link(node)
            if isinstance(inner, Op) and inner.op == node.op and _constant_link(inner) is not None:
                return True
    return False


# ---------------------------------------------------------------- the split
@dataclass(frozen=True)
class _Variant:
    """Which terms of a nonterminal a lean nonterminal derives."""

    holds_var: bool
    excluded: frozenset[Expr] = frozenset()  # atoms it must not be
    # Not an application of this operator: ("+", True) one with a constant argument (the
    # link of a FOLDING chain), ("safe_div", False) any (a division's dividend, DIVISIONS).
    not_link: tuple[str, bool] | None = None
    only: Var | None = None  # exactly this variable (the first of two arguments that must differ)

    def tag(self) -> str:
        words = ["v" if self.holds_var else "k"]
        if self.only is not None:
            words += ["is", self.only.name]
        if self.not_link is not None:
            words.append(FOLDING[self.not_link[0]][1] + ("k" if self.not_link[1] else ""))
        return "_".join(words + sorted(to_sexpr(c).replace("-", "m") for c in self.excluded))


@dataclass(frozen=True)
class _Assignment:
    """One valid assignment of a rule's slots."""

    holds_var: bool
    links: frozenset[tuple[str, bool]]  # what the rule's root is, in the terms of _Variant.not_link
    slots: tuple[_Variant, ...]


def _is_constant_atom(e: Expr) -> bool:
    return isinstance(e, (Const, BoolLit, EnumLit))


def _under(path: Path, slot: Path) -> bool:
    return slot[: len(path)] == path


def _equal_pairs(nodes: dict[Path, Expr], slot_paths: list[Path]) -> list[tuple[int, int]]:
    """Slots (indices) that are the two arguments of a binary operation that is trivial
    on equal arguments, or the two branches of an ite."""
    out = []
    for p, n in nodes.items():
        if isinstance(n, Op) and n.op in _TRIVIAL_ON_EQUAL and len(n.args) == 2:
            a, b = p + (0,), p + (1,)
        elif isinstance(n, Ite):
            a, b = p + (1,), p + (2,)
        else:
            continue
        if a in slot_paths and b in slot_paths:
            out.append((slot_paths.index(a), slot_paths.index(b)))
    return out


def _different_atoms(slots: tuple[_Variant, ...], pairs: list[tuple[int, int]],
                     var_atoms: frozenset[Var]) -> list[tuple[_Variant, ...]]:
    """`slots` split so that no pair of variable-bearing slots is the same variable:
    the first is variable x and the second is not, for each x, or the first is no variable."""
    out = [slots]
    for i, j in pairs:
        if not (slots[i].holds_var and slots[j].holds_var):
            continue
        split = []
        for ss in out:
            for x in sorted(var_atoms, key=lambda v: v.name):
                split.append(tuple(_Variant(True, only=x) if k == i else
                                   replace(s, excluded=s.excluded | {x}) if k == j else s
                                   for k, s in enumerate(ss)))
            split.append(tuple(replace(s, excluded=s.excluded | var_atoms) if k == i else s
                               for k, s in enumerate(ss)))
        out = split
    return out


def _assignments(rule: Rule, nonterminals: frozenset[str], var_atoms: frozenset[Var]) -> list[_Assignment]:
    """The rule's slot assignments (variable-bearing or constant) that leave no waste;
    without `var_atoms`, equal variables are not told apart."""
    slot_paths = [p for p, _ in rule.slots]
    nodes = dict(walk(rule.template))
    fixed_var_at = [p for p, n in nodes.items() if isinstance(n, Var) and n.name not in nonterminals]
    composite = [p for p, n in nodes.items() if children(n) and any(_under(p, s) for s in slot_paths)]
    # An ite's branches, where a slot makes one: one of them must hold a variable.
    branches = [(p + (1,), p + (2,)) for p, n in nodes.items() if isinstance(n, Ite)
                and any(_under(p + (b,), s) for b in (1, 2) for s in slot_paths)]
    pairs = _equal_pairs(nodes, slot_paths)
    excluded: list[frozenset[Expr]] = []
    for path in slot_paths:
        parent = nodes[path[:-1]] if path else None
        excluded.append(wasted_at(parent.op, len(parent.args), path[-1]) if isinstance(parent, Op) else frozenset())
    out = []
    for choice in product((True, False), repeat=len(slot_paths)):
        def holds_var(p: Path, choice: tuple[bool, ...] = choice) -> bool:
            return (any(_under(p, f) for f in fixed_var_at)
                    or any(v and _under(p, s) for v, s in zip(choice, slot_paths)))

        if not all(holds_var(p) for p in composite) or not all(holds_var(a) or holds_var(b) for a, b in branches):
            continue
        constant = {p for p, n in nodes.items() if _is_constant_atom(n)} | {
            s for v, s in zip(choice, slot_paths) if not v}
        not_link: dict[Path, tuple[str, bool]] = {}  # what a variable-bearing slot must not be
        links: set[tuple[str, bool]] = set()
        for p, n in nodes.items():
            if not (isinstance(n, Op) and n.op in FOLDING and len(n.args) == 2):
                continue
            if n.op in DIVISIONS:
                not_link[p + (0,)] = (n.op, False)
                links.update({(n.op, False)} if p == () else ())
            for j in FOLDING[n.op][0]:
                if p + (j,) in constant:
                    not_link.setdefault(p + (1 - j,), (n.op, True))
                    links.update({(n.op, True)} if p == () else ())
        slots = tuple(_Variant(True, not_link=not_link.get(s)) if v else _Variant(False, x)
                      for v, s, x in zip(choice, slot_paths, excluded))
        for different in _different_atoms(slots, pairs, var_atoms):
            out.append(_Assignment(bool(fixed_var_at) or any(choice), frozenset(links), different))
    return out


def _unique(base: str, taken: set[str]) -> str:
    name = base
    while name in taken:
        name += "'"
    taken.add(name)
    return name


def lean_grammar(g: CompiledGrammar) -> CompiledGrammar:
    """The lean sub-grammar of `g` for constrained decoding (memoized); `g` itself
    where the split does not apply."""
    return _lean_cached(g)


@lru_cache(maxsize=256)
def _lean_cached(g: CompiledGrammar) -> CompiledGrammar:
    if g.is_empty or any(len(r.slots) > MAX_SPLIT_SLOTS for rs in g.rules.values() for r in rs):
        return g
    spec = _lean_spec(g, frozenset(Var(v) for v in g.terminal_vars))
    if sum(len(rules) for _, rules in spec.productions) > MAX_LEAN_RULES:
        spec = _lean_spec(g, frozenset())
    variables = {v: g.var_sorts.get(v, "") for v in g.variables} if g.variables is not None else None
    lean = compile_grammar(spec, g.style, variables)
    return g if lean.is_empty else lean


def _lean_spec(g: CompiledGrammar, var_atoms: frozenset[Var]) -> GrammarSpec:
    nts = frozenset(g.nonterminals)
    taken = set(g.nonterminals) | set(g.terminal_vars) | set(g.variables or ())
    names: dict[tuple[str, _Variant], str] = {}
    queue: deque[tuple[str, _Variant]] = deque()

    def name(a: str, variant: _Variant) -> str:
        if (a, variant) not in names:
            names[(a, variant)] = _unique(f"{a}'{variant.tag()}", taken)
            queue.append((a, variant))
        return names[(a, variant)]

    assignments = {r: _assignments(r, nts, var_atoms) for rs in g.rules.values() for r in rs}
    productions: list[tuple[str, tuple[str, ...]]] = []
    start = name(g.start, _Variant(True))
    while queue:
        a, variant = queue.popleft()
        alternatives: list[str] = []
        for r in g.rules[a]:
            if r.template in variant.excluded or (variant.only is not None and not r.is_unit
                                                   and r.template != variant.only):
                continue
            for choice in assignments[r]:
                if choice.holds_var != variant.holds_var or variant.not_link in choice.links:
                    continue
                template = r.template
                for (path, b), slot in zip(r.slots, choice.slots):
                    template = replace_at(template, path, Var(name(b, variant if r.is_unit else slot)))
                alternatives.append(to_sexpr(template))
        productions.append((names[(a, variant)], tuple(dict.fromkeys(alternatives))))
    return GrammarSpec(grammar_id=g.grammar_id, start=start, productions=tuple(productions))


def decoding_lark_text(g: CompiledGrammar, max_nodes: int | None = None, max_nesting: int | None = None) -> str:
    """The Lark text constrained decoding uses for `g`: its lean grammar, bounded by the
    style profile (or `max_nodes`/`max_nesting`; see `bounded_lark_text`)."""
    return bounded_lark_text(lean_grammar(g), max_nodes=max_nodes, max_nesting=max_nesting)
