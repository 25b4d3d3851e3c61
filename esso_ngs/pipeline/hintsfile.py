"""The hints file (`esso-llm-hints/v1`) from ranked candidates, and back to ranked hints.

Written only through the spec layer (`hints_to_json` binds the file to the
spec's `model_hash`/`synth_hash`, `write_hints` writes atomically), read only
through `load_hints`, which refuses a file made for other spec files. Per hole:
`term` is the best candidate, `rank` 0, `source` its `backend:model`; the extra
`candidates` field holds the whole ranked list with each candidate's frequency,
stage, model and what every validation tier said.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from ..grammar import CompiledGrammar, check_term, grammar_for_hole
from ..formats.jsonload import load_json
from ..formats import HintCandidate, HoleHints, Spec, hints_to_json, load_hints, write_hints
from ..verify.candidate import Candidate
from .aggregate import HoleRanking


def _tiers_summary(c: Candidate) -> dict[str, Any]:
    ch = c.checks
    out: dict[str, Any] = {}
    if ch.cheap is not None:
        out["cheap"] = ch.cheap.ok
    if ch.examples is not None:
        out["examples"] = {"passed": ch.examples.passed, "mismatch_rate": round(ch.examples.mismatch_rate, 6),
                           "inputs": ch.examples.inputs}
    if ch.full is not None:
        out["full"] = ch.full.status
    return out


def usable(c: Candidate, grammar: CompiledGrammar) -> bool:
    """Whether a candidate may stand in a hints file: a term of the hole's grammar (the
    cheap tier's verdict when it ran, else a membership check, microseconds). Readers
    (`ranked_hints`, ESSO) refuse a file with any other term."""
    if c.checks.cheap is not None:
        return c.checks.cheap.ok
    membership = c.checks.membership_in(grammar) or check_term(grammar, c.expr if c.expr is not None else c.term)
    return membership.ok


def hole_hints(ranking: HoleRanking, grammar: CompiledGrammar) -> HoleHints | None:
    """The v1 entry of one hole, or None when no candidate may stand as its term.

    Only terms of the hole's grammar go in the file: a reader such as ESSO takes
    them as answers. Off-grammar candidates stay in the
    run's results and records, and in-process hosts get them for guidance.
    """
    kept = [c for c in ranking.candidates if usable(c, grammar)]
    if not kept:
        return None
    total = max(1, sum(c.count for c in kept))
    cands = tuple(
        HintCandidate(c.term, round(c.count / total, 6), c.source,
                      {"rank": i, "count": c.count, "logprob": c.logprob, "stage": c.stage, "round": c.round,
                       "cost": c.checks.cheap.cost if c.checks.cheap is not None else None,
                       "tiers": _tiers_summary(c)})
        for i, c in enumerate(kept))
    best = kept[0]
    return HoleHints(ranking.hole_id, best.term, best.source, 0, cands)


def hints_data(spec: Spec, rankings: Mapping[str, HoleRanking],
               generator: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The v1 data for `spec`: holes in spec order, those without a usable candidate left out."""
    holes = [h for h in (hole_hints(rankings[x.hole_id], grammar_for_hole(spec, x.hole_id))
                         for x in spec.synth.holes if x.hole_id in rankings) if h is not None]
    return hints_to_json(spec, holes, {"generator": dict(generator or {"tool": "esso-ngs"})})


def write_ranked_hints(path: str | Path, spec: Spec, rankings: Mapping[str, HoleRanking],
                       generator: Mapping[str, Any] | None = None) -> Path:
    return write_hints(path, hints_data(spec, rankings, generator))


def ranked_hints(path: str | Path, spec: Spec) -> dict[str, list[Candidate]]:
    """Ranked candidates per hole from a hints file made for `spec` (refused otherwise):
    the file's ranked `candidates` when present, else its single `term`.

    Every term must be a term of its hole's grammar: a file whose terms do not parse,
    use names the hole cannot see or lie outside the grammar is refused (exit 2),
    never half-used. Each term is parsed here, once, and its grammar check recorded
    on its candidate record (the file's `HintCandidate` stays the on-disk shape only)."""
    hints_file = load_hints(path, spec)
    out: dict[str, list[Candidate]] = {}
    for hole in hints_file.holes:
        grammar = grammar_for_hole(spec, hole.hole_id)
        located = [(("holes", hole.hole_id, "term"), hole.term, Candidate(hole.term, 1.0, hole.source))] + \
            [(("holes", hole.hole_id, "candidates", i, "term"), c.term, Candidate(c.term, c.score, c.source))
             for i, c in enumerate(hole.candidates)]
        for field_path, term, cand in located:
            membership = check_term(grammar, cand.expr if cand.expr is not None else term)
            if not membership.ok:
                what = "not a term" if membership.syntax_error else f"not in the grammar of hole {hole.hole_id}"
                raise load_json(path).error(field_path, f"{term!r} is {what}: {membership.explanation}")
            cand.checks.membership, cand.checks.grammar = membership, grammar
        out[hole.hole_id] = [c for _, _, c in located[1:]] or [located[0][2]]
    return out


def hints_from_rankings(rankings: Mapping[str, HoleRanking]) -> dict[str, list[Candidate]]:
    """What the synthesizer takes, straight from the rankings: the ranked candidate
    records themselves (no file, no text in between), scored by frequency share."""
    out: dict[str, list[Candidate]] = {}
    for hole_id, r in rankings.items():
        total = max(1, sum(c.count for c in r.candidates))
        for c in r.candidates:
            c.score = c.count / total
        out[hole_id] = list(r.candidates)
    return out
