"""Membership with explanation: is a term in the grammar's language, and if not, why.

Derivability is a memoized recursive matcher over (nonterminal, subterm): a term
is matched only against the rules whose template has the same head (operator and
arity, or the same atom), taken from the nonterminal's unit closure, so unit
rules (`Expr -> Term`) never recurse on the same subterm and unit cycles are
harmless. Every non-unit rule consumes at least one node, so the recursion is on
strict subterms and the memo makes it linear in (#subterms x #nonterminals).
This is far cheaper than a general parser (no tokenizing, no Earley sets).

On failure we look for the *smallest* subterm to blame: when a rule of the
expected nonterminal has the term's shape and exactly one slot fails, the fault
lies inside that slot, so we descend; otherwise the fault is here, and we rank
the nearest rules and look for the usual mistakes (swapped arguments, a wrong
operator, a variable the grammar never uses, a wrong sort, a wrong arity).
"""
from __future__ import annotations

import difflib
import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..lang.expr import (
    Const,
    Expr,
    Op,
    Path,
    Var,
    children,
    is_bool,
    replace_at,
    subterm,
    walk,
)
from ..lang.ops import BOOL, INT
from ..lang.sexpr import TermSyntaxError, parse_term, to_sexpr
from .rules import Head, Rule, Tpl, head_key
from .style import StyleMetrics, style_metrics

if TYPE_CHECKING:
    from .compile import CompiledGrammar

MAX_NEAREST = 3


@dataclass(frozen=True)
class Derivation:
    """How a term derives from a nonterminal: `nonterminal` reaches
    `rule.nonterminal` through the unit rules in `via` (a chain starting with
    `nonterminal`, length 1 when the rule is its own), then `rule` applies; the
    children derive the rule's slots, in slot order."""

    nonterminal: str
    rule: Rule
    via: tuple[str, ...]
    children: tuple[Derivation, ...]

    def lines(self, indent: str = "") -> list[str]:
        chain = " -> ".join(self.via)
        out = [f"{indent}{chain} -> {self.rule.text}"]
        for child in self.children:
            out.extend(child.lines(indent + "  "))
        return out

    def pretty(self) -> str:
        return "\n".join(self.lines())


@dataclass(frozen=True)
class Membership:
    ok: bool
    term: Expr | None  # None when the text is not a term at all
    canonical: str | None
    derivation: Derivation | None  # set when ok
    explanation: str  # one paragraph for a grammar author
    failing_subterm: str | None = None  # canonical text of the smallest subterm to blame
    expected: str | None = None  # the nonterminal expected there ("A or B" when several)
    nearest_rules: tuple[str, ...] = ()  # rule templates of `expected` closest to the subterm
    path: Path | None = None  # where the failing subterm sits in the term
    style: StyleMetrics | None = None  # only when the grammar has a style profile
    syntax_error: bool = False  # the text did not parse as a term


# ---------------------------------------------------------------- the matcher
class Matcher:
    """Derivability of subterms of one term, memoized by (nonterminal, node id).

    One Matcher per checked term: the memo keys on `id()` of the term's nodes,
    which stay alive while the matcher holds the term.
    """

    __slots__ = ("g", "index", "memo", "term")

    def __init__(self, g: CompiledGrammar, term: Expr) -> None:
        self.g = g
        self.index = g.index
        self.memo: dict[tuple[str, int], Rule | None] = {}
        self.term = term

    def derives(self, nt: str, t: Expr) -> Rule | None:
        """The first rule (in the nonterminal's unit closure, spec order) that derives
        `t` from `nt`, or None."""
        key = (nt, id(t))
        memo = self.memo
        if key in memo:
            return memo[key]
        found = None
        rules = self.index[nt].get(head_key(t))
        if rules:
            kids = children(t)
            for r in rules:
                for c_tpl, c in zip(r.tpl[2], kids):  # type: ignore[misc]
                    if not self.match(c_tpl, c):
                        break
                else:
                    found = r
                    break
        memo[key] = found
        return found

    def match(self, tpl: Tpl, t: Expr) -> bool:
        if tpl[0] == "S":
            return self.derives(tpl[1], t) is not None  # type: ignore[arg-type]
        if tpl[1] != head_key(t):
            return False
        for c_tpl, c in zip(tpl[2], children(t)):  # type: ignore[misc]
            if not self.match(c_tpl, c):
                return False
        return True

    def derivation(self, nt: str, t: Expr) -> Derivation:
        rule = self.derives(nt, t)
        assert rule is not None
        via = self.g.unit_chains[(nt, rule.nonterminal)]
        kids = tuple(self.derivation(b, subterm(t, p)) for p, b in rule.slots)
        return Derivation(nt, rule, via, kids)

    def derives_any(self, nts: Iterable[str], t: Expr) -> bool:
        return any(self.derives(nt, t) is not None for nt in nts)


