"""A hint arriving while a long level is being enumerated is checked and repaired
inside the level; what hint work learns never changes that search's examples."""
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


def test_a_hint_refuted_inside_a_level_is_repaired_there_without_restarting_the_search() -> None:
    spec = load_spec(ROOT / "benchmarks" / "specs_hard" / "vault_shares_hole.yaml")
    stream = _LateStream([Hint(WRONG)], after_s=1.0)
    lines: list[str] = []
    hole = synthesize(spec, {"shares": stream}, SynthOptions(timeout_ms=20_000, minimize=False),
                      trace=lines.append).hole("shares")
    assert [(u.term, u.status) for u in hole.hints] == [(WRONG, "refuted")]
    # It fails an example the search already had: no verifier call for it.
    assert hole.hints[0].detail.startswith("fails one of the")
    assert hole.status == "solved" and hole.found_by == "hint repair" and hole.winning_hint == 0
    hint_at = next(i for i, line in enumerate(lines) if "hint #0" in line)
    # The search's level went on: it was not restarted by anything hint work learned.
    assert not any("restart with" in line for line in lines[hint_at:]), lines[hint_at:]
