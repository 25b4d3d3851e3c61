"""Where each hole stands inside its fields: site rules 1-5 of ESSO_FORMATS.md.

1. an explicit `{hole: id}` node;
2. the whole field is the placeholder `{const: 0}`;
3. a `{const: 0}` on a YAML line with a `# HOLE` comment;
4. with a reference kernel, the one `{const: 0}` where the reference differs;
5. otherwise unknown (the hole is then checked only through its constraints).
"""
from __future__ import annotations

import re

from ..lang.expr import Const, Expr, Hole, Ite, Op, Path, children, walk
from .model import HoleSpec, Kernel, Place, Site, SynthSpec

PLACEHOLDER = Const(0)


def find_sites(kernel: Kernel, synth: SynthSpec, ref: Kernel | None = None
               ) -> tuple[tuple[str, tuple[Site, ...]], ...]:
    """One Site per `used_in` place of every hole, in synth-spec order."""
    return tuple(
        (hole.hole_id, tuple(find_site(kernel, synth, ref, hole, place) for place in hole.used_in))
        for hole in synth.holes
    )


def find_site(kernel: Kernel, synth: SynthSpec, ref: Kernel | None, hole: HoleSpec, place: Place) -> Site:
    action = kernel.action(place.action)
    expr = action.field_expr(place.field) if action is not None else None
    if expr is None:  # the synth loader rejects this; stay total anyway
        return Site(place, None, 5, f"{place.action}.{place.field} is not a field of the kernel")

    explicit = [p for p, n in walk(expr) if isinstance(n, Hole) and n.hole_id == hole.hole_id]
    if explicit:
        reason = f"explicit {{hole: {hole.hole_id}}} node at {describe_path(expr, explicit[0])}"
        if len(explicit) > 1:
            reason += f" ({len(explicit)} such nodes: the same term fills each; this is the first)"
        return Site(place, explicit[0], 1, reason)

    if expr == PLACEHOLDER:
        return Site(place, (), 2, "the whole field is the placeholder {const: 0}")

    # Other holes of this same place without an explicit node compete for the
    # same placeholders; with as many placeholders as holes, match them in order.
    rivals = [h.hole_id for h in synth.holes
              if place in h.used_in and not _has_hole_node(expr, h.hole_id)]

    site = _by_comment(kernel, hole.hole_id, place, expr, rivals)
    if site is not None:
        return site
    if ref is not None:
        return _by_reference(ref, hole.hole_id, place, expr, rivals)
    return Site(place, None, 5, "no {hole} node, the field is not the placeholder {const: 0}, no `# HOLE` "
                                "comment and no reference kernel: the site is unknown, so the hole is "
                                "checked through its constraints only")


def _has_hole_node(expr: Expr, hole_id: str) -> bool:
    return any(isinstance(n, Hole) and n.hole_id == hole_id for _, n in walk(expr))


def _names(comment: str, hole_id: str) -> bool:
    return re.search(rf"(?<![\w]){re.escape(hole_id)}(?![\w])", comment) is not None


def _by_comment(kernel: Kernel, hole_id: str, place: Place, expr: Expr, rivals: list[str]) -> Site | None:
    paths = kernel.hole_comment_paths(place.action, place.field)
    if not paths:
        return None
    texts = kernel.hole_comment_texts(place.action, place.field)
    for p, t in zip(paths, texts):
        if _names(t, hole_id):
            return Site(place, p, 3, f"`# {t}` comment naming the hole on the {{const: 0}} at "
                                     f"{describe_path(expr, p)}")
    others = [r for r in rivals if r != hole_id]
    free = [p for p, t in zip(paths, texts) if not any(_names(t, r) for r in others)]
    if not free:
        return None
    where = f"{{const: 0}} with a `# HOLE` comment at {describe_path(expr, free[0])}"
    if len(free) == 1:
        return Site(place, free[0], 3, where)
    unnamed = [r for r in rivals if not any(_names(t, r) for t in texts)]
    if len(free) == len(unnamed) and hole_id in unnamed:
        k = unnamed.index(hole_id)
        return Site(place, free[k], 3, f"{{const: 0}} with a `# HOLE` comment at {describe_path(expr, free[k])}: "
                                       f"comment {k + 1} of {len(free)}, matched to the holes of this "
                                       f"field in spec order")
    return Site(place, free[0], 3, f"{where} ({len(free)} such comments in this field: using the first)")


def _by_reference(ref: Kernel, hole_id: str, place: Place, expr: Expr, rivals: list[str]) -> Site:
    ref_action = ref.action(place.action)
    ref_expr = ref_action.field_expr(place.field) if ref_action is not None else None
    if ref_expr is None:
        return Site(place, None, 5, f"the reference kernel has no {place.action}.{place.field}: site unknown")
    diffs = placeholder_diffs(expr, ref_expr)
    if diffs is None:
        return Site(place, None, 5, "the reference's field differs from the holed field beyond its "
                                    "{const: 0} placeholders: site unknown")
    if not diffs:
        return Site(place, None, 5, "the reference's field equals the holed field: site unknown")
    if len(diffs) == 1:
        return Site(place, diffs[0], 4, f"the reference differs from the holed field only at the "
                                        f"{{const: 0}} at {describe_path(expr, diffs[0])}")
    if len(diffs) == len(rivals) and hole_id in rivals:
        k = rivals.index(hole_id)
        return Site(place, diffs[k], 4, f"the reference differs at {len(diffs)} {{const: 0}} placeholders, "
                                        f"matched to the holes of this field in spec order: this one is at "
                                        f"{describe_path(expr, diffs[k])}")
    return Site(place, None, 5, f"the reference differs from the holed field at {len(diffs)} {{const: 0}} "
                                f"placeholders: ambiguous, site unknown")


def placeholder_diffs(holed: Expr, ref: Expr, path: Path = ()) -> list[Path] | None:
    """Paths where `holed` has {const: 0} and `ref` something else, in pre-order.

    None when the trees differ anywhere else (so no placeholder explains the
    difference).
    """
    if holed == ref:
        return []
    if holed == PLACEHOLDER:
        return [path]
    same_head = (isinstance(holed, Op) and isinstance(ref, Op) and holed.op == ref.op) or \
        (isinstance(holed, Ite) and isinstance(ref, Ite))
    hk, rk = children(holed), children(ref)
    if not same_head or len(hk) != len(rk):
        return None
    out: list[Path] = []
    for i, (h, r) in enumerate(zip(hk, rk)):
        sub = placeholder_diffs(h, r, path + (i,))
        if sub is None:
            return None
        out.extend(sub)
    return out


def describe_path(expr: Expr, path: Path) -> str:
    """A readable position: `argument 2 of +`, `then of ite in argument 1 of +`."""
    if not path:
        return "the whole field"
    steps: list[str] = []
    node = expr
    for i in path:
        if isinstance(node, Ite):
            steps.append(f"{('cond', 'then', 'else')[i]} of ite")
        elif isinstance(node, Op):
            steps.append(f"argument {i + 1} of `{node.op}`")
        node = children(node)[i]
    return " in ".join(reversed(steps))
