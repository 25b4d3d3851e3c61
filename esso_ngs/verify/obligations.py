"""The proof obligations of a hole, per ESSO_FORMATS.md "What the term is correct means".

Each obligation is a Boolean goal with `Hole` nodes where terms go, over the domain
of one action, under a premise (the invariants in inductive scope, and the guard):
1. `constraint`: a semantic constraint with `result` := the term;
2. `reference`: the field with the term at its site equals the reference's field;
3. `inductive`: the invariants hold in the next state.
Obligations are built once per spec and instantiated with terms by `fill_holes`.
"""
from __future__ import annotations

from dataclasses import dataclass

from ..lang.expr import BoolLit, Expr, Hole, Op, Var, holes_in, replace_at, substitute
from ..memo import IdentityCache
from ..formats.model import Action, Place, Spec
from .domain import Domain


@dataclass(frozen=True, slots=True)
class Obligation:
    kind: str  # "constraint" | "reference" | "inductive" | "intent"
    place: Place
    label: str  # what must hold, for people
    domain: Domain
    premise: Expr
    goal: Expr
    observed: Expr | None = None  # the field with the term at its site (shown in counterexamples)
    expected: Expr | None = None  # the reference's field (kind == "reference")

    @property
    def holes(self) -> frozenset[str]:
        return holes_in(self.goal)


@dataclass(frozen=True, slots=True)
class ObligationSet:
    obligations: tuple[Obligation, ...]
    notes: tuple[str, ...]  # what could not be checked, and why


def conjunction(parts: list[Expr]) -> Expr:
    parts = [p for p in parts if p != BoolLit(True)]
    if not parts:
        return BoolLit(True)
    return parts[0] if len(parts) == 1 else Op("and", tuple(parts))


def holed_field(spec: Spec, action: Action, field: str) -> Expr | None:
    """The field's expression with every known hole site replaced by a `Hole` node."""
    expr = action.field_expr(field)
    if expr is None:
        return None
    for hole in spec.synth.holes:
        for site in spec.sites_of(hole.hole_id):
            if site.place == Place(action.id, field) and site.path is not None and site.rule != 1:
                expr = replace_at(expr, site.path, Hole(hole.hole_id))
    return expr


def premise_of(spec: Spec, action: Action) -> Expr:
    parts: list[Expr] = []
    if spec.synth.scope_kind == "inductive":
        parts.extend(inv.expr for inv in spec.kernel.invariants)
    parts.append(action.guard)
    return conjunction(parts)


def next_state(spec: Spec, action: Action) -> dict[str, Expr]:
    """State var -> its next value (holed), for the invariant-after obligations."""
    nxt: dict[str, Expr] = {v.id: Var(v.id) for v in spec.kernel.state_vars}
    for var, _ in action.updates:
        nxt[var] = holed_field(spec, action, var)  # type: ignore[assignment]
    return nxt


# Built once per (spec object, hole): the verifier asks for them on every call, and
# hashing a whole spec by value each time would cost more than the lookup saves.
_CACHE: IdentityCache[ObligationSet] = IdentityCache(512)


def obligations_for(spec: Spec, hole_id: str) -> ObligationSet:
    hit = _CACHE.get((spec,), hole_id)
    if hit is not None:
        return hit
    return _CACHE.put((spec,), hole_id, _build_obligations(spec, hole_id))


def _build_obligations(spec: Spec, hole_id: str) -> ObligationSet:
    hole = spec.hole(hole_id)
    sites = {s.place: s for s in spec.sites_of(hole_id)}
    out: list[Obligation] = []
    notes: list[str] = []
    seen_inductive: set[tuple[str, str]] = set()
    for place in hole.used_in:
        action = spec.kernel.action(place.action)
        assert action is not None, "the loader checks used_in actions"
        domain = Domain.of(spec.kernel, action)
        premise = premise_of(spec, action)
        for c in hole.constraints:
            goal = substitute(c.expr, {"result": Hole(hole_id)})
            out.append(Obligation("constraint", place, c.text, domain, premise, goal))
        for hid, formula in spec.intent:  # `--intent notes`: the stated formula, like a reference
            if hid == hole_id:
                out.append(Obligation("intent", place, f"{hole_id} equals the stated intent", domain, premise,
                                      Op("=", (Hole(hole_id), formula)), observed=Hole(hole_id), expected=formula))
        site = sites.get(place)
        if site is None or site.path is None:
            notes.append(f"{place.action}.{place.field}: site of {hole_id} unknown "
                         "(rule 5): checked through its constraints only")
            continue
        field = holed_field(spec, action, place.field)
        assert field is not None
        if spec.ref is not None:
            ref_action = spec.ref.action(place.action)
            ref_field = ref_action.field_expr(place.field) if ref_action else None
            if ref_field is None:
                notes.append(f"{place.action}.{place.field}: the reference kernel has no such field")
            else:
                out.append(Obligation(
                    "reference", place, f"{place.action}.{place.field} equals the reference",
                    domain, premise, Op("=", (field, ref_field)), observed=field, expected=ref_field))
        if spec.synth.scope_kind == "inductive" and action.field_kind(place.field) == "update":
            nxt = next_state(spec, action)
            for inv in spec.kernel.invariants:
                key = (action.id, inv.id)
                if key in seen_inductive:
                    continue
                seen_inductive.add(key)
                out.append(Obligation(
                    "inductive", place, f"invariant {inv.id} holds after {action.id}",
                    domain, premise, substitute(inv.expr, nxt), observed=field))
    return ObligationSet(tuple(out), tuple(notes))
