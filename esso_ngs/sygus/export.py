"""ESSO spec -> SyGuS-IF 2.1, one file per hole.

Each file holds:
- `define-fun`s for ESSO's zero-safe division (`safe_div`/`safe_mod`: 0 on a zero
  divisor, as ESSO's `div`/`mod` are too) and for `min`/`max` (`esso_min`/
  `esso_max`, an `ite`), emitted only when used. A grammar rule cannot write
  `min` as an inline `ite` (each nonterminal occurrence would be a separate term),
  hence functions. Division by a non-zero literal, or by a nonterminal that derives
  only non-zero literals, is plain `div`/`mod`: the same value, and solvers (and
  the LIA logic) handle it far better.
- the hole as `synth-fun` over the state vars and params it may use, with the
  spec's grammar (live nonterminals only) in 2.1 form;
- `declare-var` for every name of the obligations' domains (enums as Int indices);
- one `constraint` per obligation of `verify.obligations_for`:
  (type bounds and premise) => goal, the hole replaced by the synth-fun applied to
  its variables. When an obligation also holds another hole (an invariant over two
  updated fields), that hole is a second synth-fun of the same file.

The style profile (node, ite and nesting limits) has no SyGuS equivalent: a SyGuS
solver may return a larger term of the grammar; it says so in a comment.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..fsutil import atomic_write_text
from ..grammar import CompiledGrammar, grammar_for_hole
from ..lang.expr import BoolLit, Const, EnumLit, Expr, Op, Var, transform, walk
from ..formats.model import BoolType, EnumType, IntType, Spec, Type
from ..verify import obligations_for
from ..verify.domain import Domain
from ..wording import plural
from .terms import to_sygus

HELPERS = {
    "safe_div": "(define-fun safe_div ((a Int) (b Int)) Int (ite (= b 0) 0 (div a b)))",
    "safe_mod": "(define-fun safe_mod ((a Int) (b Int)) Int (ite (= b 0) 0 (mod a b)))",
    "min": "(define-fun esso_min ((a Int) (b Int)) Int (ite (<= a b) a b))",
    "max": "(define-fun esso_max ((a Int) (b Int)) Int (ite (>= a b) a b))",
}
ALIASES = {"safe_div": "safe_div", "safe_mod": "safe_mod", "min": "esso_min", "max": "esso_max"}


@dataclass(frozen=True, slots=True)
class ExportedHole:
    hole_id: str
    file_name: str
    text: str
    funs: tuple[str, ...]  # synth-fun names = hole ids, the exported hole first
    logic: str


def export_spec(spec: Spec) -> list[ExportedHole]:
    return [_export_hole(spec, h.hole_id) for h in spec.synth.holes]


def write_exports(spec: Spec, out_dir: str | Path) -> list[Path]:
    out = Path(out_dir)
    return [atomic_write_text(out / e.file_name, e.text) for e in export_spec(spec)]


def _sort(t: Type) -> str:
    return "Bool" if isinstance(t, BoolType) else "Int"


def _fun_params(spec: Spec, hole_id: str) -> list[tuple[str, str]]:
    """State vars, then the params of each action the hole is used in (first seen)."""
    out: dict[str, str] = {v.id: _sort(v.type) for v in spec.kernel.state_vars}
    for place in spec.hole(hole_id).used_in:
        action = spec.kernel.action(place.action)
        for p in action.params if action else ():
            out.setdefault(p.id, _sort(p.type))
    return list(out.items())


def _bounds(domain: Domain) -> list[Expr]:
    parts: list[Expr] = []
    for name, t in zip(domain.names, domain.types):
        lo, hi = (t.min, t.max) if isinstance(t, IntType) else \
            (0, max(len(t.symbols) - 1, 0)) if isinstance(t, EnumType) else (None, None)
        if lo is not None:
            parts.append(Op("<=", (Const(lo), Var(name))))
        if hi is not None:
            parts.append(Op("<=", (Var(name), Const(hi))))
    return parts


class _Lowering:
    """ESSO operators -> what the SyGuS text uses, and which helpers that needs."""

    def __init__(self, enums: dict[str, int]) -> None:
        self.enums = enums
        self.used: set[str] = set()
        self.nonlinear = False

    def term(self, e: Expr, nonzero: frozenset[str] = frozenset()) -> Expr:
        """`nonzero`: grammar nonterminals that derive only non-zero literals."""
        def fn(n: Expr) -> Expr | None:
            if isinstance(n, EnumLit):
                if n.symbol not in self.enums:
                    raise UserError(f"enum symbol {n.symbol} has no index")
                return Const(self.enums[n.symbol])
            if not isinstance(n, Op):
                return None
            if n.op in ("div", "mod", "safe_div", "safe_mod"):
                base = "div" if n.op in ("div", "safe_div") else "mod"
                b = n.args[1]
                if isinstance(b, Const) and b.value == 0:
                    return Const(0)  # ESSO: x div 0 = x mod 0 = 0
                if (isinstance(b, Const)) or (isinstance(b, Var) and b.name in nonzero):
                    return Op(base, n.args)
                self.nonlinear = True
                self.used.add("safe_" + base)
                return Op("safe_" + base, n.args)
            if n.op == "*" and sum(not isinstance(a, Const) for a in n.args) > 1:
                self.nonlinear = True
            if n.op in ("min", "max"):
                self.used.add(n.op)
            return None
        return transform(e, fn)


def _export_hole(spec: Spec, hole_id: str) -> ExportedHole:
    oset = obligations_for(spec, hole_id)
    if not oset.obligations:
        raise UserError(f"{spec.synth.path}: hole {hole_id}: no obligation to export "
                        f"({'; '.join(oset.notes) or 'no constraint, reference or invariant'})")
    lower = _Lowering(spec.kernel.enum_index())
    involved = [hole_id] + sorted({h for ob in oset.obligations for h in ob.holes} - {hole_id})
    params = {h: _fun_params(spec, h) for h in involved}

    # Declared variables: every domain name; a hole parameter missing from a domain gets
    # a fresh, unconstrained variable there (the term must not depend on it).
    declared: dict[str, str] = {}
    for ob in oset.obligations:
        for name, t in zip(ob.domain.names, ob.domain.types):
            declared.setdefault(name, _sort(t))
    constraints: list[tuple[str, str]] = []
    for ob in oset.obligations:
        apps: dict[str, str] = {}
        for h in sorted(ob.holes):
            args = []
            for p, sort in params[h]:
                if p in ob.domain.names:
                    args.append(p)
                else:
                    fresh = f"{p}__not_in_{ob.domain.action_id}"
                    declared.setdefault(fresh, sort)
                    args.append(fresh)
            apps[h] = f"({h} {' '.join(args)})" if args else h
        premise = _and(_bounds(ob.domain) + [ob.premise])
        body = Op("=>", (premise, ob.goal)) if premise != BoolLit(True) else ob.goal
        text = to_sygus(lower.term(body), aliases=ALIASES, holes=apps)
        constraints.append((f"{ob.kind}: {ob.label} ({ob.place.action}.{ob.place.field})", text))

    funs = [_synth_fun(spec, h, params[h], lower) for h in involved]
    logic = "NIA" if lower.nonlinear else "LIA"
    lines = [f"; SyGuS-IF 2.1, exported by esso-ngs from {spec.kernel.path.name} / {spec.synth.path.name}",
             f"; hole {hole_id}: {plural(len(constraints), 'obligation')}; ESSO semantics: x div 0 = x mod 0 = 0",
             *[f"; note: {n}" for n in oset.notes],
             f"(set-logic {logic})"]
    lines += [HELPERS[k] for k in ("safe_div", "safe_mod", "min", "max") if k in lower.used]
    for f in funs:
        lines += f
    lines += [f"(declare-var {n} {s})" for n, s in declared.items()]
    for label, text in constraints:
        lines += [f"; {label}", f"(constraint {text})"]
    lines.append("(check-synth)")
    return ExportedHole(hole_id, f"{spec.name}.{hole_id}.sl", "\n".join(lines) + "\n", tuple(involved), logic)


def _and(parts: list[Expr]) -> Expr:
    parts = [p for p in parts if p != BoolLit(True)]
    if not parts:
        return BoolLit(True)
    return parts[0] if len(parts) == 1 else Op("and", tuple(parts))


def _synth_fun(spec: Spec, hole_id: str, params: list[tuple[str, str]], lower: _Lowering) -> list[str]:
    hole = spec.hole(hole_id)
    g = grammar_for_hole(spec, hole_id)
    style = spec.synth.style
    live = [nt for nt in g.nonterminals if nt in g.productive and nt in g.reachable]
    live.remove(g.start)
    live.insert(0, g.start)
    param_names = {p for p, _ in params}
    names = _nonterminal_names(live, param_names)
    nonzero = frozenset(nt for nt in live if _nonzero_literals(g, nt))
    groups: list[str] = []
    for nt in live:
        rules: list[str] = []
        for r in g.rules.get(nt, ()):
            if any(b not in live for _, b in r.slots):
                continue
            for _, n in walk(r.template):
                if isinstance(n, Var) and n.name not in g.rules and n.name not in param_names \
                        and n.name not in lower.enums:
                    raise UserError(f"{spec.synth.path}: grammar {g.grammar_id}: {n.name} is not a variable "
                                    f"of hole {hole_id}")
            template = _rename_slots(r.template, {s: names[s] for _, s in r.slots})
            # An enum symbol written as an atom in a rule is its index (the export's enums are Ints).
            template = transform(template, lambda n: Const(lower.enums[n.name]) if isinstance(n, Var)
                                 and n.name in lower.enums and n.name not in param_names
                                 and n.name not in names.values() else None)
            text = to_sygus(lower.term(template, frozenset(names[x] for x in nonzero)), aliases=ALIASES)
            if text not in rules:
                rules.append(text)
        groups.append(f"   ({names[nt]} {g.sorts[nt]} ({' '.join(rules)}))")
    sig = " ".join(f"({p} {s})" for p, s in params)
    decls = " ".join(f"({names[nt]} {g.sorts[nt]})" for nt in live)
    out = [(f"; style profile (not expressible in SyGuS): max_ast_nodes={style.max_ast_nodes}, "
            f"max_branches={style.max_branches}, max_nesting={style.max_nesting}"),
           f"(synth-fun {hole_id} ({sig}) {hole.type}",
           f"  ({decls})",
           "  (" + "\n".join(groups).lstrip() + "))"]
    return out


def _rename_slots(template: Expr, names: dict[str, str]) -> Expr:
    return transform(template, lambda n: Var(names[n.name]) if isinstance(n, Var) and n.name in names else None)


def _nonterminal_names(nts: list[str], taken: set[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for nt in nts:
        name = nt
        while name in taken or name in out.values():
            name = "NT_" + name
        out[nt] = name
    return out


def _nonzero_literals(g: CompiledGrammar, nt: str) -> bool:
    rules = g.rules.get(nt, ())
    return bool(rules) and all(isinstance(r.template, Const) and r.template.value != 0 for r in rules)


__all__ = ["ALIASES", "HELPERS", "ExportedHole", "export_spec", "write_exports"]
