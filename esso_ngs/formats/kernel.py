"""Kernel loader: an `esso-ir/v1` YAML file -> `model.Kernel`.

Real files are read unchanged: unknown extra keys are kept (in `raw`) and
ignored, a few plausible spellings are accepted (type refs by `name`/`ref`/`id`,
effects as a mapping or a list). Everything else that is not of the format is a
one-line SpecError with the file, the field path and the YAML line.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..errors import SpecError
from ..lang import ops
from ..lang.expr import BoolLit, Const, EnumLit, \
    Expr, Hole, Ite, Op, OPERATORS, Path as ExprPath, Var
from .model import Action, BoolType, EnumType, IntType, Invariant, Kernel, Type, Typed
from .sorts import BOOL, INT, Sort, compatible, describe, enum_symbol_sorts, ite_sort, op_sort, sort_of_type
from .yamlload import FieldPath, LoadedYaml, kind_of, load_yaml

IR_VERSION = "esso-ir/v1"

# Operators a kernel may use: those of the IR (safe_div/safe_mod belong to synth
# grammars only; the IR's div/mod already give 0 on a zero divisor).
KERNEL_OPS = OPERATORS - {"safe_div", "safe_mod"}
OP_ALIASES = {"==": "=", "implies": "=>"}
NODE_KEYS = ("hole", "const", "bool", "enum", "var", "param", "op")
TYPE_REF_KEYS = ("name", "ref", "id", "type", "target")
TYPE_REF_KINDS = ("ref", "enum_ref", "type_ref", "named")


def arity_problem(op: str, n: int) -> str | None:
    """Why `op` cannot take `n` arguments, or None."""
    entry = ops.TABLE.get(op)
    if entry is not None and entry.min_args == entry.max_args and n != entry.min_args:
        return f"`{op}` takes {entry.min_args} argument{'s' if entry.min_args != 1 else ''}, got {n}"
    if n < 1:
        return f"`{op}` needs at least 1 argument"
    return None


def load_kernel(path: str | Path) -> Kernel:
    """Load and check a kernel file. Raises SpecError on anything malformed."""
    return kernel_from_yaml(load_yaml(path))


def kernel_from_yaml(doc: LoadedYaml) -> Kernel:
    return _KernelReader(doc).read()


@dataclass
class _Scope:
    """Names an expression may use, with their sorts."""

    state: dict[str, Sort]
    params: dict[str, Sort] | None  # None: no action (init, invariants)
    where: str  # for messages: "action `swap`", "an invariant"
    # Rule-3 bookkeeping, for action fields only: (expr path, comment) of the
    # `{const: 0}` nodes that carry a `# HOLE` comment.
    record_holes: bool = False
    hole_paths: list[tuple[ExprPath, str]] = field(default_factory=list)
    where_part: str = "this expression"  # for messages: "the guard", "`init`"


class _KernelReader:
    def __init__(self, doc: LoadedYaml) -> None:
        self.doc = doc
        self.file = doc.file
        self.named_raw: dict[str, tuple[Any, FieldPath]] = {}
        self.named: dict[str, Type] = {}
        self._resolving: list[str] = []
        self.enum_sorts: dict[str, Sort] = {}

    # ------------------------------------------------------------ small helpers
    def err(self, path: FieldPath, message: str) -> SpecError:
        return self.doc.error(path, message)

    def mapping(self, value: Any, path: FieldPath, what: str = "a mapping") -> dict[Any, Any]:
        if not isinstance(value, dict):
            raise self.err(path, f"expected {what}, got {kind_of(value)}")
        return value

    def seq(self, value: Any, path: FieldPath, what: str = "a list") -> list[Any]:
        if not isinstance(value, list):
            raise self.err(path, f"expected {what}, got {kind_of(value)}")
        return value

    def name(self, value: Any, path: FieldPath) -> Any:
        """`value`, or the text of a name YAML 1.1 turned into a Boolean (`on`, `no`)."""
        if isinstance(value, bool):
            return self.doc.bool_words.get(path, value)
        return value

    def string(self, m: dict[Any, Any], key: str, path: FieldPath, *, required: bool = True,
               default: str | None = None) -> str | None:
        if key not in m or m[key] is None:
            if required:
                raise self.err(path + (key,), f"missing `{key}`")
            return default
        value = self.name(m[key], path + (key,))
        if not isinstance(value, str) or not value:
            raise self.err(path + (key,), f"`{key}` must be a non-empty string, got {kind_of(value)}")
        return value

    def ident(self, m: dict[Any, Any], path: FieldPath, keys: tuple[str, ...] = ("id", "name")) -> str:
        """The name of an entry: its `id` (or a tolerated alternative key)."""
        for key in keys:
            if m.get(key) is not None:
                return self.string(m, key, path)  # type: ignore[return-value]
        raise self.err(path + (keys[0],), f"missing `{keys[0]}`")

    def integer(self, m: dict[Any, Any], key: str, path: FieldPath) -> int | None:
        value = m.get(key)
        if value is None:
            return None
        if type(value) is not int:
            # Field checks read alike in the kernel and synth loaders (formats/synth.py): each names its own field and message.
            raise self.err(path + (key,), f"`{key}` must be an integer, got {kind_of(value)}")
        return value

    # ------------------------------------------------------------ top level
    def read(self) -> Kernel:
        root = self.doc.data
        if not isinstance(root, dict):
            raise self.err((), f"a kernel must be a YAML mapping, got {kind_of(root)}")
        version = root.get("ir_version")
        if version != IR_VERSION:
            shown = "missing" if version is None else repr(version)
            raise self.err(("ir_version",),
                           f"`ir_version` must be {IR_VERSION!r}, got {shown}")

        meta = root.get("meta") or {}
        self.mapping(meta, ("meta",))
        model_id = self.string(meta, "model_id", ("meta",), required=False) or _stem(self.file)
        notes = _notes(meta.get("notes"))

        types = self.read_types(root.get("types"))
        state_vars = self.read_state_vars(root.get("state_vars"))
        self.enum_sorts = enum_symbol_sorts(
            [t for _, t in types] + [v.type for v in state_vars])
        state_sorts = {v.id: sort_of_type(v.type) for v in state_vars}

        init = self.read_assignments(root.get("init"), ("init",), state_sorts,
                                     lambda: _Scope(state_sorts, None, "`init`", where_part="`init`"),
                                     "initialized")
        invariants = self.read_invariants(root.get("invariants"), state_sorts)
        actions, comments = self.read_actions(root.get("actions"), state_sorts)

        observables = root.get("observables") or {}
        self.mapping(observables, ("observables",))
        return Kernel(
            path=self.file,
            model_id=model_id,
            notes=notes,
            types=tuple(types),
            state_vars=tuple(state_vars),
            init=tuple(init),
            invariants=tuple(invariants),
            actions=tuple(actions),
            observables=observables,
            hole_comments=tuple((key, tuple(p for p, _ in found)) for key, found in comments),
            hole_comment_notes=tuple((key, tuple(t for _, t in found)) for key, found in comments),
            raw=root,
            lines=dict(self.doc.lines),
        )

    # ------------------------------------------------------------ types
    def read_types(self, raw: Any) -> list[tuple[str, Type]]:
        if raw is None:
            return []
        entries: list[tuple[str, Any, FieldPath]] = []
        if isinstance(raw, dict):  # {t_dir: {kind: enum, ...}}
            for name, t in raw.items():
                if not isinstance(name, str):
                    raise self.err(("types",), f"type names must be strings, got {kind_of(name)}")
                entries.append((name, t, ("types", name)))
        else:
            for i, entry in enumerate(self.seq(raw, ("types",), "a list of named types")):
                p: FieldPath = ("types", i)
                self.mapping(entry, p, "a named type `{id, type}`")
                name = self.ident(entry, p)
                if "type" in entry:
                    entries.append((name, entry["type"], p + ("type",)))
                elif "kind" in entry:  # the entry is the type itself
                    entries.append((name, entry, p))
                else:
                    raise self.err(p + ("type",), "missing `type`")
        for name, t, p in entries:
            if name in self.named_raw:
                raise self.err(p, f"type `{name}` is defined twice")
            self.named_raw[name] = (t, p)
        return [(name, self.named_type(name, p)) for name, _, p in entries]

    def named_type(self, name: str, used_at: FieldPath) -> Type:
        if name in self.named:
            return self.named[name]
        if name not in self.named_raw:
            known = ", ".join(self.named_raw) or "none"
            raise self.err(used_at, f"unknown type `{name}` (types defined: {known})")
        if name in self._resolving:
            raise self.err(used_at, "cyclic type reference: " + " -> ".join(self._resolving + [name]))
        self._resolving.append(name)
        raw, p = self.named_raw[name]
        t = self.resolve_type(raw, p)
        self._resolving.pop()
        self.named[name] = t
        return t

    def resolve_type(self, raw: Any, path: FieldPath) -> Type:
        if isinstance(raw, str):  # a bare name: `type: t_dir`, `type: int`
            if raw in self.named_raw:
                return self.named_type(raw, path)
            if raw.lower() in ("int", "integer"):
                return IntType()
            if raw.lower() in ("bool", "boolean"):
                return BoolType()
            return self.named_type(raw, path)  # raises: unknown type
        m = self.mapping(raw, path, "a type `{kind: ...}`")
        kind = self.string(m, "kind", path)
        if kind in ("int", "integer"):
            lo, hi = self.integer(m, "min", path), self.integer(m, "max", path)
            if lo is not None and hi is not None and lo > hi:
                raise self.err(path + ("min",), f"empty int range: min {lo} > max {hi}")
            return IntType(lo, hi)
        if kind in ("bool", "boolean"):
            return BoolType()
        if kind == "enum":
            key = "symbols" if "symbols" in m else "values" if "values" in m else "symbols"
            if key not in m:
                raise self.err(path + ("symbols",), "an enum type needs `symbols`")
            symbols = self.seq(m[key], path + (key,), "a list of symbols")
            if not symbols:
                raise self.err(path + (key,), "an enum type needs at least one symbol")
            symbols = [self.name(s, path + (key, i)) for i, s in enumerate(symbols)]
            for i, s in enumerate(symbols):
                if not isinstance(s, str) or not s:
                    raise self.err(path + (key, i), f"enum symbols must be strings, got {kind_of(s)}")
            if len(set(symbols)) != len(symbols):
                raise self.err(path + (key,), "duplicate enum symbol")
            return EnumType(tuple(symbols))
        if kind in TYPE_REF_KINDS:
            for key in TYPE_REF_KEYS:
                if isinstance(m.get(key), str):
                    return self.named_type(m[key], path + (key,))
            raise self.err(path + ("name",), f"a `{kind}` type must name a type with one of: {', '.join(TYPE_REF_KEYS)}")
        raise self.err(path + ("kind",), f"unknown type kind `{kind}` (expected int, bool, enum, ref, enum_ref)")

    # ------------------------------------------------------------ state, params
    def read_typed(self, entry: Any, path: FieldPath, what: str) -> Typed:
        self.mapping(entry, path, f"a {what} `{{id, type}}`")
        name = self.ident(entry, path)
        if "type" not in entry:
            raise self.err(path + ("type",), f"{what} `{name}` has no `type`")
        t = self.resolve_type(entry["type"], path + ("type",))
        role = entry.get("role")
        return Typed(name, t, role if isinstance(role, str) else None)

    def read_state_vars(self, raw: Any) -> list[Typed]:
        if raw is None:
            raise self.err(("state_vars",), "missing `state_vars`")
        out: list[Typed] = []
        for i, entry in enumerate(self.seq(raw, ("state_vars",))):
            v = self.read_typed(entry, ("state_vars", i), "state var")
            if any(o.id == v.id for o in out):
                raise self.err(("state_vars", i), f"state var `{v.id}` is declared twice")
            out.append(v)
        return out

    # ------------------------------------------------------------ init, invariants
    def assignment_items(self, raw: Any, path: FieldPath) -> list[tuple[str, FieldPath, Any, FieldPath]]:
        """`[{var, expr}]` (or a mapping `{var: expr}`) -> (name, name path, expr, expr path)."""
        if raw is None:
            return []
        items: list[tuple[str, FieldPath, Any, FieldPath]] = []
        if isinstance(raw, dict):
            for name, e in raw.items():
                items.append((str(name), path + (str(name),), e, path + (str(name),)))
            return items
        for i, entry in enumerate(self.seq(raw, path, "a list of `{var, expr}`")):
            p = path + (i,)
            self.mapping(entry, p, "`{var, expr}`")
            name = self.ident(entry, p, ("var", "id"))
            if "expr" not in entry:
                raise self.err(p + ("expr",), f"missing `expr` for `{name}`")
            items.append((name, p + ("var",) if "var" in entry else p + ("id",), entry["expr"], p + ("expr",)))
        return items

    def read_assignments(self, raw: Any, path: FieldPath, state_sorts: dict[str, Sort],
                         scope_of: Callable[[], _Scope], what: str,
                         on_field: Callable[[str, _Scope], None] | None = None) -> list[tuple[str, Expr]]:
        """Init and updates: each name must be a state var, assigned once, sorts agree."""
        out: list[tuple[str, Expr]] = []
        for name, name_path, e, expr_path in self.assignment_items(raw, path):
            if name not in state_sorts:
                raise self.err(name_path, f"`{name}` is not a state var (state vars: {', '.join(state_sorts)})")
            if any(n == name for n, _ in out):
                raise self.err(name_path, f"`{name}` is {what} twice")
            scope = scope_of()
            expr, sort = self.expr(e, expr_path, scope)
            if not compatible(sort, state_sorts[name]):
                raise self.err(expr_path, f"`{name}` is {describe(state_sorts[name])} "
                                          f"but its expression is {describe(sort)}")
            out.append((name, expr))
            if on_field is not None:
                on_field(name, scope)
        return out

    def read_invariants(self, raw: Any, state_sorts: dict[str, Sort]) -> list[Invariant]:
        if raw is None:
            return []
        out: list[Invariant] = []
        for i, entry in enumerate(self.seq(raw, ("invariants",))):
            p: FieldPath = ("invariants", i)
            self.mapping(entry, p, "an invariant `{id, kind, expr}`")
            inv_id = self.string(entry, "id", p, required=False, default=f"inv{i}")
            kind = self.string(entry, "kind", p, required=False, default="safety")
            if "expr" not in entry:
                raise self.err(p + ("expr",), f"invariant `{inv_id}` has no `expr`")
            scope = _Scope(state_sorts, None, "an invariant", where_part="an invariant")
            expr, sort = self.expr(entry["expr"], p + ("expr",), scope)
            if not compatible(sort, BOOL):
                raise self.err(p + ("expr",), f"an invariant must be Boolean, this one is {describe(sort)}")
            out.append(Invariant(inv_id, kind, expr))
        return out

    # ------------------------------------------------------------ actions
    def read_actions(self, raw: Any, state_sorts: dict[str, Sort]
                     ) -> tuple[list[Action], list[tuple[tuple[str, str], list[tuple[ExprPath, str]]]]]:
        if raw is None:
            raise self.err(("actions",), "missing `actions`")
        actions: list[Action] = []
        comments: list[tuple[tuple[str, str], list[tuple[ExprPath, str]]]] = []
        for i, entry in enumerate(self.seq(raw, ("actions",))):
            p: FieldPath = ("actions", i)
            self.mapping(entry, p, "an action `{id, params, guard, updates, effects}`")
            aid = self.ident(entry, p)
            if any(a.id == aid for a in actions):
                raise self.err(p + ("id",), f"action `{aid}` is defined twice")
            params: list[Typed] = []
            raw_params = entry.get("params")
            if raw_params is not None:
                for j, pe in enumerate(self.seq(raw_params, p + ("params",))):
                    prm = self.read_typed(pe, p + ("params", j), "param")
                    if prm.id in state_sorts:
                        raise self.err(p + ("params", j), f"param `{prm.id}` has the name of a state var")
                    if any(o.id == prm.id for o in params):
                        raise self.err(p + ("params", j), f"param `{prm.id}` is declared twice")
                    params.append(prm)
            param_sorts = {q.id: sort_of_type(q.type) for q in params}

            def field_scope() -> _Scope:
                # Effects and updates: where holes may stand and HOLE comments count.
                return _Scope(state_sorts, param_sorts, f"action `{aid}`", record_holes=True)

            guard: Expr = BoolLit(True)
            if entry.get("guard") is not None:
                guard_scope = _Scope(state_sorts, param_sorts, f"action `{aid}`", where_part="the guard")
                guard, gsort = self.expr(entry["guard"], p + ("guard",), guard_scope)
                if not compatible(gsort, BOOL):
                    raise self.err(p + ("guard",), f"the guard must be Boolean, it is {describe(gsort)}")

            def note(name: str, sc: _Scope) -> None:
                if sc.hole_paths:
                    comments.append(((aid, name), list(sc.hole_paths)))

            updates = self.read_assignments(entry.get("updates"), p + ("updates",), state_sorts,
                                            field_scope, "updated", note)
            effects = self.read_effects(entry.get("effects"), p + ("effects",), field_scope, note)
            actions.append(Action(aid, tuple(params), guard, tuple(updates), tuple(effects)))
        return actions, comments

    def read_effects(self, raw: Any, path: FieldPath, scope_of: Callable[[], _Scope],
                     on_field: Callable[[str, _Scope], None]) -> list[tuple[str, Expr]]:
        if raw is None:
            return []
        items: list[tuple[str, Any, FieldPath]] = []
        if isinstance(raw, dict):  # the format: {name: expr}
            for name, e in raw.items():
                if not isinstance(name, str):
                    raise self.err(path, f"effect names must be strings, got {kind_of(name)}")
                items.append((name, e, path + (name,)))
        else:  # tolerated: [{id|name|effect, expr}]
            for i, entry in enumerate(self.seq(raw, path, "a mapping `{name: expr}`")):
                p = path + (i,)
                self.mapping(entry, p, "an effect `{name, expr}`")
                name = next((entry[k] for k in ("id", "name", "effect") if isinstance(entry.get(k), str)), None)
                if name is None:
                    raise self.err(p + ("id",), "an effect needs a name (`id` or `name`)")
                if "expr" not in entry:
                    raise self.err(p + ("expr",), f"effect `{name}` has no `expr`")
                items.append((name, entry["expr"], p + ("expr",)))
        out: list[tuple[str, Expr]] = []
        for name, e, p in items:
            if any(n == name for n, _ in out):
                raise self.err(p, f"effect `{name}` is defined twice")
            sc = scope_of()
            expr, _ = self.expr(e, p, sc)
            out.append((name, expr))
            on_field(name, sc)
        return out

    # ------------------------------------------------------------ expressions
    def expr(self, raw: Any, path: FieldPath, scope: _Scope, epath: ExprPath = ()) -> tuple[Expr, Sort]:
        """One IR expression node -> (Expr, sort). `epath` is its path in the field expr."""
        if not isinstance(raw, dict):
            raise self.err(path, f"expected an expression node (a mapping such as `{{const: 5}}`), got {kind_of(raw)}")
        present = [k for k in NODE_KEYS if k in raw]
        if len(present) != 1:
            if not present:
                raise self.err(path, "not an expression node: expected one of the keys " + ", ".join(NODE_KEYS))
            raise self.err(path, "ambiguous expression node with keys " + ", ".join(present))
        key = present[0]
        vpath = path + (key,)
        value = raw[key] if key in ("const", "bool") else self.name(raw[key], vpath)
        if key == "const":
            if type(value) is not int:
                raise self.err(vpath, f"`const` must be an integer, got {kind_of(value)}")
            if value == 0 and scope.record_holes and path in self.doc.hole_comments:
                scope.hole_paths.append((epath, self.doc.hole_comments[path]))
            return Const(value), INT
        if key == "bool":
            if not isinstance(value, bool):
                # Each leaf node kind (bool, hole) has its own one-line check: alike in shape only.
                raise self.err(vpath, f"`bool` must be true or false, got {kind_of(value)}")
            return BoolLit(value), BOOL
        if key == "enum":
            if not isinstance(value, str):
                raise self.err(vpath, f"`enum` must be a symbol name, got {kind_of(value)}")
            if value not in self.enum_sorts:
                raise self.err(vpath, f"unknown enum symbol `{value}`")
            return EnumLit(value), self.enum_sorts[value]
        if key == "hole":
            if not isinstance(value, str) or not value:
                raise self.err(vpath, f"`hole` must be a hole id, got {kind_of(value)}")
            if not scope.record_holes:
                # Alike in shape to the bool leaf above: a different node kind and message.
                raise self.err(path, f"a hole may stand only in an effect or an update, not in {scope.where_part}")
            return Hole(value), None
        if key == "var":
            if not isinstance(value, str):
                raise self.err(vpath, f"`var` must be a name, got {kind_of(value)}")
            if value not in scope.state:
                hint = " (it is a param: write `{param: " + value + "}`)" if scope.params and value in scope.params else ""
                raise self.err(vpath, f"unknown state var `{value}` in {scope.where}{hint}")
            return Var(value), scope.state[value]
        if key == "param":
            if not isinstance(value, str):
                raise self.err(vpath, f"`param` must be a name, got {kind_of(value)}")
            if scope.params is None:
                raise self.err(vpath, f"`{{param: {value}}}` outside an action: {scope.where} may use state vars only")
            if value not in scope.params:
                hint = " (it is a state var: write `{var: " + value + "}`)" if value in scope.state else ""
                known = ", ".join(scope.params) or "none"
                raise self.err(vpath, f"unknown param `{value}` of {scope.where} (params: {known}){hint}")
            return Var(value), scope.params[value]
        return self.op(raw, path, scope, epath)

    def op(self, raw: dict[Any, Any], path: FieldPath, scope: _Scope, epath: ExprPath) -> tuple[Expr, Sort]:
        op = raw["op"]
        if not isinstance(op, str):
            raise self.err(path + ("op",), f"`op` must be an operator name, got {kind_of(op)}")
        op = OP_ALIASES.get(op, op)
        if op == "ite":
            if "args" in raw and not any(k in raw for k in ("cond", "then", "else")):
                args = self.seq(raw["args"], path + ("args",))
                if len(args) != 3:
                    raise self.err(path + ("args",), f"`ite` takes 3 arguments, got {len(args)}")
                parts = [(a, path + ("args", i)) for i, a in enumerate(args)]
            else:
                for k in ("cond", "then", "else"):
                    if k not in raw:
                        raise self.err(path + (k,), f"`ite` is missing `{k}`")
                parts = [(raw[k], path + (k,)) for k in ("cond", "then", "else")]
            kids = [self.expr(a, p, scope, epath + (i,)) for i, (a, p) in enumerate(parts)]
            sort, bad, msg = ite_sort(*(s for _, s in kids))
            if bad is not None:
                raise self.err(parts[bad][1], msg)
            return Ite(*(e for e, _ in kids)), sort
        if op not in KERNEL_OPS:
            hint = " (use `div`/`mod`: they give 0 on a zero divisor)" if op in ("safe_div", "safe_mod") else ""
            raise self.err(path + ("op",), f"unknown operator `{op}`{hint}")
        if "args" not in raw:
            raise self.err(path + ("args",), f"`{op}` has no `args`")
        args = self.seq(raw["args"], path + ("args",), "a list of arguments")
        problem = arity_problem(op, len(args))
        if problem:
            raise self.err(path + ("args",), problem)
        kids = [self.expr(a, path + ("args", i), scope, epath + (i,)) for i, a in enumerate(args)]
        sort, bad, msg = op_sort(op, [s for _, s in kids])
        if bad is not None:
            raise self.err(path + ("args", bad), msg)
        return Op(op, tuple(e for e, _ in kids)), sort


def _notes(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, list):
        return "\n".join(str(v) for v in value)
    return str(value)


def _stem(path: Path) -> str:
    name = path.name
    for suffix in (".yaml", ".yml"):
        if name.endswith(suffix):
            return name[: -len(suffix)]
    return name
