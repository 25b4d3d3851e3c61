"""The compiled grammar of one hole of a loaded spec, with the hole's variables."""
from __future__ import annotations

from ..errors import UserError
from ..formats.model import BoolType, Spec
from .compile import CompiledGrammar, compile_grammar


def hole_variables(spec: Spec, hole_id: str) -> dict[str, str]:
    """Names a term of the hole may use, with their sorts: the state vars and the
    params of every action the hole is used in, and the kernel's enum symbols
    (Bool for kernel bools, else Int; enums are Int, being compared by index)."""
    out: dict[str, str] = {}
    # Enum symbols are atoms a term may write too (`(= dir XForY)`); compared by index.
    for symbol in spec.kernel.enum_index():
        out[symbol] = "Int"
    for v in spec.kernel.state_vars:
        out[v.id] = "Bool" if isinstance(v.type, BoolType) else "Int"
    for place in spec.hole(hole_id).used_in:
        action = spec.kernel.action(place.action)
        if action is None:
            continue
        for p in action.params:
            out[p.id] = "Bool" if isinstance(p.type, BoolType) else "Int"
    return out


def grammar_for_hole(spec: Spec, hole_id: str | None = None) -> CompiledGrammar:
    """Compile (memoized) the grammar of a hole, with the spec's style profile and
    the hole's variables. Raises UserError when the hole or grammar is missing."""
    try:
        hole = spec.hole(hole_id)
    except KeyError as err:
        raise UserError(f"{spec.synth.path}: holes: {err.args[0]}") from None
    gspec = spec.synth.grammar(hole.grammar_id)
    if gspec is None:
        raise UserError(f"{spec.synth.path}: hole {hole.hole_id}: no grammar {hole.grammar_id!r}")
    return compile_grammar(gspec, spec.synth.style, hole_variables(spec, hole.hole_id))
