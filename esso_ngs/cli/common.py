"""Small helpers several commands share (kept light: no solver or model imports)."""
from __future__ import annotations

from ..errors import UserError
from ..formats.model import Spec


def resolve_hole(spec: Spec, hole_id: str | None) -> str:
    """The hole `--hole` names, or the spec's only hole; a UserError that says how to choose."""
    known = ", ".join(h.hole_id for h in spec.synth.holes)
    if hole_id is None:
        if len(spec.synth.holes) != 1:
            raise UserError(f"{spec.synth.path}: the spec has several holes ({known}): pass --hole ID")
        return spec.synth.holes[0].hole_id
    if spec.synth.hole(hole_id) is None:
        raise UserError(f"{spec.synth.path}: no hole {hole_id!r} (holes: {known})")
    return hole_id

