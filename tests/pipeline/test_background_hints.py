"""Hints generated in the background (`synth --neural-hints`): each sample reaches the
hole's stream as it completes, and a cancelled stream stops the decoding within a step."""
from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

import pytest

from esso_ngs.errors import UserError
from esso_ngs.neural import auto, mlx_backend
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

    def counted(self: Any, tokens: Any, columns: Any) -> Any:
        started.wait()  # the thread may step before hints_in_background returned
        stream = holder[0].streams[HOLE]
        steps.append({"hints": len(stream.since(0)), "closed": stream.closed})
        if at_step is not None:
            at_step(len(steps), holder[0])
        return forward(self, tokens, columns)

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


# ---------------------------------------------------------------- the model in its own process
def _in_child(model_dir: Path, rounds: int = 1, model: str | None = None,
              head_start_s: float = 0.0, backend: str = "mlx") -> tuple[BackgroundHints, list[Event]]:
    ext = _extension(model_dir, rounds)
    if model is not None or backend != "mlx":
        ext.plan = ModelPlan(ModelChoice(backend, model or str(model_dir), samples=6, temperature=1.0, seed=0,
                                         max_tokens=48))
    events: list[Event] = []
    ext.options.progress = events.append
    background = hints_in_background(ext, load_spec(spec_file(SPEC)), rounds, head_start_s=head_start_s,
                                     own_process=True)
    return background, events


def test_a_child_process_streams_the_same_samples_as_the_thread(tiny_model_dir: Path,
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    in_thread, _ = _run(tiny_model_dir, monkeypatch)
    monkeypatch.undo()
    background, events = _in_child(tiny_model_dir)
    background.thread.join(timeout=300)
    assert not background.thread.is_alive() and not background.error
    streamed = [h.term for h in background.streams[HOLE].since(0)]
    # Same seed, same model: the child's terms, in the same order, as the thread's.
    assert streamed == [h.term for h in in_thread.streams[HOLE].since(0)]
    assert all(h.checks.cheap is not None for h in background.streams[HOLE].since(0))
    assert background.streams[HOLE].closed
    ranking = background.host.rankings[HOLE]
    assert [c.term for c in ranking.candidates] == [c.term for c in in_thread.host.rankings[HOLE].candidates]
    assert background.host.rounds[HOLE] == 1 and background.host.stage is not None
    kinds = [e.kind for e in events]  # the child's progress reached the parent's callback, in order
    assert kinds[0] == "start"  # the generator says it began before choosing its backend and loading
    assert kinds.index("load") < kinds.index("prefill") < kinds.index("sample") < kinds.index("generated")
    assert multiprocessing.active_children() == []  # the child is gone, not left behind


def test_stopping_ends_the_child_and_keeps_what_it_sent(tiny_model_dir: Path) -> None:
    background, events = _in_child(tiny_model_dir, rounds=2)
    deadline = time.monotonic() + 300
    while not any(e.kind == "sample" for e in events) and time.monotonic() < deadline:
        time.sleep(0.01)  # the search runs until the first sample is in
    background.stop()
    assert not background.thread.is_alive() and not background.error
    assert background.streams[HOLE].since(0)  # the samples sent before the stop stay on the stream
    assert multiprocessing.active_children() == []


def test_a_search_done_within_its_head_start_never_starts_the_model_in_the_child(tiny_model_dir: Path) -> None:
    background, events = _in_child(tiny_model_dir, head_start_s=60.0)
    for stream in background.streams.values():
        stream.cancel()
    background.stop()
    assert events == [] and background.host.stage is None and not background.error
    assert multiprocessing.active_children() == []


def test_bad_input_found_by_the_child_comes_back_as_bad_input(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    # Valid when the parent checks it, gone when the child loads it (after its head start).
    background, _ = _in_child(tiny_model_dir, model=str(copy), head_start_s=1.0)
    shutil.rmtree(copy)
    background.thread.join(timeout=300)
    assert len(background.error) == 1 and isinstance(background.error[0], UserError)
    assert str(copy) in str(background.error[0])
    assert background.streams[HOLE].closed and background.streams[HOLE].since(0) == []


def test_a_child_killed_mid_run_is_an_error_and_the_streams_close(tiny_model_dir: Path) -> None:
    background, _ = _in_child(tiny_model_dir, head_start_s=60.0)
    [child] = multiprocessing.active_children()
    os.kill(child.pid, signal.SIGKILL)  # the OOM killer, or a user's kill
    background.thread.join(timeout=60)
    assert not background.thread.is_alive()
    assert len(background.error) == 1 and "ended unexpectedly" in str(background.error[0])
    assert all(s.closed for s in background.streams.values())
    assert multiprocessing.active_children() == []


def test_auto_is_settled_in_the_child_never_in_the_parent(tiny_model_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Measuring the backends takes seconds (20 s for a model that fails to load): in the
    parent it came out of the search's budget, before the search started."""
    def measured_here(*_: Any, **__: Any) -> Any:
        raise AssertionError("the parent settled --backend auto")
    monkeypatch.setattr(auto, "choose_backend", measured_here)
    monkeypatch.setattr(auto, "probe_in_child", measured_here)
    background, events = _in_child(tiny_model_dir, backend="auto")  # the child: auto is mlx ($ESSO_NGS_AUTO_BACKEND)
    background.thread.join(timeout=300)
    assert not background.thread.is_alive() and not background.error
    assert background.streams[HOLE].since(0)
    said = [e.data["message"] for e in events if e.kind == "backend"]
    assert said == ["backend auto: mlx" + (f" with OpenBLAS ({auto.find_openblas()})" if auto.find_openblas() else "")
                    + " (set by $ESSO_NGS_AUTO_BACKEND)"]
    kinds = [e.kind for e in events]
    assert kinds.index("start") < kinds.index("backend") < kinds.index("load")
    assert multiprocessing.active_children() == []


def test_the_child_starts_with_the_library_it_is_given_preloaded(tmp_path: Path) -> None:
    from esso_ngs.pipeline import hint_process
    before = dict(os.environ)
    lib = tmp_path / "libopenblas.so.0"
    with hint_process._environment({"LD_PRELOAD": str(lib)}):
        assert os.environ["LD_PRELOAD"] == str(lib)
    assert dict(os.environ) == before  # the parent's own environment is left as it was
