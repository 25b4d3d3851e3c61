"""The stated intent in the pipeline: hints the spec itself states, ranked before any
other hint (the notes' formulas first, then the reference's terms at the hole's sites),
a warning (recorded in result.json) when an answer differs from the notes' formulas,
and `--intent notes`.

The parsing, the reading of the reference and the equivalence check live in
`verify/intent.py` and `verify/reference_hints.py`; this module only wires them into
hint intake (`synth`, and the hint host through the `first` hints it is given) and
the synthesis result. Benchmarks that measure the search or a model alone call
`synthesize` without this intake.
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..grammar import check_term, grammar_for_hole
from ..lang.sexpr import parse_term
from ..formats.model import Spec
from ..synth import Hint, SynthResult
from ..verify.intent import SOURCE as NOTES, intent_check, intent_hint_terms, with_intent
from ..verify.reference_hints import SOURCE as REFERENCE, reference_hint_terms

INTENT_MODES = ("warn", "notes")  # warn: hints + warnings; notes: also an obligation


def with_stated_hints(spec: Spec, hints: Mapping[str, Sequence[Hint]] | None) -> dict[str, Any]:
    """`hints` with each hole's stated hints ranked first: the notes' formulas that are
    terms of its grammar (source `notes`), then the reference's terms at its sites
    (source `reference`, `reference_hint_terms`). A term already among the hints moves
    up instead of appearing twice."""
    out: dict[str, Any] = dict(hints or {})
    for hole in spec.synth.holes:
        given = out.get(hole.hole_id, [])
        if not isinstance(given, (list, tuple)):  # hints still arriving: left as they come
            continue
        notes = intent_hint_terms(spec, hole.hole_id)
        g = grammar_for_hole(spec, hole.hole_id) if notes else None
        stated = [Hint(t, 1.0, NOTES) for t in notes if g is not None and check_term(g, t).ok] + \
            [Hint(t, 1.0, REFERENCE) for t in reference_hint_terms(spec, hole.hole_id)]
        first: list[Hint] = []
        for h in stated:  # a reference term the notes already state keeps the notes' rank
            if all(h.term != f.term for f in first):
                first.append(h)
        if first:
            terms = {h.term for h in first}
            out[hole.hole_id] = first + [h for h in given if h.term not in terms]
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
