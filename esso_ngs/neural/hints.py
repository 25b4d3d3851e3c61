"""Samples for a whole spec: prompt, sample and aggregate every hole.

This is the neural side only: per hole, the distinct sampled candidates with
frequency, log-probability and in-grammar status. Ranking, validation tiers and
the hints file are the pipeline's (esso_ngs.pipeline: one way to write hints).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..grammar import grammar_for_hole
from ..formats import Spec
from .backend import Backend, SampleSettings, StopCheck
from .cache import SampleCache
from .progress import Progress
from .prompt import build_prompt
from .sampling import HoleSamples, sample_hole


def hints_for_spec(spec: Spec, backend: Backend, settings: SampleSettings, *,
                   constrained: bool = True, mode: str | None = None,
                   cache: SampleCache | None = None, hole_ids: Sequence[str] | None = None,
                   counterexamples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                   examples: bool = True, on_event: Progress | None = None,
                   should_stop: StopCheck | None = None) -> list[HoleSamples]:
    """One HoleSamples per hole (all holes, or `hole_ids`), in spec order.

    `mode` defaults to "term" when decoding is constrained and "list" otherwise;
    replay defaults to "term", the mode recorded samples usually come from.
    `on_event` receives progress events (neural/progress.py) as the work goes;
    once `should_stop()` says yes, each hole returns what it has then (`stopped`;
    nothing for the holes not begun).
    """
    constrained = constrained and backend.supports_constraints
    mode = mode or ("term" if constrained or backend.name == "replay" else "list")
    out: list[HoleSamples] = []
    for hole in spec.synth.holes:
        if hole_ids is not None and hole.hole_id not in hole_ids:
            continue
        grammar = grammar_for_hole(spec, hole.hole_id)
        prompt = build_prompt(spec, hole.hole_id, mode=mode, examples=examples,
                              counterexamples=(counterexamples or {}).get(hole.hole_id, ()))
        out.append(sample_hole(backend, prompt, settings, grammar, constrained=constrained, cache=cache,
                               on_event=on_event, should_stop=should_stop))
    return out
