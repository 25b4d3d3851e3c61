"""SyGuS grammars -> `GrammarSpec` (the spec grammar the Enumerator already runs on),
and the default grammar for a synth-fun written without one.

Both SyGuS-IF 2.1 (nonterminals pre-declared, then grouped rules) and 2.0 (grouped
rules only) are read. `(Constant Int)` is approximated by the integer literals of
the problem plus 0 and 1 (an enumerator cannot list every integer); `(Variable S)`
is every parameter of sort S.
"""
from __future__ import annotations

from typing import Iterable, Mapping

from ..lang.sexpr import to_sexpr
from ..lang.expr import BoolLit, Const, Expr, Var
from ..formats.model import GrammarSpec
from .reader import Sexp, show, sym
from .terms import BOOL, INT, NONTERMINAL_PREFIX, DefineFun, Names, Scope, TermError, read_sort, read_term


def read_grammar(fun: str, params: Mapping[str, tuple[Var, str]], sort: str, items: list[Sexp],
                 defines: Mapping[str, DefineFun], constants: Iterable[int], names: Names
                 ) -> tuple[GrammarSpec, bool]:
    """`items`: what follows the return sort in `synth-fun` (one list in 2.0, two in 2.1).
    Also says whether `(Constant Int)` was approximated by a finite set of literals."""
    if len(items) == 2:
        predeclared = _predeclared(items[0])
        groups = _groups(items[1])
        if [n for n, _ in predeclared] != [n for n, _, _ in groups]:
            raise TermError("the grammar's nonterminal declarations and rule groups differ "
                            f"({' '.join(n for n, _ in predeclared)} vs {' '.join(n for n, _, _ in groups)})")
    elif len(items) == 1:
        groups = _groups(items[0])
    else:
        raise TermError(f"synth-fun {fun}: expected a grammar after the return sort, got {len(items)} items")
    if not groups:
        raise TermError(f"synth-fun {fun}: empty grammar")
    nts: dict[str, tuple[Var, str]] = {}
    for name, nt_sort, _ in groups:
        if name in params:
            raise TermError(f"nonterminal {name} has the name of a parameter")
        if name in nts:
            raise TermError(f"nonterminal {name} is declared twice")
        nts[name] = (Var(NONTERMINAL_PREFIX + names.internal(name)), nt_sort)
    if groups[0][1] != sort:
        raise TermError(f"the start nonterminal {groups[0][0]} is {groups[0][1]} but {fun} returns {sort}")
    scope = Scope({**params, **nts}, defines, in_grammar=True)
    pool = sorted(set(constants) | {0, 1})
    productions: list[tuple[str, tuple[str, ...]]] = []
    approximate = False
    for name, nt_sort, rules in groups:
        texts: list[str] = []
        for r in rules:
            approximate = approximate or _is_any_int_constant(r)
            for e in _expand(r, nt_sort, params, scope, pool):
                text = to_sexpr(e)
                if text not in texts:
                    texts.append(text)
        productions.append((nts[name][0].name, tuple(texts)))
    return GrammarSpec(f"sygus:{fun}", productions[0][0], tuple(productions)), approximate


def _is_any_int_constant(rule: Sexp) -> bool:
    return isinstance(rule, list) and len(rule) == 2 and sym(rule[0]) == "Constant" and sym(rule[1]) == INT


def _predeclared(x: Sexp) -> list[tuple[str, str]]:
    if not isinstance(x, list):
        raise TermError(f"expected the nonterminal declarations ((Name Sort) ...), got {show(x)}")
    out = []
    for d in x:
        if not (isinstance(d, list) and len(d) == 2 and sym(d[0])):
            raise TermError(f"malformed nonterminal declaration {show(d)}")
        out.append((sym(d[0]), read_sort(d[1])))
    return out  # type: ignore[return-value]


def _groups(x: Sexp) -> list[tuple[str, str, list[Sexp]]]:
    if not isinstance(x, list):
        raise TermError(f"expected grouped rules ((Name Sort (rule ...)) ...), got {show(x)}")
    out = []
    for g in x:
        if not (isinstance(g, list) and len(g) == 3 and sym(g[0]) and isinstance(g[2], list)):
            raise TermError(f"malformed grammar rule group {show(g)}")
        out.append((sym(g[0]), read_sort(g[1]), g[2]))
    return out  # type: ignore[return-value]


def _expand(rule: Sexp, nt_sort: str, params: Mapping[str, tuple[Var, str]], scope: Scope,
            pool: list[int]) -> list[Expr]:
    if isinstance(rule, list) and len(rule) == 2 and sym(rule[0]) in ("Constant", "Variable"):
        kind, s = sym(rule[0]), read_sort(rule[1])
        if s != nt_sort:
            raise TermError(f"({kind} {s}) in a {nt_sort} nonterminal")
        if kind == "Variable":
            return [v for v, vs in params.values() if vs == s]
        return [Const(c) for c in pool] if s == INT else [BoolLit(True), BoolLit(False)]
    if isinstance(rule, list) and rule and sym(rule[0]) == "abs":
        raise TermError("abs in a grammar rule is not supported (it repeats its argument)")
    e, s = read_term(rule, scope)
    if s != nt_sort:
        raise TermError(f"rule {show(rule)} is {s} but its nonterminal is {nt_sort}")
    return [e]


def default_grammar(fun: str, params: tuple[str, ...], sorts: tuple[str, ...], sort: str,
                    constants: Iterable[int], nonlinear: bool) -> GrammarSpec:
    """Linear integer arithmetic with ite over the parameters and the problem's constants:
    + and -, and scaling, div and mod by the constants other than 0 and +-1 (still
    linear); `*` of two terms too when the logic is nonlinear."""
    taken = set(params)
    i_nt = _fresh("I", taken)
    b_nt = _fresh("B", taken | {i_nt})
    c_nt = _fresh("C", taken | {i_nt, b_nt})
    ints = [p for p, s in zip(params, sorts) if s == INT]
    bools = [p for p, s in zip(params, sorts) if s == BOOL]
    pool = sorted(set(constants) | {0, 1})
    scales = [c for c in pool if abs(c) >= 2]
    i_rules = [*ints, *(str(c) for c in pool), f"(+ {i_nt} {i_nt})", f"(- {i_nt} {i_nt})"]
    if scales:
        i_rules += [f"(* {c_nt} {i_nt})", f"(div {i_nt} {c_nt})", f"(mod {i_nt} {c_nt})"]
    if nonlinear:
        i_rules.append(f"(* {i_nt} {i_nt})")
    i_rules.append(f"(ite {b_nt} {i_nt} {i_nt})")
    b_rules = [*bools, f"(<= {i_nt} {i_nt})", f"(< {i_nt} {i_nt})", f"(= {i_nt} {i_nt})",
               f"(and {b_nt} {b_nt})", f"(or {b_nt} {b_nt})", f"(not {b_nt})"]
    if sort == BOOL:
        b_rules = ["true", "false", *b_rules]
    prods = [(i_nt, tuple(i_rules)), (b_nt, tuple(b_rules))]
    if sort == BOOL:
        prods.reverse()
    if scales:
        prods.append((c_nt, tuple(str(c) for c in scales)))
    return GrammarSpec(f"sygus-default:{fun}", prods[0][0], tuple(prods))


def _fresh(base: str, taken: set[str]) -> str:
    name = NONTERMINAL_PREFIX + base
    while name in taken:
        name += "_"
    return name
