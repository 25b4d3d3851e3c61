"""The neural path's speed machinery: backend auto, OpenBLAS re-exec, the prefix KV cache, progress."""
from __future__ import annotations

import glob
import json
import subprocess
import sys
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.grammar import bounded_lark_text, grammar_for_hole
from esso_ngs.neural import auto, blas
from esso_ngs.neural.backend import SampleSettings, make_backend
from esso_ngs.neural.models import resolve_model
from esso_ngs.neural.progress import stream
from esso_ngs.neural.prompt import build_prompt
from esso_ngs.neural.sampling import sample_hole
from esso_ngs.formats import load_spec

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"
SETTINGS = SampleSettings(n=5, temperature=1.2, seed=11, max_tokens=40)


# ---------------------------------------------------------------- backend auto
def _fake_probe(speeds: dict[str, float], calls: list[str]):
    def probe(name: str, model_dir: Path, lib: Path | None) -> dict[str, float]:
        calls.append(name)
        return {"load_s": 0.1, "prompt_tok_s": speeds[name], "step_s": 0.05}
    return probe


def test_auto_measures_once_then_remembers(tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESSO_NGS_AUTO_BACKEND")
    monkeypatch.setattr(auto, "load_average", lambda: 0.5)
    monkeypatch.setattr(auto, "find_openblas", lambda: Path(sys.executable))  # any file stands in
    model = resolve_model(str(tiny_model_dir))
    calls: list[str] = []
    first = auto.choose_backend(model, probe=_fake_probe({"mlx": 300.0, "transformers": 100.0}, calls))
    assert first.backend == "mlx" and first.openblas == str(Path(sys.executable))
    assert sorted(calls) == ["mlx", "transformers"] and first.label() == "auto=mlx+openblas"
    saved = json.loads(auto.choices_path().read_text())
    assert [c["backend"] for c in saved["choices"].values()] == ["mlx"]

    def no_probe(*_: object) -> None:
        raise AssertionError("measured again")
    again = auto.choose_backend(model, probe=no_probe)
    assert again == first
    # another machine (here: no OpenBLAS) is another key: measured anew
    monkeypatch.setattr(auto, "find_openblas", lambda: None)
    other = auto.choose_backend(model, probe=no_probe)
    assert other.backend == "transformers" and other.reason == "the only fast backend installed"


def test_the_model_process_starts_with_what_mlx_needs_without_measuring(tiny_model_dir: Path,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    """`preload_for` (what synth's hint process is spawned with) never measures."""
    pytest.importorskip("mlx_lm")
    monkeypatch.delenv("ESSO_NGS_AUTO_BACKEND")
    monkeypatch.setattr(auto, "load_average", lambda: 0.5)
    lib = Path(sys.executable)  # any file stands in
    monkeypatch.setattr(auto, "find_openblas", lambda: lib)

    def no_probe(*_: object) -> None:
        raise AssertionError("measured")
    monkeypatch.setattr(auto, "probe_in_child", no_probe)
    model = str(tiny_model_dir)
    assert auto.preload_for("auto", model) == lib  # not measured yet: mlx may be the choice
    assert auto.preload_for("mlx", model) == lib and auto.preload_for("transformers", model) is None
    auto.choose_backend(resolve_model(model), probe=_fake_probe({"mlx": 100.0, "transformers": 300.0}, []))
    assert auto.preload_for("auto", model) is None  # transformers was measured faster: nothing to preload
    monkeypatch.setenv("ESSO_NGS_AUTO_BACKEND", "mlx")
    assert auto.preload_for("auto", model) == lib


def test_a_choice_measured_on_a_busy_machine_is_measured_again_when_it_is_quiet(
        tiny_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ESSO_NGS_AUTO_BACKEND")
    monkeypatch.setattr(auto, "find_openblas", lambda: Path(sys.executable))
    monkeypatch.setattr(auto.os, "cpu_count", lambda: 2)
    model = resolve_model(str(tiny_model_dir))
    calls: list[str] = []
    load = [4.0]
    monkeypatch.setattr(auto, "load_average", lambda: load[0])
    busy = auto.choose_backend(model, probe=_fake_probe({"mlx": 300.0, "transformers": 100.0}, calls))
    assert busy.backend == "mlx" and busy.load == 4.0 and len(calls) == 2
    load[0] = 3.0  # still busy: the remembered choice stands
    assert auto.choose_backend(model, probe=_fake_probe({"mlx": 100.0, "transformers": 300.0}, calls)) == busy
    assert len(calls) == 2
    load[0] = 0.8  # quiet now: measured again, and this measurement is kept
    quiet = auto.choose_backend(model, probe=_fake_probe({"mlx": 100.0, "transformers": 300.0}, calls))
    assert quiet.backend == "transformers" and quiet.load == 0.8 and len(calls) == 4
    load[0] = 0.1  # measured on a quiet machine: never again
    assert auto.choose_backend(model, probe=_fake_probe({"mlx": 300.0, "transformers": 100.0}, calls)) == quiet
    assert len(calls) == 4


def test_auto_choice_is_reported_in_verbose_output_and_records(tiny_model_dir: Path, tmp_path: Path,
                                                                capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("torch")
    monkeypatch.delenv("ESSO_NGS_AUTO_BACKEND")
    # In the environment, as the model's process (spawned: hint_process.py) settles auto too.
    monkeypatch.setenv("ESSO_NGS_OPENBLAS", sys.executable)
    monkeypatch.setattr(auto, "load_average", lambda: 0.5)  # measured on a quiet machine: never measured again
    calls: list[str] = []
    auto.choose_backend(resolve_model(str(tiny_model_dir)),
                        probe=_fake_probe({"mlx": 10.0, "transformers": 500.0}, calls))
    out = tmp_path / "out"
    # --wait-for-hints: the search would end (and stop generation) before the samples otherwise.
    rc = main(["synth", str(FEE), "--neural-hints", "--model", str(tiny_model_dir), "--samples", "2",
               "--max-tokens", "32", "--no-sample-cache", "--wait-for-hints", "-v", "--output", str(out)])
    err = capsys.readouterr().err
    assert rc in (0, 1)
    assert "backend auto: transformers" in err and "transformers 500 prompt tok/s" in err
    assert "sample 1 of 2:" in err and "sample 2 of 2:" in err  # progress lines
    records = [json.loads(line) for line in (out / "records.jsonl").read_text().splitlines()]
    hints = json.loads((out / "neural_hints.json").read_text())
    stages = [s for h in hints["holes"].values() for s in h["stages"]]
    assert stages and all(s["backend"] == "auto=transformers" for s in stages)
    assert all(r.get("source", "auto=transformers").startswith("auto=transformers") for r in records)


def test_the_real_probe_runs_in_a_child_process(tiny_model_dir: Path) -> None:
    result = auto.probe_in_child("mlx", tiny_model_dir, None)
    assert result is not None and result["prompt_tok_s"] > 0 and result["step_s"] > 0
    failed = auto.probe_in_child("mlx", tiny_model_dir / "missing", None)
    assert isinstance(failed, str) and "missing" in failed  # why, as the child said it


def test_a_failed_probe_is_reported_and_not_run_again_in_the_process(tiny_model_dir: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("transformers")  # two candidates: transformers first
    monkeypatch.delenv("ESSO_NGS_AUTO_BACKEND")
    monkeypatch.setattr(auto, "find_openblas", lambda: Path(sys.executable))
    monkeypatch.setattr(auto, "_SETTLED", {})
    calls: list[str] = []

    def failing(name: str, model_dir: Path, lib: Path | None) -> str:
        calls.append(name)
        return f"model {model_dir}: could not load it"
    said: list[str] = []
    model = resolve_model(str(tiny_model_dir))
    first = auto.choose_backend(model, probe=failing, log=said.append)
    assert first.reason == "the speed probes failed; not remembered" and not first.measured
    assert any(f"the mlx speed probe failed: model {tiny_model_dir}: could not load it" in m for m in said)
    assert auto.choose_backend(model, probe=failing) == first and len(calls) == 2  # once per candidate, once
    assert auto.preload_for("auto", str(tiny_model_dir)) is None  # settled to transformers: nothing to preload


# ---------------------------------------------------------------- OpenBLAS and the re-exec guard
def test_openblas_lookup_honours_the_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fake = tmp_path / "libopenblas.so.0"
    fake.write_bytes(b"")
    monkeypatch.setenv(blas.OVERRIDE_ENV, str(fake))
    assert blas.find_openblas() == (fake.resolve() if sys.platform.startswith("linux") else None)
    monkeypatch.setenv(blas.OVERRIDE_ENV, "none")
    assert blas.find_openblas() is None


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="LD_PRELOAD re-exec is for Linux")
def test_reexec_preloads_once_and_the_guard_stops_a_second(tmp_path: Path) -> None:
    libs = sorted(glob.glob("/lib/*/libm.so.6") + glob.glob("/usr/lib/*/libm.so.6") + glob.glob("/lib64/libm.so.6"))
    if not libs:
        pytest.skip("no libm.so.6 to preload")
    script = tmp_path / "child.py"
    script.write_text(
        "import os, sys\n"
        "from pathlib import Path\n"
        "from esso_ngs.neural.blas import GUARD_ENV, reexec_with_preload\n"
        "print('start', os.environ.get(GUARD_ENV), os.environ.get('LD_PRELOAD', ''), sys.argv[1:], flush=True)\n"
        f"reexec_with_preload(Path({libs[0]!r}))\n"
        f"reexec_with_preload(Path({libs[0]!r}))\n"
        "print('done', flush=True)\n")
    env = {k: v for k, v in __import__("os").environ.items() if k not in (blas.GUARD_ENV, "LD_PRELOAD")}
    proc = subprocess.run([sys.executable, str(script), "arg"], capture_output=True, text=True, env=env,
                          timeout=60, check=True)
    lines = proc.stdout.splitlines()
    assert lines == ["start None  ['arg']", f"start 1 {libs[0]} ['arg']", "done"], proc.stdout + proc.stderr


def test_prepare_process_never_reexecs_a_reexecuted_process(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    fake = tmp_path / "libopenblas.so.0"
    fake.write_bytes(b"")
    monkeypatch.setenv(blas.OVERRIDE_ENV, str(fake))
    monkeypatch.delenv("LD_PRELOAD", raising=False)
    execs: list[list[str]] = []
    monkeypatch.setattr(blas.os, "execve", lambda exe, argv, env: execs.append(argv))
    monkeypatch.setenv(blas.GUARD_ENV, "1")
    auto.prepare_process("mlx", "unused")
    assert execs == []
    monkeypatch.delenv(blas.GUARD_ENV)
    auto.prepare_process("mlx", "unused")
    assert len(execs) == 1  # (execve is stubbed here; the real one never returns)
    auto.prepare_process("transformers", "unused")  # explicit other backends never re-exec
    assert len(execs) == 1


# ---------------------------------------------------------------- prefix KV cache
@pytest.mark.parametrize("backend_name", ["mlx", "transformers"])
def test_prefix_cache_round_trips_with_the_same_samples(backend_name: str, tiny_model_dir: Path,
                                                         private_cache: Path) -> None:
    if backend_name == "transformers":
        pytest.importorskip("torch")
    spec = load_spec(FEE)
    lark = bounded_lark_text(grammar_for_hole(spec, "fee_expr"))
    prompt = build_prompt(spec, "fee_expr")  # system + few-shot head, then the task
    first = make_backend(backend_name, str(tiny_model_dir), batch_size=5)
    a = first.sample(prompt, SETTINGS, lark)
    assert first.stats.extra["prefix_from_disk"] is False
    files = list((private_cache / "prefix-kv").iterdir())
    assert len(files) == 1
    fresh = make_backend(backend_name, str(tiny_model_dir), batch_size=5)  # as a new process would
    b = fresh.sample(prompt, SETTINGS, lark)
    assert fresh.stats.extra["prefix_from_disk"] is True and fresh.stats.extra["prefill_reused_tokens"] > 20
    assert [(s.text, s.tokens, s.finish) for s in a] == [(s.text, s.tokens, s.finish) for s in b]
    assert [s.logprob for s in a] == pytest.approx([s.logprob for s in b], abs=1e-4)
    off = make_backend(backend_name, str(tiny_model_dir), batch_size=5, prefix_cache=False)
    c = off.sample(prompt, SETTINGS, lark)
    assert [s.text for s in c] == [s.text for s in a]
    # a torn file is a miss, recomputed and rewritten
    files[0].write_bytes(b"not a cache")
    again = make_backend(backend_name, str(tiny_model_dir), batch_size=5)
    assert [s.text for s in again.sample(prompt, SETTINGS, lark)] == [s.text for s in a]
    assert again.stats.extra["prefix_from_disk"] is False and files[0].stat().st_size > 100


# ---------------------------------------------------------------- progress
def test_progress_events_come_in_order_and_stream_from_a_thread(mlx_backend) -> None:
    spec = load_spec(FEE)
    g = grammar_for_hole(spec, "fee_expr")
    prompt = build_prompt(spec, "fee_expr")
    events = list(stream(lambda progress: sample_hole(mlx_backend, prompt, SETTINGS, g, on_event=progress)))
    kinds = [e.kind for e in events]
    assert kinds[-2:] == ["generated", "done"]
    body = [k for k in kinds if k not in ("load_start", "load")]
    assert body == ["prefill_start", "prefill"] + ["sample"] * SETTINGS.n + ["generated", "done"]
    samples = [e for e in events if e.kind == "sample"]
    assert sorted(e.data["index"] for e in samples) == list(range(SETTINGS.n))
    assert [e.data["done"] for e in samples] == list(range(1, SETTINGS.n + 1))  # "sample k of N"
    assert all(e.data["of"] == SETTINGS.n for e in samples)
    result = events[-1].data["result"]
    for e in samples:
        if e.data["term"] is not None:
            assert e.data["in_grammar"] is True and any(c.term == e.data["term"] for c in result.candidates)
        assert json.dumps(e.to_json())  # plain JSON for --json


# ---------------------------------------------------------------- packaged models on first use
def test_a_packaged_model_is_prepared_on_first_use(private_cache: Path, capsys) -> None:
    pytest.importorskip("mlx_lm")
    from esso_ngs.neural.prepare import resolve_or_prepare
    model = resolve_or_prepare("tiny-random")  # never prepared in this private cache
    assert model.alias == "tiny-random" and (private_cache / "models" / "tiny-random" / "config.json").is_file()
    assert "preparing model tiny-random on first use" in capsys.readouterr().err
    assert resolve_or_prepare("tiny-random").path == model.path  # once
    assert "preparing" not in capsys.readouterr().err
