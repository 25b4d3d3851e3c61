"""Solutions as SyGuS solvers print them, and reading them back (e.g. from cvc5).

`format_solution` writes the SyGuS-IF 2.1 answer to check-synth: one
`(define-fun f ((x Int) ...) Int term)` per function, between parentheses.
`read_solutions` reads such an answer (wrapped or not, 2.0 or 2.1, with `let`) into
terms over each function's internal parameter names, ready for `check.check`.
"""
from __future__ import annotations

from typing import Mapping

from ..lang.expr import Expr, Var
from .problem import SygusProblem, SynthFun
from .reader import SygusError, read_text, sym
from .terms import Scope, TermError, read_sort, read_term, to_sygus


def define_fun_text(problem: SygusProblem, f: SynthFun, term: Expr) -> str:
    names = problem.names
    params = " ".join(f"({names.external(p)} {s})" for p, s in zip(f.params, f.sorts))
    body = to_sygus(term, names, problem.aliases)
    return f"(define-fun {f.name} ({params}) {f.sort} {body})"


def format_solution(problem: SygusProblem, terms: Mapping[str, Expr]) -> str:
    lines = [define_fun_text(problem, f, terms[f.name]) for f in problem.funs if f.name in terms]
    return "(\n" + "\n".join(lines) + "\n)"


def read_solutions(text: str, problem: SygusProblem, source: str = "<solution>") -> dict[str, Expr]:
    """Terms of the functions defined in a solver's answer. Parameters are renamed to the
    problem's own parameter names (a solver may name them differently)."""
    stripped = text.strip()
    if stripped.startswith("(") and not stripped.startswith("(define-fun"):
        inner = stripped[1:]
        if inner.rstrip().endswith(")"):
            stripped = inner.rstrip()[:-1]  # the 2.1 wrapper around the definitions
    out: dict[str, Expr] = {}
    for cmd in read_text(stripped, source):
        if cmd.head != "define-fun":
            raise SygusError(source, cmd.line, f"expected define-fun in the solution, got {cmd.head}")
        try:
            name, term = _read_define(cmd.body, problem)
        except TermError as err:
            raise SygusError(source, cmd.line, f"define-fun: {err}") from None
        out[name] = term
    return out


def _read_define(body: tuple, problem: SygusProblem) -> tuple[str, Expr]:
    if len(body) != 4 or sym(body[0]) is None or not isinstance(body[1], list):
        raise TermError("expected (define-fun name ((param Sort) ...) Sort body)")
    name = sym(body[0])
    f = next((g for g in problem.funs if g.name == name), None)
    if f is None:
        raise TermError(f"{name} is not a function of the problem")
    if len(body[1]) != len(f.params):
        raise TermError(f"{name} has {len(f.params)} parameters, the solution {len(body[1])}")
    locals_: dict[str, tuple[Expr, str]] = {}
    for p, internal, want in zip(body[1], f.params, f.sorts):
        if not (isinstance(p, list) and len(p) == 2 and sym(p[0]) is not None):
            raise TermError(f"malformed parameter {p!r}")
        if read_sort(p[1]) != want:
            raise TermError(f"parameter {sym(p[0])} of {name} must be {want}")
        locals_[sym(p[0])] = (Var(internal), want)  # type: ignore[index]
    term, sort = read_term(body[3], Scope(locals_, problem.defines))
    if sort != f.sort or read_sort(body[2]) != f.sort:
        raise TermError(f"{name} must return {f.sort}")
    return name, term
