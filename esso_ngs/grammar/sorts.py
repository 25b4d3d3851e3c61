"""Sort inference (Int / Bool) for nonterminals, and type errors in rules.

The spec does not declare sorts: a nonterminal's sort is the sort of its rules,
found by a fixpoint because rules refer to other nonterminals. Variables are Int
unless the caller knows better (a kernel `bool` var).
"""
from __future__ import annotations

from collections.abc import Mapping

from ..lang import ops
from ..lang.expr import BoolLit, Const, EnumLit, Expr, Ite, Op, Var
from ..lang.ops import BOOL, INT
from ..lang.sexpr import to_sexpr
from .rules import Rule


def template_sort(e: Expr, nt_sorts: Mapping[str, str], nonterminals: frozenset[str],
                  var_sorts: Mapping[str, str]) -> str | None:
    """Sort of a template by its head; None when it depends on an unknown nonterminal."""
    if isinstance(e, Var):
        if e.name in nonterminals:
            return nt_sorts.get(e.name)
        return var_sorts.get(e.name, INT)
    if isinstance(e, (Const, EnumLit)):
        return INT
    if isinstance(e, BoolLit):
        return BOOL
    if isinstance(e, Op):
        entry = ops.TABLE.get(e.op)
        return entry.result if entry is not None else None
    if isinstance(e, Ite):
        return (template_sort(e.then, nt_sorts, nonterminals, var_sorts)
                or template_sort(e.else_, nt_sorts, nonterminals, var_sorts))
    return None


def infer_sorts(rules: Mapping[str, tuple[Rule, ...]], var_sorts: Mapping[str, str]
                ) -> tuple[dict[str, str], list[str]]:
    """Sort of every nonterminal, plus the names whose sort could not be inferred
    (they default to Int). The first rule with a known sort decides: rule order is
    the author's, and disagreeing rules are reported as type errors."""
    nts = frozenset(rules)
    sorts: dict[str, str] = {}
    changed = True
    while changed:
        changed = False
        for nt, rs in rules.items():
            if nt in sorts:
                continue
            for r in rs:
                s = template_sort(r.template, sorts, nts, var_sorts)
                if s is not None:
                    sorts[nt] = s
                    changed = True
                    break
    unknown = [nt for nt in rules if nt not in sorts]
    for nt in unknown:
        sorts[nt] = INT
    return sorts, unknown


def type_errors(rule: Rule, nt_sorts: Mapping[str, str], var_sorts: Mapping[str, str]
                ) -> list[str]:
    """Messages for every ill-typed node of the rule, and for a rule whose sort
    differs from its nonterminal's."""
    nts = frozenset(nt_sorts)
    out: list[str] = []

    def sort(e: Expr) -> str | None:
        return template_sort(e, nt_sorts, nts, var_sorts)

    def need(e: Expr, want: str, where: str) -> None:
        got = sort(e)
        if got is not None and got != want:
            out.append(f"{where} must be {want}, but `{to_sexpr(e)}` is {got}")

    def visit(e: Expr) -> None:
        if isinstance(e, Op):
            entry = ops.TABLE.get(e.op)
            if entry is not None and entry.arg_sort is None and entry.family == "compare":  # = and !=
                s0, s1 = sort(e.args[0]), sort(e.args[1]) if len(e.args) > 1 else None
                if s0 and s1 and s0 != s1:
                    out.append(f"{e.op} compares {s0} with {s1}")
            elif entry is not None:
                for i, a in enumerate(e.args):
                    want = entry.arg_sort_at(i)
                    if want is not None:
                        need(a, want, f"argument of {e.op}")
            for a in e.args:
                visit(a)
        elif isinstance(e, Ite):
            need(e.cond, BOOL, "ite condition")
            st, se = sort(e.then), sort(e.else_)
            if st and se and st != se:
                out.append(f"ite branches differ: {st} and {se}")
            visit(e.cond)
            visit(e.then)
            visit(e.else_)

    visit(rule.template)
    rs = sort(rule.template)
    want = nt_sorts.get(rule.nonterminal)
    if rs is not None and want is not None and rs != want:
        out.append(f"the rule is {rs} but {rule.nonterminal} is {want}")
    return out
