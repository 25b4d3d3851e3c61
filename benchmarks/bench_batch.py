"""Batch executors and the driver.

    python benchmarks/bench_batch.py [--specs 1000] [--repeat 3] [--skip-workers] [--ray] [--output FILE.md]

1. The bundled specs (benchmarks/specs) with 1 and 2 local workers (`--workers`):
   wall time, specs per second and the throughput ratio. Hints are replayed (the
   manifest's intended terms), so the time is synthesis: what the workers share.
   Each run is `esso-ngs batch --workers N` in a fresh process (start-up and cold
   caches counted, as a user sees it). Each setting runs `--repeat` times, interleaved;
   the best wall time is shown (the least disturbed by other load).
   With `--ray`, also on a local Ray instance started with 1 and 2 CPUs (the Ray
   start itself is not counted).
2. A synthetic folder of N specs (copies of the bundled shapes under new names)
   through the driver with a no-op executor: every task returns a finished result
   at once, so only the driver runs (commit: hints, records, result file, summary).
   Per slice of N/10 specs: the write rate, the driver's resident memory and the
   Python heap (tracemalloc). Flat columns mean the driver does not slow down or
   grow with the run.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

from esso_ngs.pipeline.batch import BatchSettings, SpecOutcome, SpecTask, default_run_id, run_batch
from esso_ngs.pipeline.executor import TaskEvent
from esso_ngs.verify.tiers import ValidationSettings
from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan
from esso_ngs.formats import discover_specs

HERE = Path(__file__).resolve().parent
SPECS = HERE / "specs"


def replay_source(path: Path) -> Path:
    """Every bundled hole's intended term (twice: it ranks first), then its wrong terms (each a
    failed-candidate record), as a replay file."""
    manifest = json.loads((SPECS / "manifest.json").read_text())["specs"]
    holes = {h: {"term": e["intended"], "candidates": [{"term": e["intended"], "count": 2}]
                 + [{"term": w, "count": 1} for w in e["wrong"]]}
             for s in manifest for h, e in s["holes"].items()}
    path.write_text(json.dumps({"holes": holes}))
    return path


def settings_for(replay: Path) -> BatchSettings:
    return BatchSettings(ModelPlan(ModelChoice("replay", str(replay), samples=8)),
                         GenerateOptions(ValidationSettings(tier="cheap")))


def timed_run(specs: Path, run: Path, settings: BatchSettings, executor: Any) -> float:
    paths = discover_specs(specs)
    t0 = time.perf_counter()
    out = run_batch(paths, specs, run, default_run_id(specs, settings), settings, None, executor)
    wall = time.perf_counter() - t0
    assert out.summary["totals"]["done"] == len(paths), out.summary["totals"]
    return wall


def timed_cli_run(specs: Path, run: Path, replay: Path, workers: int) -> float:
    """`esso-ngs batch --workers N` as a user runs it: a fresh process, cold caches, worker start-up."""
    argv = [sys.executable, "-m", "esso_ngs.cli.main", "batch", str(specs), "--backend", "replay", "--model",
            str(replay), "--samples", "8", "--validate", "cheap", "--workers", str(workers), "--output", str(run)]
    t0, cpu0 = time.perf_counter(), _children_cpu_s()
    subprocess.run(argv, check=True, capture_output=True)
    CPU_S.setdefault(workers, []).append(_children_cpu_s() - cpu0)
    return time.perf_counter() - t0


CPU_S: dict[int, list[float]] = {}  # CPU seconds of each timed CLI run, by workers


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# ---------------------------------------------------------------- the driver alone
@dataclass
class NoopExecutor:
    """Finishes every task at once with a copy of one real result: what remains is the driver."""

    template: SpecOutcome

    def run(self, tasks: Sequence[SpecTask], run_id: str, settings: BatchSettings,
            event: TaskEvent) -> Iterator[tuple[SpecTask, SpecOutcome]]:
        for task in tasks:
            event("start", task)
            doc = copy.deepcopy(self.template.doc)
            doc.update({"spec": task.name, "kernel": str(task.path), "run_id": run_id})
            records = [dict(r, spec=task.name) for r in self.template.records]
            yield task, SpecOutcome(task.name, doc, self.template.hints, records)

    def close(self) -> None:
        pass


def rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def synthetic_folder(root: Path, n: int) -> Path:
    shapes = discover_specs(SPECS)
    folder = root / "synthetic"
    folder.mkdir()
    for i in range(n):
        shape = shapes[i % len(shapes)]
        prefix = shape.name[: -len("_hole.yaml")]
        for f in SPECS.glob(f"{prefix}_*"):
            shutil.copy(f, folder / f"s{i:05d}_{f.name}")
    return folder


def driver_alone(root: Path, n: int, settings: BatchSettings, template: SpecOutcome) -> list[dict[str, Any]]:
    folder = synthetic_folder(root, n)
    paths = discover_specs(folder)
    slice_size = max(1, n // 10)
    marks: list[dict[str, Any]] = []
    state = {"done": 0, "t": time.perf_counter()}
    tracemalloc.start()

    def progress(event: str, name: str, index: int, total: int) -> None:
        if event != "done":
            return
        state["done"] += 1
        if state["done"] % slice_size == 0:
            now = time.perf_counter()
            heap, _ = tracemalloc.get_traced_memory()
            marks.append({"specs": state["done"], "specs_per_s": slice_size / (now - state["t"]),
                          "rss_mb": rss_mb(), "heap_mb": heap / 2 ** 20})
            state["t"] = now

    run = root / "driver-run"
    run_batch(paths, folder, run, default_run_id(folder, settings), settings, progress, NoopExecutor(template))
    tracemalloc.stop()
    assert len(list(run.glob("*.result.json"))) == n
    return marks


def ray_rows(root: Path, settings: BatchSettings, n_bundled: int, repeat: int) -> list[str]:
    import ray

    from esso_ngs.pipeline.ray_executor import RayExecutor
    walls: dict[int, list[float]] = {1: [], 2: []}
    for cpus in walls:
        ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False)
        try:
            for rep in range(repeat):
                walls[cpus].append(timed_run(SPECS, root / f"ray-{cpus}-{rep}", settings, RayExecutor()))
        finally:
            ray.shutdown()
    return throughput_rows(walls, n_bundled)


def throughput_rows(walls: dict[int, list[float]], n_specs: int) -> list[str]:
    """Table rows from the wall times of each setting: the best of the repeats (the least disturbed)."""
    best = {k: min(v) for k, v in walls.items()}
    base = best[min(best)]
    return [f"| {k} | {n_specs} | {w:.1f} (of {', '.join(f'{x:.1f}' for x in walls[k])}) | {n_specs / w:.2f} "
            f"| {base / w:.2f}x |" for k, w in best.items()]


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--specs", type=int, default=1000, help="synthetic specs through the driver (default 1000)")
    ap.add_argument("--skip-workers", action="store_true", help="only the driver part")
    ap.add_argument("--ray", action="store_true", help="also the bundled specs on a local Ray instance")
    ap.add_argument("--repeat", type=int, default=3, help="runs per setting; the best is shown (default 3)")
    ap.add_argument("--output", type=Path, help="also write the tables (markdown) here")
    args = ap.parse_args(argv)
    lines = [f"# bench_batch ({time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, "
             f"load average {os.getloadavg()[0]:.1f} at start)", ""]
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        os.environ["ESSO_NGS_CACHE"] = str(root / "cache")
        settings = settings_for(replay_source(root / "replay.json"))
        n_bundled = len(discover_specs(SPECS))
        if not args.skip_workers:
            lines += ["## Bundled specs, local executor", "",
                      "| workers | specs | wall s: best (all runs) | specs/s | throughput vs 1 worker |",
                      "| --- | --- | --- | --- | --- |"]
            walls: dict[int, list[float]] = {1: [], 2: []}
            for rep in range(args.repeat):  # interleaved, so a change of load hits both
                for workers in walls:
                    walls[workers].append(timed_cli_run(SPECS, root / f"run-{workers}-{rep}", root / "replay.json",
                                                        workers))
            lines += throughput_rows(walls, n_bundled) + [""]
            lines.append("CPU seconds per run (all processes): " + "; ".join(
                f"{k} worker(s): {', '.join(f'{x:.1f}' for x in v)}" for k, v in CPU_S.items()) + ". "
                "CPU seconds well below workers x wall seconds mean the machine, not the executor, was the limit.")
            lines.append("")
            print("\n".join(lines[-6:]), flush=True)
        if args.ray:
            lines += ["## Bundled specs, Ray executor (local instance)", "",
                      "| Ray CPUs | specs | wall s: best (all runs) | specs/s | throughput vs 1 CPU |",
                      "| --- | --- | --- | --- | --- |"]
            lines += ray_rows(root, settings, n_bundled, args.repeat) + [""]
        # a real result of one bundled spec is the template of every no-op task's result
        from esso_ngs.pipeline.batch import compute_spec
        template = compute_spec(SPECS / "fee_bps_hole.yaml", "template", settings)
        marks = driver_alone(root, args.specs, settings, template)
        lines += [f"## Driver alone: {args.specs} synthetic specs, no-op tasks", "",
                  f"Each spec's result is a real one's (fee_bps: {len(template.records)} records, "
                  "a hints file, a result file).", "",
                  "| specs written | specs/s (this slice) | driver RSS MB | Python heap MB |",
                  "| --- | --- | --- | --- |"]
        for m in marks:
            lines.append(f"| {m['specs']} | {m['specs_per_s']:.0f} | {m['rss_mb']:.1f} | {m['heap_mb']:.2f} |")
    text = "\n".join(lines) + "\n"
    print(text)
    if args.output:
        args.output.parent.mkdir(parents=True, exist_ok=True)
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
