"""A SyGuS problem in our terms: synth-funs with compiled-able grammars, declared
variables, and constraints as expressions with application placeholders."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from ..lang.expr import Expr
from ..formats.model import GrammarSpec
from .terms import App, DefineFun, Names


@dataclass(frozen=True, slots=True)
class SynthFun:
    name: str  # the SyGuS name
    params: tuple[str, ...]  # internal names
    sorts: tuple[str, ...]
    sort: str
    grammar: GrammarSpec  # given, or the default grammar
    default_grammar: bool  # True when the file gave none
    is_inv: bool = False
    approximate: bool = False  # `(Constant Int)` stood for a finite set of literals

    @property
    def variables(self) -> dict[str, str]:
        return dict(zip(self.params, self.sorts))


@dataclass(frozen=True, slots=True)
class InvTask:
    """An `inv-constraint`: pre(x) => inv(x); inv(x) & trans(x, x') => inv(x'); inv(x) => post(x)."""

    fun: str
    state: tuple[str, ...]  # internal names of x (the inv's params)
    primed: tuple[str, ...]  # internal names of x'
    sorts: tuple[str, ...]
    pre: Expr  # over state
    trans: Expr  # over state and primed
    post: Expr  # over state


@dataclass(frozen=True, slots=True)
class SygusProblem:
    file: str | None
    logic: str
    funs: tuple[SynthFun, ...]
    variables: tuple[tuple[str, str], ...]  # (internal name, sort) of declared vars, incl. primed copies
    constraints: tuple[Expr, ...]  # over declared vars and app placeholders
    apps: tuple[App, ...]
    invs: tuple[InvTask, ...]
    names: Names = field(compare=False)
    defines: Mapping[str, DefineFun] = field(default_factory=dict, compare=False)
    aliases: Mapping[str, str] = field(default_factory=dict)  # our op -> define-fun name printing it
    constants: tuple[int, ...] = ()  # integer literals of the constraints
    notes: tuple[str, ...] = ()

    def fun(self, name: str) -> SynthFun:
        return next(f for f in self.funs if f.name == name)

    def apps_of(self, fun: str) -> list[App]:
        return [a for a in self.apps if a.fun == fun]

    @property
    def var_sorts(self) -> dict[str, str]:
        return dict(self.variables)
