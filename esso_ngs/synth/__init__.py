"""Synthesis: enumerative CEGIS with Z3, cost-minimizing, with ranked hints in-process.

Holes are solved one at a time in spec order; each sees the terms already chosen
for the earlier holes, so obligations that two holes share (a field holding both,
an invariant over both updates) are checked as soon as both are known. A final
joint verification checks every obligation with all terms in place: a hole whose
shared obligations fail there is reported `unknown`, never solved.
"""
from __future__ import annotations

import time
from typing import Mapping, Sequence

from ..lang.sexpr import parse_term
from ..spec.model import Spec
from ..verify import verify_terms
from .cegis import SynthOptions, Trace, solve_hole
from .guidance import Hint
from .result import HintUse, HoleResult, SynthResult

__all__ = ["Hint", "HintUse", "HoleResult", "SynthOptions", "SynthResult", "synthesize"]


def synthesize(spec: Spec, hints: Mapping[str, Sequence[Hint]] | None = None,
               options: SynthOptions = SynthOptions(), trace: Trace | None = None) -> SynthResult:
    """Fill every hole of `spec`. `hints` maps hole ids to ranked hints (best first)."""
    start = time.perf_counter()
    results: list[HoleResult] = []
    chosen: dict = {}
    for hole in spec.synth.holes:
        result = solve_hole(spec, hole.hole_id, (hints or {}).get(hole.hole_id, ()), options, trace, chosen)
        results.append(result)
        if result.status == "solved" and result.term is not None:
            chosen[hole.hole_id] = parse_term(result.term)
    if len(chosen) > 1:
        joint = verify_terms(spec, chosen, options.verify)
        if joint.status != "verified":
            for r in results:
                if r.status == "solved":
                    r.status = "unknown"
                    r.minimal = False
                    r.reason = f"the holes' terms together are {joint.status}: {joint.describe()}"
    return SynthResult(spec.name, results, time.perf_counter() - start)
