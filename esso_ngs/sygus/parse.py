"""Read a SyGuS-IF 2.1 (and, where cheap, 2.0) file into a `SygusProblem`.

Supported: set-logic LIA/NIA, set-option/set-info/set-feature (ignored),
declare-var, declare-primed-var (1.0/2.0), define-fun (inlined; in grammar rules, one
whose body repeats a parameter stays one operator, see `defined.py`), synth-fun and
synth-inv (with a grammar in 2.1, 2.0 or 1.0 form, `let` rules included, or without
one), constraint, assume, inv-constraint, check-synth; `let` with 2.x or typed 1.0
bindings. Everything else is refused with a one-line error that
names the command, the file and the line.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

from ..grammar import compile_grammar
from ..lang.expr import Const, Expr, Op, Var, children, substitute, walk
from ..formats.model import StyleProfile
from ..wording import plural
from .defined import register
from .grammars import default_grammar, read_grammar
from .problem import InvTask, SygusProblem, SynthFun
from .reader import Command, Sexp, SygusError, read_file, read_text, show, sym
from .terms import BOOL, INT, AppTable, DefineFun, FunSig, Names, Scope, TermError, alias_of, read_sort, read_term

SUPPORTED_LOGICS = ("LIA", "NIA")
IGNORED = frozenset({"set-option", "set-info", "set-feature"})
KNOWN_UNSUPPORTED = frozenset({
    "declare-fun", "define-sort", "declare-datatype", "declare-datatypes", "define-fun-rec",
    "define-funs-rec", "chc-constraint", "optimize-synth", "declare-oracle-fun", "oracle-constraint",
    "oracle-assume", "declare-weight", "oracle-constraint-io", "oracle-constraint-cex",
    "oracle-constraint-membership", "oracle-constraint-poswitness", "oracle-constraint-negwitness",
    "declare-correctness-oracle", "declare-correctness-cex-oracle", "push", "pop", "reset",
})


MAX_TERM_NODES = 200_000  # inlining nested define-funs can grow a term exponentially


def tree_size(e: Expr) -> int:
    """Nodes of `e` as a tree, counted over its shared subterms once each (inlined
    define-funs share their argument terms), so a huge tree is measured quickly."""
    memo: dict[int, int] = {}

    def size(x: Expr) -> int:
        hit = memo.get(id(x))
        if hit is None:
            hit = memo[id(x)] = 1 + sum(size(k) for k in children(x))
        return hit

    return size(e)


def _check_size(e: Expr, what: str) -> None:
    size = tree_size(e)
    if size > MAX_TERM_NODES:
        raise TermError(f"{what} has {size} nodes once its lets and define-funs are inlined "
                        f"(at most {MAX_TERM_NODES} are supported)")


def load_problem(path: str | Path) -> SygusProblem:
    return _Builder(str(path)).build(read_file(path))


def parse_problem(text: str, file: str | None = None) -> SygusProblem:
    return _Builder(file).build(read_text(text, file))


@dataclass(slots=True)
class _FunDecl:
    name: str
    params: tuple[str, ...]  # SyGuS names
    internal: tuple[str, ...]
    sorts: tuple[str, ...]
    sort: str
    grammar_items: list[Sexp]
    defines: dict[str, DefineFun]  # the define-funs visible at its declaration
    is_inv: bool
    line: int


class _Builder:
    def __init__(self, file: str | None) -> None:
        self.file = file
        self.names = Names()
        self.logic = ""
        self.defines: dict[str, DefineFun] = {}
        self.aliases: dict[str, str] = {}
        self.funs: dict[str, _FunDecl] = {}
        self.vars: dict[str, tuple[Var, str]] = {}  # SyGuS name -> (Var, sort)
        self.var_order: list[tuple[str, str]] = []  # internal name, sort
        self.apps = AppTable()
        self.constraints: list[Expr] = []
        self._constraint_set: set[Expr] = set()
        self.assumptions: list[Expr] = []
        self.invs: list[InvTask] = []
        self.notes: list[str] = []
        self.checked = False

    # ------------------------------------------------------------ driver
    def build(self, commands: list[Command]) -> SygusProblem:
        for cmd in commands:
            try:
                self._command(cmd)
            except TermError as err:
                raise SygusError(self.file, cmd.line, f"{cmd.head}: {err}") from None
        if not self.funs:
            raise SygusError(self.file, None, "no synth-fun or synth-inv: nothing to synthesize")
        if not self.checked:
            self.notes.append("no check-synth command: solving anyway")
        constraints = [self._assume(c) for c in self.constraints]
        constants = self._constants(constraints)
        funs = tuple(self._finish_fun(d, constants) for d in self.funs.values())
        return SygusProblem(self.file, self.logic or "LIA", funs, tuple(self.var_order), tuple(constraints),
                            tuple(self.apps.apps), tuple(self.invs), self.names, dict(self.defines),
                            dict(self.aliases), constants, tuple(self.notes))

    def _command(self, cmd: Command) -> None:
        head = cmd.head
        if head in IGNORED:
            return
        handler = {
            "set-logic": self._set_logic, "declare-var": self._declare_var,
            "declare-primed-var": self._declare_primed_var, "define-fun": self._define_fun,
            "synth-fun": self._synth_fun, "synth-inv": self._synth_inv, "constraint": self._constraint,
            "assume": self._assume_cmd, "inv-constraint": self._inv_constraint, "check-synth": self._check_synth,
        }.get(head)
        if handler is None:
            if head in KNOWN_UNSUPPORTED:
                raise SygusError(self.file, cmd.line, f"unsupported command {head!r}")
            raise SygusError(self.file, cmd.line, f"unknown command {head!r}")
        handler(cmd)

    # ------------------------------------------------------------ commands
    def _set_logic(self, cmd: Command) -> None:
        name = sym(cmd.body[0]) if len(cmd.body) == 1 else None
        if name is None:
            raise TermError("expected one logic name")
        if name not in SUPPORTED_LOGICS:
            raise TermError(f"unsupported logic {name} (supported: {', '.join(SUPPORTED_LOGICS)})")
        self.logic = name

    def _declare(self, name: str, sort: str, internal: str | None = None) -> None:
        if name in self.vars or name in self.funs or name in self.defines:
            raise TermError(f"{name} is already declared")
        v = Var(internal or self.names.internal(name))
        self.vars[name] = (v, sort)
        self.var_order.append((v.name, sort))

    def _declare_var(self, cmd: Command) -> None:
        name, sort = self._name_sort(cmd.body)
        self._declare(name, sort)

    def _declare_primed_var(self, cmd: Command) -> None:
        name, sort = self._name_sort(cmd.body)
        self._declare(name, sort)
        self._declare(name + "!", sort, self.names.primed(self.vars[name][0].name))

    def _name_sort(self, body: tuple[Sexp, ...]) -> tuple[str, str]:
        if len(body) != 2 or sym(body[0]) is None:
            raise TermError("expected a name and a sort")
        return sym(body[0]), read_sort(body[1])  # type: ignore[return-value]

    def _params(self, x: Sexp) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """(SyGuS names, internal names, sorts) of a parameter list."""
        if not isinstance(x, list):
            raise TermError(f"expected a parameter list ((name Sort) ...), got {show(x)}")
        names: list[str] = []
        sorts: list[str] = []
        for p in x:
            if not (isinstance(p, list) and len(p) == 2 and sym(p[0]) is not None):
                raise TermError(f"malformed parameter {show(p)}")
            if sym(p[0]) in names:
                raise TermError(f"parameter {sym(p[0])} appears twice")
            names.append(sym(p[0]))  # type: ignore[arg-type]
            sorts.append(read_sort(p[1]))
        return tuple(names), tuple(self.names.internal(n) for n in names), tuple(sorts)

    def _define_fun(self, cmd: Command) -> None:
        if len(cmd.body) != 4 or sym(cmd.body[0]) is None:
            # define-fun and synth-fun (below) check their heads alike: different commands, forms and messages.
            raise TermError("expected (define-fun name ((param Sort) ...) Sort body)")
        name = sym(cmd.body[0])
        assert name is not None
        if name in self.defines or name in self.funs or name in self.vars:
            raise TermError(f"{name} is already declared")
        ext, internal, sorts = self._params(cmd.body[1])
        sort = read_sort(cmd.body[2])
        locals_ = {**self.vars, **{e: (Var(i), s) for e, i, s in zip(ext, internal, sorts)}}
        body, got = read_term(cmd.body[3], Scope(locals_, self.defines))
        if got != sort:
            raise TermError(f"the body of {name} is {got}, declared {sort}")
        _check_size(body, f"the body of {name}")
        alias = alias_of(internal, body) if sorts == (INT, INT) and sort == INT else None
        d = DefineFun(name, internal, sorts, sort, body, alias)
        if alias is None and not d.uses_each_param_once():
            operator = register(d)  # it may stand in grammar rules as one operator
            if operator is not None:
                d = replace(d, operator=operator)
                self.aliases[operator] = name
        self.defines[name] = d
        if alias is not None:
            self.aliases.setdefault(alias, name)

    def _synth_fun(self, cmd: Command, is_inv: bool = False) -> None:
        if len(cmd.body) < 2 or sym(cmd.body[0]) is None:
            # Head check alike to define-fun's above: a different command and form.
            raise TermError("expected (synth-fun name ((param Sort) ...) Sort [grammar])")
        name = sym(cmd.body[0])
        assert name is not None
        if name in self.defines or name in self.funs or name in self.vars:
            raise TermError(f"{name} is already declared")
        ext, internal, sorts = self._params(cmd.body[1])
        if is_inv:
            sort, rest = BOOL, list(cmd.body[2:])
        else:
            if len(cmd.body) < 3:
                raise TermError(f"synth-fun {name}: missing return sort")
            sort, rest = read_sort(cmd.body[2]), list(cmd.body[3:])
        self.funs[name] = _FunDecl(name, ext, internal, sorts, sort, rest, dict(self.defines), is_inv, cmd.line)

    def _synth_inv(self, cmd: Command) -> None:
        self._synth_fun(cmd, is_inv=True)

    def _scope(self) -> Scope:
        sigs = {f.name: FunSig(f.name, f.sorts, f.sort) for f in self.funs.values()}
        return Scope(self.vars, self.defines, sigs, self.apps)

    def _constraint(self, cmd: Command) -> None:
        if len(cmd.body) != 1:
            raise TermError("expected one term")
        e, sort = read_term(cmd.body[0], self._scope())
        if sort != BOOL:
            raise TermError("a constraint must be Bool")
        _check_size(e, "the constraint")
        if e not in self._constraint_set:  # a repeated constraint adds nothing but solver time
            self._constraint_set.add(e)
            self.constraints.append(e)

    def _assume_cmd(self, cmd: Command) -> None:
        if len(cmd.body) != 1:
            raise TermError("expected one term")
        e, sort = read_term(cmd.body[0], Scope(self.vars, self.defines))
        if sort != BOOL:
            raise TermError("an assumption must be Bool")
        self.assumptions.append(e)

    def _assume(self, c: Expr) -> Expr:
        """Constraints need to hold only where every assumption does."""
        if not self.assumptions:
            return c
        premise = self.assumptions[0] if len(self.assumptions) == 1 else Op("and", tuple(self.assumptions))
        return Op("=>", (premise, c))

    def _inv_constraint(self, cmd: Command) -> None:
        if len(cmd.body) != 4 or any(sym(x) is None for x in cmd.body):
            raise TermError("expected (inv-constraint inv pre trans post)")
        inv_name, pre_name, trans_name, post_name = (sym(x) for x in cmd.body)
        inv = self.funs.get(inv_name)  # type: ignore[arg-type]
        if inv is None or inv.sort != BOOL:
            raise TermError(f"{inv_name} is not a synth-inv")
        n = len(inv.sorts)
        state = inv.internal
        primed = tuple(self.names.primed(p) for p in state)
        parts: list[Expr] = []
        for fname, arity in ((pre_name, n), (trans_name, 2 * n), (post_name, n)):
            d = self.defines.get(fname)  # type: ignore[arg-type]
            if d is None:
                raise TermError(f"{fname} is not a defined function")
            want = inv.sorts if arity == n else inv.sorts + inv.sorts
            if d.sort != BOOL or d.sorts != want:
                raise TermError(f"{fname} must take {plural(arity, 'argument')} of sorts {' '.join(want)} and return Bool")
            args = state if arity == n else state + primed
            parts.append(substitute(d.body, {p: Var(a) for p, a in zip(d.params, args)}))
        # The generic constraints below quantify over x and x': declare them.
        declared = dict(self.var_order)
        for name, sort in [*zip(state, inv.sorts), *zip(primed, inv.sorts)]:
            if name not in declared:
                self.var_order.append((name, sort))
                declared[name] = sort
        task = InvTask(inv.name, state, primed, inv.sorts, *parts)
        self.invs.append(task)
        here = Var(self.apps.get(inv.name, tuple(Var(s) for s in state)).var)
        there = Var(self.apps.get(inv.name, tuple(Var(p) for p in primed)).var)
        self.constraints.append(Op("=>", (task.pre, here)))
        self.constraints.append(Op("=>", (Op("and", (here, task.trans)), there)))
        self.constraints.append(Op("=>", (here, task.post)))

    def _check_synth(self, cmd: Command) -> None:
        if cmd.body:
            raise TermError("check-synth takes no arguments")
        self.checked = True

    # ------------------------------------------------------------ after all commands
    def _constants(self, constraints: list[Expr]) -> tuple[int, ...]:
        found: set[int] = set()
        for c in constraints:
            found.update(n.value for _, n in walk(c) if isinstance(n, Const))
        return tuple(sorted(found))

    def _finish_fun(self, d: _FunDecl, constants: tuple[int, ...]) -> SynthFun:
        try:
            if d.grammar_items:
                params = {e: (Var(i), s) for e, i, s in zip(d.params, d.internal, d.sorts)}
                gspec, approximate = read_grammar(d.name, params, d.sort, d.grammar_items, d.defines, constants,
                                                  self.names)
            else:
                approximate = False
                gspec = default_grammar(d.name, d.internal, d.sorts, d.sort, constants, self.logic == "NIA")
            g = compile_grammar(gspec, StyleProfile(), dict(zip(d.internal, d.sorts)))
        except TermError as err:
            raise SygusError(self.file, d.line, f"synth-fun {d.name}: {err}") from None
        errors = [p.message for p in g.problems if p.severity == "error"]
        if errors:
            raise SygusError(self.file, d.line, f"synth-fun {d.name}: grammar: {errors[0]}")
        if g.is_empty:
            raise SygusError(self.file, d.line, f"synth-fun {d.name}: the grammar derives no term")
        return SynthFun(d.name, d.internal, d.sorts, d.sort, gspec, not d.grammar_items, d.is_inv, approximate)
