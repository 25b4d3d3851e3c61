"""Rule templates: one parsed production of a spec grammar.

A rule is written in the spec as an S-expression template such as
`(safe_div Term Const)`. Parsed with `lang.sexpr.parse_term`, every atom that names
a nonterminal becomes a `Var` leaf; we keep that Expr as the template (so other
layers see the one expression tree) and list those leaves as *slots*:
(path in the template, nonterminal). Filling the slots with terms derived from
their nonterminals gives a term of the rule's nonterminal.

For speed the matcher and the counter use a tuple form of the template (`Tpl`):
`("S", nt)` for a slot, `("N", head, children)` for any other node, where `head`
(see `head_key`) identifies a node up to its children.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

from ..lang.expr import BoolLit, Const, EnumLit, Expr, Hole, Ite, Op, Path, Var, children, replace_at
from ..lang.sexpr import to_sexpr

# A head identifies a node without its children: two nodes with the same head and
# equal children are equal terms. Atoms carry a type tag so that Const(1) and
# BoolLit(True) (equal as Python values) never collide.
Head = tuple[object, ...]
Tpl = Union[tuple[str, str], tuple[str, Head, tuple["Tpl", ...]]]


def head_key(e: Expr) -> Head:
    if isinstance(e, Op):
        return (e.op, len(e.args))
    if isinstance(e, Ite):
        return ("ite", 3)
    if isinstance(e, Var):
        return ("$var", e.name)
    if isinstance(e, Const):
        return ("$int", e.value)
    if isinstance(e, BoolLit):
        return ("$bool", e.value)
    if isinstance(e, EnumLit):
        return ("$enum", e.symbol)
    if isinstance(e, Hole):
        return ("$hole", e.hole_id)
    raise TypeError(f"not an expression: {e!r}")


def head_arity(head: Head) -> int:
    """Number of children of a node with this head (0 for atoms)."""
    return 0 if str(head[0]).startswith("$") else int(head[1])  # type: ignore[call-overload]


def head_text(head: Head) -> str:
    """How a head reads in messages: the operator, or the atom itself."""
    tag = str(head[0])
    if tag == "$bool":
        return "true" if head[1] else "false"
    if tag.startswith("$"):
        return str(head[1])
    return tag


@dataclass(frozen=True)
class Rule:
    """One production `nonterminal -> template`.

    `slots` lists, in pre-order, the template's Var leaves that name nonterminals:
    (path into the template, nonterminal). A *unit* rule (`Expr -> Term`) is a
    template that is a single slot at the root.
    """

    nonterminal: str
    index: int  # position among the nonterminal's rules in the spec (0-based)
    text: str  # canonical text of the template, e.g. "(safe_div Term Const)"
    template: Expr
    slots: tuple[tuple[Path, str], ...]
    tpl: Tpl = field(compare=False, repr=False)
    # Template nodes that are not slots: what the rule itself adds to a term's size.
    own_nodes: int = 0
    # ite nodes of the template, and ite nodes above each slot (same order as slots).
    own_ites: int = 0
    slot_ites_above: tuple[int, ...] = ()
    own_ite_depth: int = 0  # ite nesting of the template with slots counted as 0

    @property
    def is_unit(self) -> bool:
        return len(self.slots) == 1 and self.slots[0][0] == ()

    @property
    def label(self) -> str:
        return f"{self.nonterminal} -> {self.text}"

    def instantiate(self, fillers: tuple[Expr, ...] | list[Expr]) -> Expr:
        """The template with its slots, in slot order, replaced by `fillers` (for
        enumerators that build terms rule by rule)."""
        if len(fillers) != len(self.slots):
            raise ValueError(f"rule `{self.text}` has {len(self.slots)} slots, got {len(fillers)} terms")
        e = self.template
        for (path, _), sub in zip(self.slots, fillers):  # slots are disjoint leaves
            e = replace_at(e, path, sub)
        return e


def make_rule(nonterminal: str, index: int, template: Expr, nonterminals: frozenset[str]) -> Rule:
    slots: list[tuple[Path, str]] = []
    ites_above: list[int] = []
    counts = {"nodes": 0, "ites": 0}

    def build(e: Expr, path: Path, ites: int) -> tuple[Tpl, int]:
        """Tuple form of `e`; also returns its ite depth with slots counted as 0."""
        if isinstance(e, Var) and e.name in nonterminals:
            slots.append((path, e.name))
            ites_above.append(ites)
            return ("S", e.name), 0
        counts["nodes"] += 1
        is_ite = isinstance(e, Ite)
        counts["ites"] += int(is_ite)
        kids = []
        depth = 0
        for i, k in enumerate(children(e)):
            t, d = build(k, path + (i,), ites + int(is_ite))
            kids.append(t)
            depth = max(depth, d)
        return ("N", head_key(e), tuple(kids)), depth + int(is_ite)

    tpl, depth = build(template, (), 0)
    return Rule(
        nonterminal=nonterminal,
        index=index,
        text=to_sexpr(template),
        template=template,
        slots=tuple(slots),
        tpl=tpl,
        own_nodes=counts["nodes"],
        own_ites=counts["ites"],
        slot_ites_above=tuple(ites_above),
        own_ite_depth=depth,
    )


def tpl_height(tpl: Tpl, slot_height: dict[str, int]) -> int:
    """Height (levels of nodes) of a template whose slots have the given heights."""
    if tpl[0] == "S":
        return slot_height[tpl[1]]  # type: ignore[index]
    kids = tpl[2]  # type: ignore[misc]
    return 1 + max((tpl_height(k, slot_height) for k in kids), default=0)  # type: ignore[arg-type]
