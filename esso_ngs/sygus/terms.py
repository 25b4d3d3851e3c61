"""SyGuS-IF terms <-> the one expression tree (`lang.expr`).

Reading: SMT-LIB Int/Bool core operators map onto ours (chainable comparisons
become conjunctions, `distinct` pairwise `!=`, `abs` an `ite`, `let` is substituted,
`(- 5)` folds to the literal -5). A `define-fun` is inlined at each application,
except that a body that *is* one of ESSO's operators (`(ite (= b 0) 0 (div a b))`
is `safe_div`, `(ite (<= a b) a b)` is `min`, ...) becomes that operator: grammar
rules can then use it with independent arguments, and solutions print back with
the problem's own function name.

An application of a synth-fun inside a constraint becomes a placeholder variable
(`?app<k>`) and a row in the problem's application table: the solver needs, per
application, the points at which the candidate is evaluated.

Symbols that our term syntax cannot carry (`x!1`, `a-b`, operator names such as
`min`) get internal names `q'<k>`; `'` is not allowed in SMT-LIB simple symbols,
so internal names never collide with the file's own names.

`div`/`mod`: SMT-LIB leaves a zero divisor unspecified; we read them with ESSO's
semantics (0 at zero), which agrees wherever the divisor is non-zero.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..lang import ops
from ..lang.expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Var, substitute, walk
from ..lang.ops import BOOL, INT
from .reader import Sexp, show, sym

_OUR_SYMBOL = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")
_RESERVED = ops.BUILTIN_NAMES | {"ite", "true", "false"}


class TermError(ValueError):
    """A term we cannot read; the caller adds the file and line."""


class Names:
    """SyGuS symbol <-> internal name (identity when the symbol is a valid internal name)."""

    def __init__(self) -> None:
        self._to_int: dict[str, str] = {}
        self._to_ext: dict[str, str] = {}

    def internal(self, ext: str) -> str:
        hit = self._to_int.get(ext)
        if hit is not None:
            return hit
        name = ext if _OUR_SYMBOL.match(ext) and ext not in _RESERVED else f"q'{len(self._to_int)}"
        self._to_int[ext] = name
        self._to_ext[name] = ext
        return name

    def primed(self, internal: str) -> str:
        """Internal name of the primed copy of a variable (SyGuS writes it `x!`)."""
        name = internal + "'"
        self._to_ext.setdefault(name, self.external(internal) + "!")
        return name

    def external(self, internal: str) -> str:
        return self._to_ext.get(internal, internal)


@dataclass(frozen=True, slots=True)
class DefineFun:
    name: str
    params: tuple[str, ...]  # internal names
    sorts: tuple[str, ...]
    sort: str
    body: Expr
    alias: str | None = None  # our operator this body is exactly, if any

    def uses_each_param_once(self) -> bool:
        counts = {p: 0 for p in self.params}
        for _, n in walk(self.body):
            if isinstance(n, Var) and n.name in counts:
                counts[n.name] += 1
        return all(c <= 1 for c in counts.values())


@dataclass(frozen=True, slots=True)
class FunSig:
    """What a term needs to know about a synth-fun to read an application of it."""

    name: str
    sorts: tuple[str, ...]
    sort: str


@dataclass(frozen=True, slots=True)
class App:
    """One distinct application f(args) in the constraints, held by placeholder `var`."""

    fun: str
    args: tuple[Expr, ...]  # over declared vars and earlier placeholders
    var: str

    @property
    def nested(self) -> bool:
        return any(n.name.startswith(APP_PREFIX) for a in self.args for _, n in walk(a) if isinstance(n, Var))


APP_PREFIX = "?app"


@dataclass(slots=True)
class AppTable:
    apps: list[App] = field(default_factory=list)
    index: dict[tuple[str, tuple[Expr, ...]], App] = field(default_factory=dict)

    def get(self, fun: str, args: tuple[Expr, ...]) -> App:
        key = (fun, args)
        hit = self.index.get(key)
        if hit is None:
            hit = App(fun, args, f"{APP_PREFIX}{len(self.apps)}")
            self.apps.append(hit)
            self.index[key] = hit
        return hit


@dataclass(slots=True)
class Scope:
    """What names mean while reading one term."""

    locals: Mapping[str, tuple[Expr, str]]  # SyGuS name -> (expr, sort)
    defines: Mapping[str, DefineFun]
    funs: Mapping[str, FunSig] = field(default_factory=dict)  # synth-funs callable here
    apps: AppTable | None = None  # where synth-fun applications go (constraints only)
    in_grammar: bool = False  # grammar rules: defined functions must not duplicate arguments


def read_sort(x: Sexp) -> str:
    name = sym(x)
    if name in (INT, BOOL):
        return name  # type: ignore[return-value]
    raise TermError(f"unsupported sort {show(x)} (Int and Bool are supported)")


def _literal(x: Sexp) -> tuple[Expr, str] | None:
    if isinstance(x, bool):
        return BoolLit(x), BOOL
    if isinstance(x, int):
        return Const(x), INT
    if isinstance(x, float):
        raise TermError(f"real literal {x} is not supported (Int and Bool only)")
    name = sym(x)
    if name is None and isinstance(x, str):  # sexpdata's Symbol is a str too: test it first
        raise TermError(f"string literal {x!r} is not supported")
    if name == "true":
        return BoolLit(True), BOOL
    if name == "false":
        return BoolLit(False), BOOL
    if name is not None and name.startswith("#"):
        raise TermError(f"bit-vector/hex literal {name} is not supported (Int and Bool only)")
    return None


def read_term(x: Sexp, scope: Scope) -> tuple[Expr, str]:
    """(expression, sort) of a SyGuS term."""
    lit = _literal(x)
    if lit is not None:
        return lit
    name = sym(x)
    if name is not None:
        if name in scope.locals:
            return scope.locals[name]
        if name in scope.defines and not scope.defines[name].params:
            d = scope.defines[name]
            return d.body, d.sort
        if name in scope.funs:
            raise TermError(f"synth-fun {name} used without arguments")
        raise TermError(f"unknown symbol {name!r}")
    if not isinstance(x, list) or not x:
        raise TermError(f"not a term: {show(x)}")
    head = sym(x[0])
    if head is None:
        raise TermError(f"application head must be a name: {show(x)}")
    if head == "let":
        return _read_let(x, scope)
    if head in ("forall", "exists", "!", "match", "as", "_"):
        raise TermError(f"{head!r} terms are not supported")
    args = [read_term(a, scope) for a in x[1:]]
    if head in scope.defines:
        return _apply_define(scope.defines[head], args, scope)
    if head in scope.funs:
        return _apply_synth_fun(scope.funs[head], args, scope)
    builder = _BUILDERS.get(head)
    if builder is None:
        raise TermError(f"unknown or unsupported function {head!r}")
    return builder(head, args)


def _read_let(x: list, scope: Scope) -> tuple[Expr, str]:
    if len(x) != 3 or not isinstance(x[1], list):
        raise TermError(f"malformed let: {show(x)}")
    bound: dict[str, tuple[Expr, str]] = {}
    for b in x[1]:
        if not (isinstance(b, list) and len(b) == 2 and sym(b[0]) is not None):
            raise TermError(f"malformed let binding {show(b)}")
        bound[sym(b[0])] = read_term(b[1], scope)  # type: ignore[index]
    inner = Scope({**scope.locals, **bound}, scope.defines, scope.funs, scope.apps, scope.in_grammar)
    return read_term(x[2], inner)


def _check_args(name: str, args: list[tuple[Expr, str]], sorts: tuple[str, ...]) -> None:
    if len(args) != len(sorts):
        raise TermError(f"{name} takes {len(sorts)} argument(s), got {len(args)}")
    for i, ((_, got), want) in enumerate(zip(args, sorts)):
        if got != want:
            raise TermError(f"argument {i + 1} of {name} must be {want}, got {got}")


def _apply_define(d: DefineFun, args: list[tuple[Expr, str]], scope: Scope) -> tuple[Expr, str]:
    _check_args(d.name, args, d.sorts)
    exprs = tuple(a for a, _ in args)
    if d.alias is not None:
        return Op(d.alias, exprs), d.sort
    if scope.in_grammar and not d.uses_each_param_once():
        raise TermError(f"define-fun {d.name} repeats an argument in its body: it cannot stand in a grammar "
                        "rule (each nonterminal occurrence is a separate term)")
    return substitute(d.body, dict(zip(d.params, exprs))), d.sort


def _apply_synth_fun(f: FunSig, args: list[tuple[Expr, str]], scope: Scope) -> tuple[Expr, str]:
    if scope.apps is None:
        raise TermError(f"synth-fun {f.name} cannot be applied here (only in constraints)")
    _check_args(f.name, args, f.sorts)
    app = scope.apps.get(f.name, tuple(a for a, _ in args))
    return Var(app.var), f.sort


# ---------------------------------------------------------------- core operators

Args = list[tuple[Expr, str]]


def _need(op: str, args: Args, sort: str, at_least: int) -> list[Expr]:
    if len(args) < at_least:
        raise TermError(f"{op} needs at least {at_least} argument(s), got {len(args)}")
    for i, (_, s) in enumerate(args):
        if s != sort:
            raise TermError(f"argument {i + 1} of {op} must be {sort}, got {s}")
    return [e for e, _ in args]


def _arith(op: str, args: Args) -> tuple[Expr, str]:
    xs = _need(op, args, INT, 1)
    if op == "-" and len(xs) == 1 and isinstance(xs[0], Const):
        return Const(-xs[0].value), INT
    if len(xs) == 1 and op != "-":
        return xs[0], INT
    return Op(op, tuple(xs)), INT


def _divmod(op: str, args: Args) -> tuple[Expr, str]:
    xs = _need(op, args, INT, 2)
    if len(xs) != 2:
        raise TermError(f"{op} takes 2 arguments, got {len(xs)}")
    # cvc5 answers with div_total/mod_total: division with 0 at a zero divisor, i.e. ours.
    return Op(op.removesuffix("_total"), tuple(xs)), INT


def _abs(op: str, args: Args) -> tuple[Expr, str]:
    xs = _need(op, args, INT, 1)
    if len(xs) != 1:
        raise TermError(f"abs takes 1 argument, got {len(xs)}")
    x = xs[0]
    return Ite(Op("<", (x, Const(0))), Op("-", (x,)), x), INT


def _chain(op: str, args: Args) -> tuple[Expr, str]:
    """Chainable comparisons: (< a b c) is (and (< a b) (< b c))."""
    xs = _need(op, args, INT, 2)
    pairs = [Op(op, (a, b)) for a, b in zip(xs, xs[1:])]
    return (pairs[0] if len(pairs) == 1 else Op("and", tuple(pairs))), BOOL


def _equal(op: str, args: Args) -> tuple[Expr, str]:
    if len(args) < 2:
        raise TermError(f"{op} needs at least 2 arguments, got {len(args)}")
    sorts = {s for _, s in args}
    if len(sorts) != 1:
        raise TermError(f"{op} compares terms of different sorts ({', '.join(sorted(sorts))})")
    xs = [e for e, _ in args]
    if op == "=":
        pairs = [Op("=", (a, b)) for a, b in zip(xs, xs[1:])]
    else:  # distinct: pairwise different
        pairs = [Op("!=", (xs[i], xs[j])) for i in range(len(xs)) for j in range(i + 1, len(xs))]
    return (pairs[0] if len(pairs) == 1 else Op("and", tuple(pairs))), BOOL


def _logic(op: str, args: Args) -> tuple[Expr, str]:
    if op == "not":
        xs = _need(op, args, BOOL, 1)
        if len(xs) != 1:
            raise TermError(f"not takes 1 argument, got {len(xs)}")
        return Op("not", (xs[0],)), BOOL
    if op == "=>":
        xs = _need(op, args, BOOL, 2)
        out = xs[-1]
        for a in reversed(xs[:-1]):  # right-associative
            out = Op("=>", (a, out))
        return out, BOOL
    xs = _need(op, args, BOOL, 1)
    return (xs[0] if len(xs) == 1 else Op(op, tuple(xs))), BOOL


def _ite(op: str, args: Args) -> tuple[Expr, str]:
    if len(args) != 3:
        raise TermError(f"ite takes 3 arguments, got {len(args)}")
    (c, cs), (t, ts), (e, es) = args
    if cs != BOOL:
        raise TermError("the condition of ite must be Bool")
    if ts != es:
        raise TermError(f"the branches of ite differ in sort ({ts} and {es})")
    return Ite(c, t, e), ts


_BUILDERS: dict[str, Callable[[str, Args], tuple[Expr, str]]] = {
    "+": _arith, "-": _arith, "*": _arith,
    "div": _divmod, "mod": _divmod, "div_total": _divmod, "mod_total": _divmod, "abs": _abs,
    "<": _chain, "<=": _chain, ">": _chain, ">=": _chain,
    "=": _equal, "distinct": _equal,
    "and": _logic, "or": _logic, "xor": _logic, "not": _logic, "=>": _logic,
    "ite": _ite,
}


# ---------------------------------------------------------------- recognising ESSO operators

def alias_of(params: tuple[str, ...], body: Expr) -> str | None:
    """The ESSO operator a two-parameter Int body is exactly, if any."""
    if len(params) != 2:
        return None
    a, b = Var(params[0]), Var(params[1])
    zero = Const(0)
    for op, safe in (("div", "safe_div"), ("mod", "safe_mod")):
        for cond in (Op("=", (b, zero)), Op("=", (zero, b))):
            if body == Ite(cond, zero, Op(op, (a, b))):
                return safe
        if body == Op(op, (a, b)):
            return op
    for cmp_ in ("<=", "<"):
        if body == Ite(Op(cmp_, (a, b)), a, b):
            return "min"
        if body == Ite(Op(cmp_, (a, b)), b, a):
            return "max"
    for cmp_ in (">=", ">"):
        if body == Ite(Op(cmp_, (a, b)), a, b):
            return "max"
        if body == Ite(Op(cmp_, (a, b)), b, a):
            return "min"
    return None


# ---------------------------------------------------------------- printing

def to_sygus(e: Expr, names: Names | None = None, aliases: Mapping[str, str] | None = None,
             enums: Mapping[str, int] | None = None, holes: Mapping[str, str] | None = None) -> str:
    """SyGuS-IF text of a term. `aliases` maps our operators (safe_div, min...) to the
    names of define-funs that implement them; without one they are written out.
    `holes` gives the text standing for each hole (a synth-fun application)."""
    ext = names.external if names is not None else (lambda n: n)
    al = aliases or {}

    def go(x: Expr) -> str:
        if isinstance(x, Const):
            return str(x.value) if x.value >= 0 else f"(- {-x.value})"
        if isinstance(x, BoolLit):
            return "true" if x.value else "false"
        if isinstance(x, Var):
            return ext(x.name)
        if isinstance(x, EnumLit):
            if enums is None or x.symbol not in enums:
                raise TermError(f"enum symbol {x.symbol} has no integer value")
            return str(enums[x.symbol])
        if isinstance(x, Ite):
            return f"(ite {go(x.cond)} {go(x.then)} {go(x.else_)})"
        if isinstance(x, Hole):
            if holes is None or x.hole_id not in holes:
                raise TermError(f"unfilled hole {x.hole_id}")
            return holes[x.hole_id]
        assert isinstance(x, Op)
        args = [go(a) for a in x.args]
        if x.op in al:
            return _nest(al[x.op], args) if x.op in ("min", "max") else f"({al[x.op]} {' '.join(args)})"
        if x.op == "!=":
            return f"(not (= {args[0]} {args[1]}))"
        if x.op in ("safe_div", "safe_mod"):
            base = "div" if x.op == "safe_div" else "mod"
            return f"(ite (= {args[1]} 0) 0 ({base} {args[0]} {args[1]}))"
        if x.op in ("min", "max"):
            out = args[0]
            for a in args[1:]:
                cmp_ = "<=" if x.op == "min" else ">="
                out = f"(ite ({cmp_} {out} {a}) {out} {a})"
            return out
        return f"({x.op} {' '.join(args)})"

    return go(e)


def _nest(name: str, args: list[str]) -> str:
    out = args[0]
    for a in args[1:]:
        out = f"({name} {out} {a})"
    return out
