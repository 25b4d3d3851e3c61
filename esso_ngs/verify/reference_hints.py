"""Hints from the reference kernel: the author's intended term at each of the hole's sites.

A reference (`X_ref.yaml`) writes each `used_in` field out in full, and the hole's
site inside the holed field is known (`formats/sites.py`). So the reference's
expression at the site is the intended term: the whole reference field when the
site is the whole field; the reference's subterm at the site's path when the two
fields agree everywhere outside the holes' placeholders; nothing otherwise (an
unknown site, a reference without the field, fields shaped differently). Written
with the grammar's operators (`in_grammar_ops`), it is kept when it reads only
names the hole may read and is a term of the hole's grammar.

A hint is only a hint: it is verified like any other, so a reference that drifts
from its hole kernel costs at most one verifier call, never a wrong answer.
"""
from __future__ import annotations

from ..formats.model import Kernel, Site, Spec
from ..formats.sites import PLACEHOLDER, placeholder_diffs
from ..grammar import check_term, grammar_for_hole
from ..lang.expr import Expr, Hole, free_vars, holes_in, subterm, transform
from ..lang.sexpr import to_sexpr
from .intent import hole_names, in_grammar_ops

SOURCE = "reference"  # the hint source tag of reference-derived terms


def reference_hint_terms(spec: Spec, hole_id: str) -> list[str]:
    """The reference's distinct terms at the hole's sites, in `used_in` order, as
    S-expressions in the hole's grammar (none without a reference)."""
    if spec.ref is None:
        return []
    names = frozenset(hole_names(spec, hole_id))
    grammar = None
    out: list[str] = []
    for site in spec.sites_of(hole_id):
        intended = reference_at_site(spec.kernel, spec.ref, site)
        if intended is None or holes_in(intended) or not free_vars(intended) <= names:
            continue  # a drifting reference reads names the hole cannot: no hint here
        term = in_grammar_ops(spec, hole_id, intended)
        grammar = grammar or grammar_for_hole(spec, hole_id)
        text = to_sexpr(term)
        if text not in out and check_term(grammar, term).ok:
            out.append(text)
    return out


def reference_at_site(kernel: Kernel, ref: Kernel, site: Site) -> Expr | None:
    """The reference's expression at `site` of the holed field, or None where it has
    none: unknown site, no such field in the reference, or fields that differ outside
    the placeholders (each `{hole: id}` node or `{const: 0}` matches anything)."""
    if site.path is None:
        return None
    ref_action, action = ref.action(site.place.action), kernel.action(site.place.action)
    ref_expr = ref_action.field_expr(site.place.field) if ref_action is not None else None
    holed = action.field_expr(site.place.field) if action is not None else None
    if ref_expr is None or holed is None:
        return None
    if not site.path:
        return ref_expr
    marked = transform(holed, lambda n: PLACEHOLDER if isinstance(n, Hole) else None)
    if placeholder_diffs(marked, ref_expr) is None:
        return None
    # The trees agree down to every placeholder, so the site's path exists in the reference.
    return subterm(ref_expr, site.path)