def in_language(g: CompiledGrammar, term: Expr, nt: str | None = None) -> bool:
    """Plain membership, no explanation: the fast path for filters."""
    nt = nt or g.start
    if nt not in g.index:
        return False
    return Matcher(g, term).derives(nt, term) is not None


# ---------------------------------------------------------------- check
def check_term(g: CompiledGrammar, term: str | Expr) -> Membership:
    """Whether `term` is in the language, and if not, why (see Membership)."""
    if isinstance(term, str):
        try:
            e = parse_term(term)
        except TermSyntaxError as err:
            return Membership(False, None, None, None, f"not a term: {err}", syntax_error=True)
    else:
        e = term
    canon = to_sexpr(e)
    style = style_metrics(e, g.style) if g.style is not None else None
    over = f"over the style profile: {'; '.join(style.violations)}" if style and style.violations else ""
    if g.is_empty:
        return Membership(False, e, canon, None,
                          f"the grammar's language is empty: {g.start} derives no term",
                          expected=g.start, style=style)
    m = Matcher(g, e)
    if m.derives(g.start, e) is not None:
        expl = f"`{canon}` is {_a(g.start)}" + (f"; in the language, but {over}" if over else "")
        return Membership(True, e, canon, m.derivation(g.start, e), expl, style=style)
    fail = _Explainer(g, m).explain((g.start,), e, ())
    expl = fail.render(g, e)
    if over:
        expl += f"; also {over}"
    return Membership(False, e, canon, None, expl, to_sexpr(fail.sub), " or ".join(fail.expected),
                      tuple(r.text for r in fail.nearest), fail.path, style)


# ---------------------------------------------------------------- explanation
@dataclass
class _Failure:
    path: Path  # in the whole term
    sub: Expr
    expected: tuple[str, ...]
    nearest: tuple[Rule, ...]
    hints: list[str]
    # The rules that put the failing subterm where it is: (parent path, rules).
    context: list[tuple[Path, tuple[Rule, ...]]] = field(default_factory=list)

    def render(self, g: CompiledGrammar, whole: Expr) -> str:
        sub = to_sexpr(self.sub)
        what = " or ".join(self.expected)
        text = f"`{sub}` is not {_a(what)}"
        if self.nearest:
            allowed = ", ".join(f"`{r.text}`" for r in self.nearest)
            total = len({r for nt in self.expected for rs in g.index[nt].values() for r in rs})
            more = f" (and {total - len(self.nearest)} more)" if total > len(self.nearest) else ""
            text += f": {what} allows {allowed}{more}"
        if self.hints:
            text += "; " + "; ".join(self.hints)
        if self.context:
            parent_path, rules = self.context[-1]
            parent = subterm(whole, parent_path)
            pos = self.path[len(parent_path):]
            where = "argument " + ".".join(str(i + 1) for i in pos)
            rule_txt = " / ".join(f"{r.nonterminal} -> {r.text}" for r in rules[:2])
            text += f" (it is {where} of `{_short(to_sexpr(parent))}`, by rule {rule_txt})"
        return text


