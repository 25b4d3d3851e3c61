"""`batch --executor ray` on a local Ray instance (one for the module: Ray takes seconds to start).

The run directory equals the local executor's; a worker killed mid-task is
retried, and nothing is lost or written twice."""
from __future__ import annotations

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import Any, Iterator

import pytest

ray = pytest.importorskip("ray", reason="the Ray executor needs ray (pip install 'esso-ngs[ray]')")

from esso_ngs.cli.main import main  # noqa: E402
from esso_ngs.pipeline.batch import BatchSettings, default_run_id, run_batch  # noqa: E402
from esso_ngs.pipeline.ray_executor import RayExecutor  # noqa: E402
from esso_ngs.pipeline.records import read_records  # noqa: E402
from esso_ngs.verify.tiers import ValidationSettings  # noqa: E402
from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan  # noqa: E402
from esso_ngs.formats import discover_specs  # noqa: E402

from .batch_helpers import FOUR_SPECS, batch_argv, kill_when_busy, replay_for, run_dir_contents, spec_folder  # noqa: E402,E501
from .helpers import INTENDED  # noqa: E402


@pytest.fixture(scope="module")
def local_ray() -> Iterator[Any]:
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, object_store_memory=100 * 2 ** 20)
    try:
        yield ray
    finally:
        ray.shutdown()


@pytest.fixture(scope="module")
def four_specs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("ray-specs")
    return spec_folder(root), replay_for(root)


def test_ray_run_directory_equals_the_local_one(local_ray: Any, four_specs: tuple[Path, Path], tmp_path: Path,
                                                capsys) -> None:
    specs, replay = four_specs
    assert main(batch_argv(specs, replay, tmp_path / "local")) == 0
    assert main([*batch_argv(specs, replay, tmp_path / "ray"), "--executor", "ray"]) == 0
    assert "4 specs done (4 now, 0 earlier)" in capsys.readouterr().out
    local, on_ray = run_dir_contents(tmp_path / "local"), run_dir_contents(tmp_path / "ray")
    assert on_ray == local
    for prefix in FOUR_SPECS:
        doc = local[f"{prefix}.result.json"]
        assert doc["status"] == "done" and doc["hinted"]["solved"]
        assert {h: doc["hinted"]["holes"][h]["term"] for h in doc["holes"]} == INTENDED[prefix]
    # resumable: nothing left to do, on Ray too
    assert main([*batch_argv(specs, replay, tmp_path / "ray"), "--executor", "ray"]) == 0
    assert "(0 now, 4 earlier)" in capsys.readouterr().out


def _ray_spec_task(ppid: int, cmdline: bytes) -> bool:
    """A Ray worker executing `spec_task` now (Ray titles a busy worker `ray::<task name>`)."""
    return cmdline.startswith(b"ray::spec_task")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="finds Ray's workers through /proc")
def test_a_worker_killed_mid_task_loses_and_duplicates_nothing(local_ray: Any, four_specs: tuple[Path, Path],
                                                                tmp_path: Path) -> None:
    specs, replay = four_specs
    settings = BatchSettings(ModelPlan(ModelChoice("replay", str(replay))),
                             GenerateOptions(ValidationSettings(tier="examples", example_inputs=2000)))
    run = tmp_path / "run"
    events: list[tuple[str, str]] = []
    stop, killed = threading.Event(), []
    # A spec task lasts a fraction of a second on an idle machine: watch a short window.
    killer = threading.Thread(target=kill_when_busy, args=(_ray_spec_task, stop, killed),
                              kwargs={"window_s": 0.05, "min_cpu_s": 0.01}, daemon=True)
    killer.start()
    try:
        out = run_batch(discover_specs(specs), specs, run, default_run_id(specs, settings), settings,
                        lambda event, name, i, n: events.append((event, name)), RayExecutor())
    finally:
        stop.set()
        killer.join()
    assert len(killed) == 1, "no worker was seen computing"
    retried = [name for event, name in events if event == "retry"]
    assert len(retried) == 1
    assert sorted(out.ran) == sorted(FOUR_SPECS) and out.summary["totals"]["done"] == 4
    for prefix in FOUR_SPECS:
        assert json.loads((run / f"{prefix}.result.json").read_text())["status"] == "done"
    solutions = [(r["spec"], r["hole_id"]) for r in read_records(run / "records.jsonl") if r["kind"] == "solution"]
    assert sorted(solutions) == sorted((p, h) for p in FOUR_SPECS for h in INTENDED[p])  # each exactly once
    failed = [(r["spec"], r["hole_id"], r["term"]) for r in read_records(run / "records.jsonl")
              if r["kind"] == "failed_candidate"]
    assert len(failed) == len(set(failed))
    assert sorted(p.name for p in run.iterdir() if not p.name.endswith((".result.json", ".hints.json"))) == \
        ["records.jsonl", "run.json", "summary.json"]  # no temp file left behind


def test_ray_batch_with_hints_from_a_served_model(local_ray: Any, tmp_path: Path, capsys) -> None:
    from neural.fake_openai import FakeServer, reply
    specs = spec_folder(tmp_path, ("fee_bps",))
    intended = INTENDED["fee_bps"]["fee_expr"]
    run = tmp_path / "run"
    with FakeServer([reply(intended)]) as server:
        assert main(["batch", str(specs), "--executor", "ray", "--backend", "openai", "--model", "served",
                     "--base-url", server.url, "--server-grammar-field", "structured_outputs", "--samples", "2",
                     "--validate", "cheap", "--output", str(run)]) == 0
    assert "1 spec done (1 now, 0 earlier)" in capsys.readouterr().out
    assert len(server.requests) == 2 and all("structured_outputs" in q["body"] for q in server.requests)
    doc = json.loads((run / "fee_bps.result.json").read_text())
    assert doc["holes"]["fee_expr"]["ranking"]["best"] == intended and doc["hinted"]["solved"]


def test_ray_batch_with_a_local_model_in_the_hint_actor(local_ray: Any, tmp_path: Path, tiny_model_dir: Path,
                                                         capsys) -> None:
    """The actor holds a CPU for the model: the two-hole spec's task gets the other one (no deadlock)."""
    specs = spec_folder(tmp_path, ("breaker_window", "fee_bps"))
    run = tmp_path / "run"
    assert main(["batch", str(specs), "--executor", "ray", "--backend", "mlx", "--model", str(tiny_model_dir), "--samples", "2",
                 "--max-tokens", "32", "--example-inputs", "2000", "--output", str(run)]) == 0
    assert "2 specs done (2 now, 0 earlier)" in capsys.readouterr().out
    for prefix in ("breaker_window", "fee_bps"):
        doc = json.loads((run / f"{prefix}.result.json").read_text())
        assert doc["status"] == "done" and doc["hinted"]["solved"]
        assert all(h["ranking"]["stages"][0]["backend"] == "mlx" for h in doc["holes"].values())


def test_a_memory_request_no_node_can_meet_is_one_line(local_ray: Any, four_specs: tuple[Path, Path],
                                                       tmp_path: Path, capsys) -> None:
    specs, replay = four_specs
    run = tmp_path / "run"
    assert main([*batch_argv(specs, replay, run), "--executor", "ray", "--task-memory-mb", str(2 ** 30)]) == 2
    err = capsys.readouterr().err
    assert "--task-memory-mb 1073741824: no Ray node has that much memory" in err
    assert len(err.strip().splitlines()) == 1 and not run.exists()
