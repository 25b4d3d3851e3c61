"""Synth spec loader: a `*.synth.json` file (synth_version 1.1) -> `model.SynthSpec`.

Checked against its kernel: every `used_in` place exists, constraints parse and
name only `result`, state vars and params of the hole's actions, grammar rules
are S-expression templates over nonterminals and known names.
"""
from __future__ import annotations

import difflib
import json
import re
from pathlib import Path
from typing import Any

from ..errors import SpecError
from ..lang.expr import OPERATORS, EnumLit, Expr, Var, free_vars, transform, walk
from ..lang.infix import InfixSyntaxError, parse_infix
from ..lang.sexpr import TermSyntaxError, parse_term
from .model import Constraint, GrammarSpec, HoleSpec, Kernel, Penalties, Place, StyleProfile, SynthSpec
from .sorts import BOOL, INT, Sort, SortError, compatible, describe, enum_symbol_sorts, infer, sort_of_type
from .jsonload import LoadedJson, load_json
from .yamlload import FieldPath, kind_of

SYNTH_VERSION = "1.1"
HOLE_TYPES = {"int": "Int", "bool": "Bool"}
DEFAULT_GOALS = ("SATISFY", "MINIMIZE_COST")


def load_synth(path: str | Path, kernel: Kernel, rule_errors: list[SpecError] | None = None) -> SynthSpec:
    """Load a synth spec and check it against `kernel`. Raises SpecError at the first
    problem; with `rule_errors`, bad grammar rules are collected there (file order)
    and left out instead, so that a grammar author sees every one at once."""
    return synth_from_json(load_json(path), kernel, rule_errors)


def synth_from_json(doc: LoadedJson, kernel: Kernel, rule_errors: list[SpecError] | None = None) -> SynthSpec:
    return _SynthReader(doc, kernel, rule_errors).read()


# The values of enumerated fields whose meaning esso-ngs implements (formats page, section 2).
SCOPE_KINDS = ("inductive",)
DOMAIN_CAPS = ("from_model",)
HOLE_KINDS = ("expr",)


