"""The search keeps its banks out of the cyclic collector's walks (cegis._banks_out_of_gc)
and leaves the collector as it found it."""
from __future__ import annotations

import gc
from pathlib import Path

import pytest

from esso_ngs.formats import load_spec
from esso_ngs.synth import SynthOptions, synthesize

HARD = Path(__file__).resolve().parents[2] / "benchmarks" / "specs_hard"


@pytest.fixture
def collector_state():
    was = gc.isenabled()
    yield
    gc.unfreeze()
    gc.enable() if was else gc.disable()


@pytest.mark.parametrize("enabled", [True, False])
def test_the_collector_is_left_as_it_was(collector_state, enabled: bool) -> None:
    gc.enable() if enabled else gc.disable()
    result = synthesize(load_spec(HARD / "utilization_hole.yaml"), None, SynthOptions(timeout_ms=30_000))
    assert result.solved
    assert gc.isenabled() is enabled and gc.get_freeze_count() == 0  # nothing left frozen


def test_a_finished_search_is_freed_without_the_collector(collector_state) -> None:
    """The enumerator and its stop check referred to each other, so its banks (44,000
    terms here) waited for a full collection once dropped: 31,880 objects."""
    gc.collect()
    gc.disable()
    assert synthesize(load_spec(HARD / "utilization_hole.yaml"), None, SynthOptions(timeout_ms=30_000)).solved
    assert gc.collect() < 2_000  # a few hundred: Z3's and the verifier's own
