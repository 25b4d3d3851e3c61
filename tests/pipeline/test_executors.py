"""Executors: the driver writes the same run directory whoever runs the specs; failed attempts
are retried once, then recorded (never lost, never duplicated)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.pipeline import executor as executor_mod
from esso_ngs.pipeline.records import read_records

from .batch_helpers import batch_argv, kill_when_busy, replay_for, run_dir_contents, spec_folder

TWO = ("credit_single", "fee_bps")


def test_two_worker_processes_write_what_one_process_writes(tmp_path: Path, capsys) -> None:
    specs, replay = spec_folder(tmp_path, TWO), replay_for(tmp_path, TWO)
    assert main(batch_argv(specs, replay, tmp_path / "one")) == 0
    assert main([*batch_argv(specs, replay, tmp_path / "two"), "--workers", "2"]) == 0
    assert "2 specs done (2 now, 0 earlier)" in capsys.readouterr().out
    one, two = run_dir_contents(tmp_path / "one"), run_dir_contents(tmp_path / "two")
    assert one == two
    assert sorted(one) == ["credit_single.hints.json", "credit_single.result.json", "fee_bps.hints.json",
                           "fee_bps.result.json", "records.jsonl", "run.json", "summary.json"]
    assert all(one[f"{p}.result.json"]["status"] == "done" for p in TWO)


def test_a_crashing_task_is_retried_once_then_recorded_as_failed(tmp_path: Path, monkeypatch, capsys) -> None:
    specs, replay = spec_folder(tmp_path, TWO), replay_for(tmp_path, TWO)
    real = executor_mod.compute_spec
    calls: list[str] = []

    def flaky(path: Path, run_id: str, settings):  # fee_bps crashes once, credit_single always
        calls.append(path.name)
        if path.name.startswith("credit_single") or calls.count(path.name) == 1:
            raise RuntimeError(f"worker trouble on {path.name}")
        return real(path, run_id, settings)

    monkeypatch.setattr(executor_mod, "compute_spec", flaky)
    run = tmp_path / "run"
    assert main(batch_argv(specs, replay, run)) == 1
    captured = capsys.readouterr()
    assert "1 spec done (2 now, 0 earlier), 1 error" in captured.out
    assert "attempt failed, retrying" in captured.err
    assert sorted(calls) == ["credit_single_hole.yaml"] * 2 + ["fee_bps_hole.yaml"] * 2
    failed = json.loads((run / "credit_single.result.json").read_text())
    assert failed["status"] == "error" and failed["attempts"] == 2
    assert failed["error"].startswith("failed 2 times: RuntimeError: worker trouble on credit_single_hole.yaml")
    assert not (run / "credit_single.hints.json").exists()
    assert json.loads((run / "fee_bps.result.json").read_text())["status"] == "done"
    solutions = [r for r in read_records(run / "records.jsonl") if r["kind"] == "solution"]
    assert [(r["spec"], r["hole_id"]) for r in solutions] == [("fee_bps", "fee_expr")]  # once, not twice
    summary = json.loads((run / "summary.json").read_text())
    assert summary["totals"] == {**summary["totals"], "specs": 2, "done": 1, "errors": 1}
    # recorded means finished: a rerun skips both
    monkeypatch.setattr(executor_mod, "compute_spec", real)
    assert main(batch_argv(specs, replay, run)) == 1
    assert "(0 now, 2 earlier)" in capsys.readouterr().out


def test_executor_options_are_checked_before_anything_is_written(tmp_path: Path, capsys) -> None:
    specs, replay = spec_folder(tmp_path, TWO), replay_for(tmp_path, TWO)
    run = tmp_path / "run"
    for extra, message in ((["--workers", "0"], "--workers must be >= 1"),
                           (["--ray-address", "auto"], "--ray-address is only used with --executor ray")):
        assert main([*batch_argv(specs, replay, run), *extra]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1
        assert not run.exists()


def test_local_batch_never_imports_ray(tmp_path: Path) -> None:
    specs, replay = spec_folder(tmp_path, ("fee_bps",)), replay_for(tmp_path, ("fee_bps",))
    argv = batch_argv(specs, replay, tmp_path / "run")
    code = ("import sys; from esso_ngs.cli.main import main; "
            f"rc = main({argv!r}); print(rc, 'ray' in sys.modules)")
    env = {**os.environ, "ESSO_NGS_CACHE": str(tmp_path / "cache")}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env).stdout
    assert out.strip().splitlines()[-1] == "0 False"


def test_missing_ray_is_one_line_and_writes_nothing(tmp_path: Path, monkeypatch, capsys) -> None:
    specs, replay = spec_folder(tmp_path, ("fee_bps",)), replay_for(tmp_path, ("fee_bps",))
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    run = tmp_path / "run"
    assert main([*batch_argv(specs, replay, run), "--executor", "ray"]) == 2
    err = capsys.readouterr().err
    assert "pip install 'esso-ngs[ray]'" in err and len(err.strip().splitlines()) == 1
    assert not run.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds the workers through /proc")
def test_a_local_worker_process_killed_mid_task_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    from esso_ngs.pipeline.batch import BatchSettings, default_run_id, run_batch
    from esso_ngs.pipeline.executor import LocalExecutor
    from esso_ngs.verify.tiers import ValidationSettings
    from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan
    from esso_ngs.formats import discover_specs

    from .batch_helpers import FOUR_SPECS
    from .helpers import INTENDED

    specs, replay = spec_folder(tmp_path), replay_for(tmp_path)
    settings = BatchSettings(ModelPlan(ModelChoice("replay", str(replay))),
                             GenerateOptions(ValidationSettings(tier="examples", example_inputs=2000)))
    events: list[tuple[str, str]] = []
    stop, killed = threading.Event(), []

    def pool_worker(ppid: int, cmdline: bytes) -> bool:
        return ppid == os.getpid() and b"spawn_main" in cmdline  # not the resource tracker

    # A lost worker breaks the whole pool: every task in flight fails and runs again on a new one.
    thread = threading.Thread(target=kill_when_busy, args=(pool_worker, stop, killed), daemon=True)
    thread.start()
    run = tmp_path / "run"
    try:
        out = run_batch(discover_specs(specs), specs, run, default_run_id(specs, settings), settings,
                        lambda event, name, i, n: events.append((event, name)), LocalExecutor(workers=2))
    finally:
        stop.set()
        thread.join()
    assert len(killed) == 1
    assert [event for event, name in events].count("retry") >= 1
    assert sorted(out.ran) == sorted(FOUR_SPECS) and out.summary["totals"]["done"] == 4
    solutions = [(r["spec"], r["hole_id"]) for r in read_records(run / "records.jsonl") if r["kind"] == "solution"]
    assert sorted(solutions) == sorted((p, h) for p in FOUR_SPECS for h in INTENDED[p])  # each exactly once
