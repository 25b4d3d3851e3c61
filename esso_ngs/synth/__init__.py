"""Synthesis: enumerative CEGIS with Z3, cost-minimizing, with ranked hints in-process."""
from __future__ import annotations

import time
from typing import Mapping, Sequence

from ..spec.model import Spec
from .cegis import SynthOptions, Trace, solve_hole
from .guidance import Hint
from .result import HintUse, HoleResult, SynthResult

__all__ = ["Hint", "HintUse", "HoleResult", "SynthOptions", "SynthResult", "synthesize"]


def synthesize(spec: Spec, hints: Mapping[str, Sequence[Hint]] | None = None,
               options: SynthOptions = SynthOptions(), trace: Trace | None = None) -> SynthResult:
    """Fill every hole of `spec`. `hints` maps hole ids to ranked hints (best first)."""
    start = time.perf_counter()
    results = [solve_hole(spec, hole.hole_id, (hints or {}).get(hole.hole_id, ()), options, trace)
               for hole in spec.synth.holes]
    return SynthResult(spec.name, results, time.perf_counter() - start)
