"""A hint refuted while a long level is being enumerated adds a counterexample: the
level's values (on the old examples) must not be checked against the new ones."""
from __future__ import annotations

import time
from typing import Sequence

from esso_ngs.formats import load_spec
from esso_ngs.synth import Hint, HintStream, SynthOptions, synthesize

from benchspecs import ROOT

WRONG = "(safe_div (* total_supply assets) total_assets)"  # refuted: total_supply 0


class _LateStream(HintStream):
    """Hands out its hints only to reads after `after_s`: on this hard spec the search is
    then inside a long level, where hints are taken every POLL_S."""

    def __init__(self, hints: Sequence[Hint], after_s: float) -> None:
        super().__init__()
        self._late = list(hints)
        self._at = time.perf_counter() + after_s

    def since(self, seen: int) -> list[Hint]:
        if self._late and time.perf_counter() >= self._at:
            self.put(self._late)
            self._late = []
        return super().since(seen)


def test_a_hint_refuted_inside_a_level_restarts_the_search_on_the_grown_examples() -> None:
    spec = load_spec(ROOT / "benchmarks" / "specs_hard" / "vault_shares_hole.yaml")
    stream = _LateStream([Hint(WRONG)], after_s=1.0)
    hole = synthesize(spec, {"shares": stream}, SynthOptions(timeout_ms=4000)).hole("shares")
    assert [(u.term, u.status) for u in hole.hints] == [(WRONG, "refuted")]
    assert hole.status in ("timeout", "solved") and hole.cegis_rounds >= 2
