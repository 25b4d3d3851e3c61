"""The stated intent in the pipeline: notes formulas first among the hints, a warning
(recorded in result.json) when an answer differs from them, and `--intent notes`.

The parsing and the equivalence check live in `verify/intent.py`; this module only
wires them into hint intake and the synthesis result.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..grammar import check_term, grammar_for_hole
from ..lang.sexpr import parse_term
from ..formats.model import Spec
from ..synth import Hint, SynthResult
from ..verify.intent import SOURCE, intent_check, intent_hint_terms, with_intent

INTENT_MODES = ("warn", "notes")  # warn: hints + warnings; notes: also an obligation


def with_notes_hints(spec: Spec, hints: Mapping[str, Sequence[Hint]] | None) -> dict[str, Any]:
    """`hints` with each hole's stated formulas that are terms of its grammar ranked
    first (source `notes`); a term already among the hints moves up instead of
    appearing twice."""
    out: dict[str, Any] = dict(hints or {})
    for hole in spec.synth.holes:
        given = out.get(hole.hole_id, [])
        if not isinstance(given, (list, tuple)):  # hints still arriving: left as they come
            continue
        terms = intent_hint_terms(spec, hole.hole_id)
        g = grammar_for_hole(spec, hole.hole_id) if terms else None
        stated = [Hint(t, 1.0, SOURCE) for t in terms if g is not None and check_term(g, t).ok]
        if stated:
            first = {h.term for h in stated}
            out[hole.hole_id] = stated + [h for h in given if h.term not in first]
    return out


def spec_for_intent(spec: Spec, mode: str) -> Spec:
    """`--intent notes`: the stated formulas become equivalence obligations."""
    return with_intent(spec) if mode == "notes" else spec


def record_intent(spec: Spec, result: SynthResult) -> None:
    """Warn (and record in the result) where a solved hole differs from its stated formula."""
    for hole in result.holes:
        if hole.status != "solved" or hole.term is None:
            continue
        found = intent_check(spec, hole.hole_id, parse_term(hole.term))
        if found is not None:
            result.warnings.append(f"{hole.hole_id}: {found['message']}")
            result.intent[hole.hole_id] = found
