"""Stopping generation mid-hole: what comes back, and what the sample cache keeps."""
from __future__ import annotations

from pathlib import Path

from esso_ngs.grammar import grammar_for_hole
from esso_ngs.neural.backend import SampleSettings
from esso_ngs.neural.cache import SampleCache
from esso_ngs.neural.progress import Event
from esso_ngs.neural.prompt import build_prompt
from esso_ngs.neural.sampling import sample_hole
from esso_ngs.formats import load_spec

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"
# Rows of different lengths (seen with the tiny model): some finish while others still decode.
SETTINGS = SampleSettings(n=6, temperature=2.0, seed=0, max_tokens=48)


def test_a_stopped_hole_keeps_what_it_has_and_its_partial_set_is_never_served_as_complete(
        mlx_backend, tmp_path: Path) -> None:
    spec = load_spec(FEE)
    g = grammar_for_hole(spec, "fee_expr")
    prompt = build_prompt(spec, "fee_expr")
    cache = SampleCache(tmp_path / "samples")
    finished: list[Event] = []  # stop as soon as the first row is done: the others are mid-decoding
    stopped = sample_hole(mlx_backend, prompt, SETTINGS, g, cache=cache, on_event=finished.append,
                          should_stop=lambda: any(e.kind == "sample" for e in finished))
    assert stopped.stopped and 1 <= stopped.n_samples < SETTINGS.n
    assert stopped.cache_key and cache.get(stopped.cache_key) is None  # nothing cached under the full key

    full = sample_hole(mlx_backend, prompt, SETTINGS, g, cache=cache)  # same key: generated again, in full
    assert full.cache_key == stopped.cache_key
    assert not full.from_cache and not full.stopped and full.n_samples == SETTINGS.n
    again = sample_hole(mlx_backend, prompt, SETTINGS, g, cache=cache)
    assert again.from_cache and again.n_samples == SETTINGS.n
    # The finished samples of the stopped run are the same samples the full run made (own seed per row).
    assert {c.term for c in stopped.candidates} <= {c.term for c in full.candidates}


def test_a_stop_before_the_prompt_loads_nothing_more_and_returns_no_sample(mlx_backend, tmp_path: Path) -> None:
    spec = load_spec(FEE)
    prompt = build_prompt(spec, "fee_expr")
    out = sample_hole(mlx_backend, prompt, SETTINGS, grammar_for_hole(spec, "fee_expr"),
                      cache=SampleCache(tmp_path / "samples"), should_stop=lambda: True)
    assert out.stopped and out.n_samples == 0 and out.candidates == []