class _SynthReader:
    def __init__(self, doc: LoadedJson, kernel: Kernel, rule_errors: list[SpecError] | None = None) -> None:
        self.doc = doc
        self.kernel = kernel
        self.collect = rule_errors is not None
        self.rule_errors: list[SpecError] = rule_errors if rule_errors is not None else []
        self.state_sorts = {v.id: sort_of_type(v.type) for v in kernel.state_vars}
        types = [t for _, t in kernel.types] + [v.type for v in kernel.state_vars] + \
            [p.type for a in kernel.actions for p in a.params]
        self.enum_sorts = enum_symbol_sorts(types)

    def err(self, path: FieldPath, message: str) -> SpecError:
        return self.doc.error(path, message)

    def bad_rule(self, path: FieldPath, message: str) -> None:
        """Note a bad grammar rule and go on: `read` refuses the first in file order
        unless the caller collects them."""
        self.rule_errors.append(self.err(path, message))

    def obj(self, value: Any, path: FieldPath, what: str = "an object") -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.err(path, f"expected {what}, got {kind_of(value)}")
        return value

    def arr(self, value: Any, path: FieldPath, what: str = "an array") -> list[Any]:
        if not isinstance(value, list):
            raise self.err(path, f"expected {what}, got {kind_of(value)}")
        return value

    def string(self, m: dict[str, Any], key: str, path: FieldPath, default: str | None = None) -> str:
        if key not in m or m[key] is None:
            if default is not None:
                return default
            raise self.err(path + (key,), f"missing `{key}`")
        value = m[key]
        if not isinstance(value, str) or not value:
            raise self.err(path + (key,), f"`{key}` must be a non-empty string, got {kind_of(value)}")
        return value

    def count(self, m: dict[str, Any], key: str, path: FieldPath, default: int | None) -> int | None:
        """A non-negative integer field (JSON numbers like 5.0 accepted)."""
        value = m.get(key)
        if value is None:
            return default
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if type(value) is not int or value < 0:
            raise self.err(path + (key,), f"`{key}` must be a non-negative integer, got {kind_of(value)}")
        return value

    # ------------------------------------------------------------ top level
    def known(self, obj: dict[str, Any], key: str, path: FieldPath, allowed: tuple[str, ...],
              required: bool = False) -> str:
        """A field naming one of `allowed` (the first is the default): a value we do not know
        the meaning of would be silently misread, so it is refused."""
        # Field checks read alike in the synth and kernel loaders (formats/kernel.py): each names its own field and message.
        value = self.string(obj, key, path) if required else self.string(obj, key, path, default=allowed[0])
        if value not in allowed:
            raise self.err(path + (key,), f"unknown `{key}` {value!r} (known: {', '.join(allowed)})")
        return value

    def read(self) -> SynthSpec:
        root = self.doc.data
        if not isinstance(root, dict):
            raise self.err((), f"a synth spec must be a JSON object, got {kind_of(root)}")
        version = root.get("synth_version")
        if version != SYNTH_VERSION:
            shown = "missing" if version is None else json_repr(version)
            raise self.err(("synth_version",),
                           f"`synth_version` must be \"{SYNTH_VERSION}\", got {shown}")
        backend = self.obj(root.get("backend") or {}, ("backend",))
        self.count(backend, "timeout_ms", ("backend",), None)
        scope = self.obj(root.get("scope") or {}, ("scope",))
        scope_kind = self.known(scope, "kind", ("scope",), SCOPE_KINDS)
        self.known(scope, "domain_caps", ("scope",), DOMAIN_CAPS)

        grammars = self.read_grammars_shallow(root.get("grammars"))
        holes = self.read_holes(root.get("holes"), {g.grammar_id for g in grammars})
        grammars = self.check_grammar_names(grammars, holes, root.get("grammars"))
        if self.rule_errors and not self.collect:
            raise min(self.rule_errors, key=lambda e: (e.line is None, e.line or 0))

        style = self.read_style(root.get("style_profile"))
        objective = self.obj(root.get("objective") or {}, ("objective",))
        goals_raw = objective.get("goals")
        goals: tuple[str, ...] = DEFAULT_GOALS
        if goals_raw is not None:
            items = self.arr(goals_raw, ("objective", "goals"))
            for i, g in enumerate(items):
                if not isinstance(g, str):
                    raise self.err(("objective", "goals", i), f"goals are names, got {kind_of(g)}")
            goals = tuple(items)
        return SynthSpec(
            path=self.doc.file,
            version=version,
            backend=backend,
            scope_kind=scope_kind,
            holes=tuple(holes),
            grammars=tuple(grammars),
            style=style,
            objective_goals=goals,
            raw=root,
        )

    # ------------------------------------------------------------ holes
    def read_holes(self, raw: Any, grammar_ids: set[str]) -> list[HoleSpec]:
        if raw is None:
            raise self.err(("holes",), "missing `holes`")
        items = self.arr(raw, ("holes",), "an array of holes")
        if not items:
            raise self.err(("holes",), "no holes: a synth spec needs at least one")
        # The holes and grammars arrays are read alike (see _grammars): different record types and messages.
        holes: list[HoleSpec] = []
        for i, h in enumerate(items):
            p: FieldPath = ("holes", i)
            self.obj(h, p, "a hole object")
            hole_id = self.string(h, "hole_id", p)
            if any(o.hole_id == hole_id for o in holes):
                raise self.err(p + ("hole_id",), f"hole `{hole_id}` is defined twice")
            kind = self.known(h, "kind", p, HOLE_KINDS, required=True)
            type_name = self.string(h, "type", p)
            if type_name.lower() not in HOLE_TYPES:
                raise self.err(p + ("type",), f"hole type must be \"Int\" or \"Bool\", got {type_name!r}")
            hole_type = HOLE_TYPES[type_name.lower()]
            places = self.read_used_in(h.get("used_in"), p + ("used_in",))
            grammar_id = self.string(h, "grammar_id", p)
            if grammar_id not in grammar_ids:
                known = ", ".join(sorted(grammar_ids)) or "none"
                raise self.err(p + ("grammar_id",), f"no grammar `{grammar_id}` (grammars: {known})")
            constraints = self.read_constraints(h.get("semantic_constraints"), p + ("semantic_constraints",),
                                                places, hole_type)
            holes.append(HoleSpec(hole_id, kind, hole_type, places, grammar_id, constraints))
        return holes

    def read_used_in(self, raw: Any, path: FieldPath) -> tuple[Place, ...]:
        if raw is None:
            raise self.err(path, "missing `used_in`")
        items = self.arr(raw, path, "an array of `{action, field}`")
        if not items:
            raise self.err(path, "`used_in` is empty: a hole must stand somewhere")
        places: list[Place] = []
        for j, u in enumerate(items):
            q = path + (j,)
            self.obj(u, q, "`{action, field}`")
            action_id = self.string(u, "action", q)
            field = self.string(u, "field", q)
            action = self.kernel.action(action_id)
            if action is None:
                known = ", ".join(a.id for a in self.kernel.actions)
                raise self.err(q + ("action",), f"no action `{action_id}` in {self.kernel.path.name} (actions: {known})")
            if action.field_kind(field) is None:
                fields = [n for n, _ in action.effects] + [n for n, _ in action.updates]
                known = ", ".join(fields) or "none"
                raise self.err(q + ("field",), f"action `{action_id}` has no effect or updated state var "
                                               f"`{field}` (fields: {known})")
            place = Place(action_id, field)
            if place in places:
                raise self.err(q, f"place {action_id}.{field} is listed twice")
            places.append(place)
        return tuple(places)

    def read_constraints(self, raw: Any, path: FieldPath, places: tuple[Place, ...],
                         hole_type: str) -> tuple[Constraint, ...]:
        if raw is None:
            return ()
        items = self.arr(raw, path, "an array of formulas")
        names: dict[str, Sort] = dict(self.state_sorts)
        for place in places:
            action = self.kernel.action(place.action)
            assert action is not None
            for prm in action.params:
                s = sort_of_type(prm.type)
                names[prm.id] = s if names.get(prm.id, s) == s else None
        if "result" in names:
            raise self.err(path, "`result` names a state var or param of the kernel: constraints would be ambiguous")
        names["result"] = INT if hole_type == "Int" else BOOL
        out: list[Constraint] = []
        for j, text in enumerate(items):
            q = path + (j,)
            if not isinstance(text, str):
                raise self.err(q, f"a constraint must be a string, got {kind_of(text)}")
            if text.lstrip().startswith("#"):
                continue  # a comment
            try:
                expr = parse_infix(text)
            except InfixSyntaxError as exc:
                raise self.err(q, f"{exc} in {text!r}") from None
            expr = self.enums_in(expr, names)
            unknown = sorted(free_vars(expr) - set(names))
            if unknown:
                actions = ", ".join(sorted({p.action for p in places}))
                raise self.err(q, f"unknown name `{unknown[0]}` in {text!r}: constraints may use `result`, "
                                  f"state vars and params of {actions}")
            try:
                sort = infer(expr, names, self.enum_sorts)
            except SortError as exc:
                raise self.err(q, f"{exc} in {text!r}") from None
            if not compatible(sort, BOOL):
                raise self.err(q, f"a constraint must be a Boolean formula, {text!r} is {describe(sort)}")
            out.append(Constraint(text, expr))
        return tuple(out)

    def enums_in(self, expr: Expr, names: dict[str, Sort]) -> Expr:
        """Identifiers naming enum symbols (and no variable) become enum literals."""
        def fix(n: Expr) -> Expr | None:
            if isinstance(n, Var) and n.name not in names and n.name in self.enum_sorts:
                return EnumLit(n.name)
            return None
        return transform(expr, fix)

    # ------------------------------------------------------------ grammars
    def read_grammars_shallow(self, raw: Any) -> list[GrammarSpec]:
        if raw is None:
            raise self.err(("grammars",), "missing `grammars`")
        items = self.arr(raw, ("grammars",), "an array of grammars")
        # Read like the holes array above: different record type and messages.
        out: list[GrammarSpec] = []
        for i, g in enumerate(items):
            p: FieldPath = ("grammars", i)
            self.obj(g, p, "a grammar object")
            gid = self.string(g, "grammar_id", p)
            if any(o.grammar_id == gid for o in out):
                raise self.err(p + ("grammar_id",), f"grammar `{gid}` is defined twice")
            start = self.string(g, "start", p)
            prods_raw = self.obj(g.get("productions"), p + ("productions",),
                                 "`productions`: an object of nonterminal -> array of rules") \
                if "productions" in g else None
            if prods_raw is None:
                raise self.err(p + ("productions",), "missing `productions`")
            if not prods_raw:
                raise self.err(p + ("productions",), "no productions")
            productions: list[tuple[str, tuple[str, ...]]] = []
            for nt, rules in prods_raw.items():
                q = p + ("productions", nt)
                rules = self.arr(rules, q, "an array of rules (strings)")
                if not rules:
                    raise self.err(q, f"nonterminal `{nt}` has no rules")
                for j, r in enumerate(rules):
                    if not isinstance(r, str):
                        raise self.err(q + (j,), f"a rule must be a string, got {kind_of(r)}")
                    try:
                        parse_term(r)
                    except TermSyntaxError as exc:
                        self.bad_rule(q + (j,), f"bad rule {r!r}: {exc}{_operator_hint(r, str(exc))}")
                productions.append((nt, tuple(rules)))
            if start not in prods_raw:
                known = ", ".join(prods_raw)
                raise self.err(p + ("start",), f"start `{start}` has no productions (nonterminals: {known})")
            out.append(GrammarSpec(gid, start, tuple(productions)))
        return out

    def check_grammar_names(self, grammars: list[GrammarSpec], holes: list[HoleSpec], raw: Any
                            ) -> list[GrammarSpec]:
        """Every atom of a rule is a nonterminal or a name the term may use there (when
        collecting, rules that fail this are left out of the grammars returned)."""
        out: list[GrammarSpec] = []
        for i, g in enumerate(grammars):
            bad: set[tuple[str, str]] = set()
            users = [h for h in holes if h.grammar_id == g.grammar_id]
            actions = {pl.action for h in users for pl in h.used_in} if users else \
                {a.id for a in self.kernel.actions}
            allowed = set(self.state_sorts) | set(self.enum_sorts) | set(g.nonterminals)
            for a in self.kernel.actions:
                if a.id in actions:
                    allowed |= set(a.param_names)
            for nt, rules in g.productions:
                for j, r in enumerate(rules):
                    if not _parses(r):  # reported by the shallow read (when collecting)
                        bad.add((nt, r))
                        continue
                    for _, node in walk(parse_term(r)):
                        if isinstance(node, Var) and node.name not in allowed:
                            where = ", ".join(sorted(actions))
                            near = difflib.get_close_matches(node.name, sorted(allowed), n=1)
                            self.bad_rule(("grammars", i, "productions", nt, j),
                                          f"rule {r!r} uses `{node.name}`: not a nonterminal, a state var "
                                          f"or a param of {where}" + (f"; did you mean `{near[0]}`?" if near else ""))
                            bad.add((nt, r))
                            break
            out.append(GrammarSpec(g.grammar_id, g.start, tuple(
                (nt, tuple(r for r in rules if (nt, r) not in bad)) for nt, rules in g.productions)))
        return out

    # ------------------------------------------------------------ style, objective
    def read_style(self, raw: Any) -> StyleProfile:
        if raw is None:
            return StyleProfile()
        p: FieldPath = ("style_profile",)
        m = self.obj(raw, p)
        pen_raw = m.get("penalties")
        penalties = Penalties()
        if pen_raw is not None:
            q = p + ("penalties",)
            pm = self.obj(pen_raw, q)
            d = Penalties()
            penalties = Penalties(
                branch=self.count(pm, "branch", q, d.branch),
                nesting=self.count(pm, "nesting", q, d.nesting),
                ast_node=self.count(pm, "ast_node", q, d.ast_node),
            )
        return StyleProfile(
            max_nesting=self.count(m, "max_nesting", p, None),
            max_branches=self.count(m, "max_branches", p, None),
            max_ast_nodes=self.count(m, "max_ast_nodes", p, None),
            penalties=penalties,
        )


def json_repr(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _parses(rule: str) -> bool:
    try:
        parse_term(rule)
    except TermSyntaxError:
        return False
    return True


def _operator_hint(rule: str, message: str) -> str:
    """For an unknown operator: the nearest known one and the list of allowed ones."""
    m = re.search(r"unknown operator '([^']*)'", message)
    if m is None:
        return ""
    near = difflib.get_close_matches(m[1], sorted(OPERATORS), n=1)
    return (f"; did you mean `{near[0]}`?" if near else "") + \
        f" (operators: {', '.join(sorted(OPERATORS | {'ite'}))})"