class _Explainer:
    def __init__(self, g: CompiledGrammar, m: Matcher) -> None:
        self.g = g
        self.m = m

    def rules_of(self, nts: tuple[str, ...]) -> list[Rule]:
        out: dict[Rule, None] = {}
        for nt in nts:
            for rs in self.g.index[nt].values():
                out.update(dict.fromkeys(rs))
        return sorted(out, key=lambda r: (self.g.nonterminals.index(r.nonterminal), r.index))

    def explain(self, nts: tuple[str, ...], t: Expr, path: Path) -> _Failure:
        head = head_key(t)
        same_head: list[Rule] = []
        for nt in nts:
            for r in self.g.index[nt].get(head, ()):
                if r not in same_head:
                    same_head.append(r)
        analyses = [(r, *self.compare(r.tpl, t, ())) for r in same_head]
        # Descend when a rule has the term's shape and exactly one slot fails: the
        # fault is inside that slot, and the slot's nonterminal is what is expected.
        single = [(r, failing[0]) for r, mism, failing in analyses if not mism and len(failing) == 1]
        if single:
            rel = single[0][1][0]
            group = [(r, f) for r, f in single if f[0] == rel]
            expected = tuple(dict.fromkeys(f[1] for _, f in group))
            inner = self.explain(expected, subterm(t, rel), path + rel)
            inner.context.insert(0, (path, tuple(r for r, _ in group)))
            return inner
        nearest = tuple(sorted(self.rules_of(nts), key=lambda r: self.distance(r.tpl, t))[:MAX_NEAREST])
        return _Failure(path, t, nts, nearest, self.hints(nts, t, analyses))

    def compare(self, tpl: Tpl, t: Expr, rel: Path) -> tuple[list[Path], list[tuple[Path, str]]]:
        """Where `t` differs from the template's fixed structure (mismatches), and
        which slots the term's subterms fail to derive (failing)."""
        if tpl[0] == "S":
            ok = self.m.derives(tpl[1], t) is not None  # type: ignore[arg-type]
            return [], ([] if ok else [(rel, tpl[1])])  # type: ignore[list-item]
        if tpl[1] != head_key(t):
            return [rel], []
        mism: list[Path] = []
        failing: list[tuple[Path, str]] = []
        for i, (c_tpl, c) in enumerate(zip(tpl[2], children(t))):  # type: ignore[misc]
            a, b = self.compare(c_tpl, c, rel + (i,))
            mism += a
            failing += b
        return mism, failing

    def distance(self, tpl: Tpl, t: Expr) -> float:
        """A rough edit distance between a rule template and a term, for ranking."""
        if tpl[0] == "S":
            if self.m.derives(tpl[1], t) is not None:  # type: ignore[arg-type]
                return 0.0
            return 1.0 if self.g.sorts.get(tpl[1]) == _sort(t, self.g) else 2.0  # type: ignore[arg-type]
        head: Head = tpl[1]  # type: ignore[assignment]
        kids_t = children(t)
        kids_tpl: tuple[Tpl, ...] = tpl[2]  # type: ignore[assignment]
        if head == head_key(t):
            straight = sum(self.distance(a, b) for a, b in zip(kids_tpl, kids_t))
            if straight and 2 <= len(kids_t) <= 4:  # argument order: nearly right
                for perm in itertools.permutations(kids_t):
                    if all(self.distance(a, b) == 0 for a, b in zip(kids_tpl, perm)):
                        return 0.5
            return straight
        if kids_t and kids_tpl:  # another operator: compare the arguments too
            same_arity = len(kids_t) == len(kids_tpl)
            return (1.0 if same_arity else 2.0) + sum(
                self.distance(a, b) for a, b in zip(kids_tpl, kids_t)) + abs(len(kids_t) - len(kids_tpl))
        if kids_t or kids_tpl:  # an atom against an application: far apart
            return 2.0 + 0.5 * (len(kids_t) + len(kids_tpl))
        return 1.0  # another atom

    # ---------------------------------------------------------- hints
    def hints(self, nts: tuple[str, ...], t: Expr, analyses: list) -> list[str]:
        g = self.g
        out: list[str] = []
        out += self.atom_hints(t)
        out += self.swap_hints(nts, t)
        if not out or not any("argument order" in h for h in out):
            out += self.operator_hints(nts, t)
        sort = _sort(t, self.g)
        want = {g.sorts.get(nt) for nt in nts}
        if sort not in want and len(want) == 1:
            out.append(f"{' or '.join(nts)} is {want.pop()}, but `{_short(to_sexpr(t))}` is {sort}")
        if isinstance(t, Op) and not analyses:
            arities = sorted({r.tpl[1][1] for r in self.rules_of(nts)  # type: ignore[index]
                              if r.tpl[0] == "N" and r.tpl[1][0] == t.op})  # type: ignore[index]
            if arities:
                out.append(f"`{t.op}` takes {' or '.join(map(str, arities))} arguments here, not {len(t.args)}")
            elif not any("operator" in h for h in out):
                out.append(f"no rule of {' or '.join(nts)} has the form `({t.op} ...)`")
        for r, mism, failing in analyses:
            if len(mism) == 1 and not failing:  # one atom/operator off a fixed template
                want = to_sexpr(subterm(r.template, mism[0]))
                got = to_sexpr(subterm(t, mism[0]))
                out.append(f"against `{r.text}`: `{_short(got)}` should be `{_short(want)}`")
                break
        for r, mism, failing in analyses:
            if not mism and len(failing) > 1:
                parts = [f"`{_short(to_sexpr(subterm(t, p)))}` is not {_a(nt)}" for p, nt in failing]
                out.append(f"against `{r.text}`: " + ", ".join(parts))
                break
        return out

    def atom_hints(self, t: Expr) -> list[str]:
        g = self.g
        out: list[str] = []
        seen: set[str] = set()
        for _, node in walk(t):
            if isinstance(node, Var) and node.name not in g.terminal_vars and node.name not in seen:
                seen.add(node.name)
                name = node.name
                if name in g.rules:
                    out.append(f"`{name}` is a nonterminal name, not a term: write a term that {name} derives")
                    continue
                close = difflib.get_close_matches(name, sorted(g.terminal_vars), n=1)
                guess = f" (did you mean `{close[0]}`?)" if close else ""
                if g.variables is not None and name not in g.variables:
                    out.append(f"`{name}` is not a variable of the hole's action(s){guess}")
                elif g.variables is not None:
                    out.append(f"`{name}` is a variable of the action, but no rule of the grammar uses it{guess}")
                else:
                    out.append(f"no rule of the grammar mentions `{name}`{guess}")
            elif isinstance(node, Const) and node not in g.literals and str(node.value) not in seen:
                seen.add(str(node.value))
                lits = sorted(c.value for c in g.literals if isinstance(c, Const))
                shown = ", ".join(map(str, lits[:8])) + (", ..." if len(lits) > 8 else "")
                out.append(f"the literal {node.value} appears in no rule (literals: {shown or 'none'})")
        return out

    def swap_hints(self, nts: tuple[str, ...], t: Expr) -> list[str]:
        """Would permuting the arguments of one node make the term derivable?"""
        for p, node in walk(t):
            if isinstance(node, Op) and 2 <= len(node.args) <= 4:
                for perm in itertools.permutations(node.args):
                    if perm == node.args:
                        continue
                    fixed = replace_at(t, p, Op(node.op, perm))
                    if Matcher(self.g, fixed).derives_any(nts, fixed):
                        good = to_sexpr(Op(node.op, perm))
                        return [f"argument order matters: `{good}` would be accepted"]
        return []

    def operator_hints(self, nts: tuple[str, ...], t: Expr) -> list[str]:
        """Would another operator (of the grammar, same arity) at one node do?"""
        ops = sorted({h[0] for nt in self.g.rules for h in self.g.index[nt]
                      if not str(h[0]).startswith("$") and h[0] != "ite"})  # type: ignore[misc]
        for p, node in walk(t):
            if not isinstance(node, Op):
                continue
            for op in ops:
                if op == node.op:
                    continue
                if not _arity_ok(op, len(node.args)):
                    continue
                fixed = replace_at(t, p, Op(op, node.args))
                if Matcher(self.g, fixed).derives_any(nts, fixed):
                    good = _short(to_sexpr(Op(op, node.args)))
                    return [f"operator `{node.op}` is not allowed here; `{op}` is (`{good}`)"]
        return []


_BINARY = frozenset({"div", "mod", "safe_div", "safe_mod", "=>", "=", "!=", "<", "<=", ">", ">="})


def _arity_ok(op: str, n: int) -> bool:
    """Whether `op` takes n arguments (as lang.sexpr checks when parsing)."""
    if op == "not":
        return n == 1
    return n == 2 if op in _BINARY else n >= 1


def _sort(t: Expr, g: CompiledGrammar) -> str:
    if isinstance(t, Var):
        return g.var_sorts.get(t.name, INT)
    return BOOL if is_bool(t) else INT


def _a(what: str) -> str:
    return ("an " if what[:1].lower() in "aeiou" else "a ") + what


def _short(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."

