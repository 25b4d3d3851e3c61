"""Hints generated in the background (`synth --neural-hints`): each sample reaches the
hole's stream as it completes, and a cancelled stream stops the decoding within a step."""
from __future__ import annotations

import threading
from pathlib import Path
from typing import Any, Callable

import pytest

from esso_ngs.neural import mlx_backend
from esso_ngs.neural.progress import Event
from esso_ngs.pipeline.extension import NeuralHintsExtension
from esso_ngs.pipeline.host import BackgroundHints, hints_in_background
from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan
from esso_ngs.formats import load_spec
from esso_ngs.synth import Hint

from .helpers import INTENDED, spec_file

# A hole where the tiny model's rows (seed 0, temperature 1) take 4 to 16 tokens: 12 steps.
SPEC, HOLE = "cp_swap", "amount_out_expr"


def _extension(model_dir: Path, rounds: int) -> NeuralHintsExtension:
    ext = NeuralHintsExtension()
    choice = ModelChoice("mlx", str(model_dir), samples=6, temperature=1.0, seed=0, max_tokens=48)
    ext.configure_plan(ModelPlan(choice), GenerateOptions(cache=None), rounds=rounds)  # every run decodes
    return ext


def _run(model_dir: Path, monkeypatch: pytest.MonkeyPatch, rounds: int = 1,
         at_step: Callable[[int, BackgroundHints], None] | None = None,
         first: list[Hint] | None = None) -> tuple[BackgroundHints, list[dict[str, Any]]]:
    """Generate in the background; each decoding step (a forward call) is counted and
    sees the stream as it is at that moment."""
    steps: list[dict[str, Any]] = []
    holder: list[BackgroundHints] = []
    started = threading.Event()
    forward = mlx_backend._MLXStepper.forward

    def counted(self: Any, tokens: Any) -> Any:
        started.wait()  # the thread may step before hints_in_background returned
        stream = holder[0].streams[HOLE]
        steps.append({"hints": len(stream.since(0)), "closed": stream.closed})
        if at_step is not None:
            at_step(len(steps), holder[0])
        return forward(self, tokens)

    monkeypatch.setattr(mlx_backend._MLXStepper, "forward", counted)
    spec = load_spec(spec_file(SPEC))
    background = hints_in_background(_extension(model_dir, rounds), spec, rounds,
                                     first={HOLE: first} if first else None, head_start_s=0.0)
    holder.append(background)
    started.set()
    background.thread.join(timeout=300)
    assert not background.thread.is_alive() and not background.error
    return background, steps


def test_each_sample_reaches_the_stream_before_the_hole_is_done_in_a_reproducible_order(
        tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    stated = [Hint(INTENDED[SPEC][HOLE], source="notes")]
    background, steps = _run(tiny_model_dir, monkeypatch, first=stated)
    # While the model still decoded, sampled terms were already on the stream (after the stated one).
    assert any(s["hints"] > 1 and not s["closed"] for s in steps)
    streamed = [h.term for h in background.streams[HOLE].since(0)]
    assert streamed[0] == stated[0].term and len(streamed) == len(set(streamed))  # stated first, no repeats
    ranking = background.host.rankings[HOLE]
    assert not ranking.stopped and {c.term for c in ranking.candidates} <= set(streamed)
    sampled = background.streams[HOLE].since(1)
    assert sampled and all(h.checks.cheap is not None for h in sampled)  # the cheap tier, recorded
    again, _ = _run(tiny_model_dir, monkeypatch, first=stated)
    assert [h.term for h in again.streams[HOLE].since(0)] == streamed  # same seed, same order


def test_a_cancelled_stream_stops_the_decoding_within_a_step(tiny_model_dir: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    _, full = _run(tiny_model_dir, monkeypatch, rounds=2)
    cancel_at = 2
    assert len(full) > cancel_at + 2  # the whole hole takes many more steps than that

    def cancel(step: int, background: BackgroundHints) -> None:
        if step == cancel_at:
            background.streams[HOLE].cancel()  # what the synthesizer does once the hole is solved

    background, steps = _run(tiny_model_dir, monkeypatch, rounds=2, at_step=cancel)
    assert len(steps) <= cancel_at + 1
    ranking = background.host.rankings[HOLE]
    assert ranking.stopped and background.host.rounds[HOLE] == 1  # no further round after a stop
    assert sum(s.samples for s in ranking.stages) < 6


def test_a_search_done_within_its_head_start_never_touches_the_model(tiny_model_dir: Path) -> None:
    ext = _extension(tiny_model_dir, rounds=2)
    events: list[Event] = []
    ext.options.progress = events.append
    background = hints_in_background(ext, load_spec(spec_file(SPEC)), 2, head_start_s=60.0)
    for stream in background.streams.values():
        stream.cancel()  # the search is done at once
    background.stop()
    assert events == [] and background.host.rankings == {} and not background.error
