"""`esso-ngs batch DIR`: hints and synthesis (with and without hints) for every spec of a folder."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ..errors import UserError
from ..pipeline.batch import BatchSettings, check_models, default_run_id, run_batch
from ..pipeline.executor import Executor, LocalExecutor
from ..neural.progress import Event
from ..pipeline.progress_view import ProgressView
from ..pipeline.options import add_model_options, choice_from_args, generate_options_from_args, plan_from_args
from ..pipeline.sweep import configurations, default_sweep_id, load_sweep, prepare_sweep_dir
from ..pipeline.two_stage import ModelPlan
from ..formats import discover_specs
from ..wording import plural


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("batch", help="hints + synthesis with and without hints for every spec of a folder "
                                     "(0 all done, 1 some spec failed, 2 bad input)",
                       description="Discovers X_hole.yaml + X_hole.synth.json pairs, generates and validates "
                                   "hints per spec, synthesizes with and without them, and writes "
                                   "runs/ngs/<run_id>/ (<spec>.hints.json, <spec>.result.json, summary.json, "
                                   "records.jsonl). Rerunning the same command resumes: finished specs are "
                                   "skipped.")
    p.add_argument("dir", help="folder of specs")
    p.add_argument("-o", "--output", metavar="DIR", help="run directory (default runs/ngs/<run_id>)")
    p.add_argument("--run-id", help="name of the run under runs/ngs/ (default: from the folder and settings)")
    p.add_argument("--recursive", action="store_true", help="also look for specs in subfolders")
    p.add_argument("--only", action="append", metavar="PREFIX", help="only this spec (repeatable)")
    p.add_argument("--timeout-ms", type=int, help="synthesis budget per hole (default: each spec's own)")
    p.add_argument("--seed", type=int, default=0,
                   help="seed of everything random: the model's sampling and the synthesizer's examples (default 0)")
    p.add_argument("--json", action="store_true",
                   help="print summary.json on stdout instead of the closing line (progress: JSON lines on stderr)")
    p.add_argument("--sweep", metavar="FILE", help="TOML/JSON file of models, samples, tiers and seeds: one run "
                                                   "directory per combination, under --output (README: sweeps)")
    add_model_options(p)
    add_executor_options(p)
    p.set_defaults(func=run)


def add_executor_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("where the specs run (the run directory is the same whichever)")
    g.add_argument("--executor", choices=("local", "ray"), default="local",
                   help="local: this machine (default); ray: a Ray cluster (pip install 'esso-ngs[ray]')")
    g.add_argument("--workers", type=int, default=1, metavar="N",
                   help="local: worker processes (default 1: in this process, one spec at a time)")
    g.add_argument("--ray-address", metavar="ADDR",
                   help="ray: the cluster to join (e.g. auto, or ray://head:10001; default: $RAY_ADDRESS, "
                        "else a cluster started on this machine, else a new local instance)")
    g.add_argument("--hint-actors", type=int, default=1, metavar="N",
                   help="ray: model-holding actors generating hints, one model load each (default 1)")
    g.add_argument("--task-memory-mb", type=int, default=1024, metavar="MB",
                   help="ray: memory each spec's task asks for (default 1024)")


def executor_from_args(args: argparse.Namespace) -> Executor:
    if args.executor == "ray":
        if args.workers != 1:
            raise UserError("--workers is for --executor local (Ray places one task per spec itself)")
        from ..pipeline.ray_executor import RayExecutor
        executor = RayExecutor(args.ray_address, args.hint_actors, args.task_memory_mb)
        try:  # a missing Ray, an unreachable cluster, a request no node meets: before anything is written
            executor.connect()
        except UserError:
            executor.close()
            raise
        return executor
    if args.ray_address:
        raise UserError("--ray-address is only used with --executor ray")
    return LocalExecutor(args.workers)


def _progress(view: ProgressView | None):  # -> (callback, closer)
    """The batch's progress: a bar with counts and, on a terminal, a live line naming the
    spec, hole and stage in progress (the model's lines print above it); in a log, one
    line per spec and the view's lines, each naming its spec; JSON lines under --json
    (a `spec` event as each starts and ends); nothing under --quiet."""
    if view is not None and view.mode == "quiet":
        return (lambda *_: None), (lambda: None)
    if view is not None and view.mode == "json":
        def as_event(event: str, name: str, index: int, total: int) -> None:
            view.context = name
            view(Event("spec", data={"spec": name, "status": event, "index": index + 1, "total": total}))
        return as_event, (lambda: None)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = view.console if view is not None and view.mode == "text" else Console(stderr=True)
    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), TextColumn("{task.fields[stage]}"), console=console, transient=False)
    task = None
    counts = {"done": 0, "running": 0, "failed": 0, "retried": 0}

    def stage(text: str) -> None:
        if task is not None:
            progress.update(task, stage=text)

    if view is not None and view.mode == "text" and console.is_terminal:
        view.on_stage = stage

    def report(event: str, name: str, index: int, total: int) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task("specs", total=total, stage="")
        if event in ("start", "retry"):
            counts["running"] += 1
            counts["retried"] += event == "retry"
            if event == "retry":  # the failed attempt is over
                counts["running"] -= 1
                progress.console.print(f"{name}: attempt failed, retrying")
            if view is not None:
                view.context = f"{name} ({index + 1}/{total})"
            stage(f"{name} ({index + 1}/{total})")
        else:
            if event != "skip":
                counts["running"] -= 1
                counts["done" if event == "done" else "failed"] += 1
            progress.console.print(f"{name}: {'skipped (finished earlier)' if event == 'skip' else event}")
            progress.advance(task)
        progress.update(task, description=" ".join(f"{k} {v}" for k, v in counts.items()))

    def stop() -> None:
        if view is not None:
            view.on_stage, view.context = None, ""
        if task is not None:  # rich prints a newline even for a bar never shown
            progress.stop()

    return report, stop


def run(args: argparse.Namespace) -> int:
    spec_dir = Path(args.dir)
    specs = discover_specs(spec_dir, recursive=args.recursive)
    if args.only:
        wanted = set(args.only)
        specs = [s for s in specs if s.name[: -len("_hole.yaml")] in wanted]
        missing = wanted - {s.name[: -len("_hole.yaml")] for s in specs}
        if missing:
            raise UserError(f"{spec_dir}: no spec {', '.join(sorted(missing))}")
    if args.sweep:
        return _run_sweep(args, spec_dir, specs)
    settings = BatchSettings(plan_from_args(args), generate_options_from_args(args), args.timeout_ms, args.seed)
    run_id = args.run_id or default_run_id(spec_dir, settings)
    run_dir = Path(args.output) if args.output else Path("runs/ngs") / run_id
    check_models(settings.plan)  # a bad --model fails before a cluster is joined
    executor = executor_from_args(args)
    try:
        return 0 if _run_one(specs, spec_dir, run_dir, run_id, settings, executor, args.json) else 1
    finally:
        executor.close()


def _run_one(specs: list[Path], spec_dir: Path, run_dir: Path, run_id: str, settings: BatchSettings,
             executor: Executor, as_json: bool = False) -> bool:
    """One batch with a progress bar and its closing line; True when no spec ended in an error."""
    view = settings.generate.progress
    report, stop = _progress(view if isinstance(view, ProgressView) else None)
    try:
        outcome = run_batch(specs, spec_dir, run_dir, run_id, settings, report, executor)
    finally:
        stop()
    t = outcome.summary["totals"]
    if as_json:
        print(json.dumps(outcome.summary, indent=2))
        return t["errors"] == 0
    speed = f"{t['geomean_speedup']:.2f}x" if t["geomean_speedup"] else "-"
    print(f"{run_dir}: {plural(t['done'], 'spec')} done ({len(outcome.ran)} now, {len(outcome.skipped)} earlier), "
          f"{plural(t['errors'], 'error')}; solved {t['solved_plain']} without hints, {t['solved_hinted']} with; "
          f"geometric-mean speedup {speed}")
    print(f"report: esso-ngs report {run_dir}", file=sys.stderr)
    return t["errors"] == 0


def _run_sweep(args: argparse.Namespace, spec_dir: Path, specs: list[Path]) -> int:
    """Every configuration of the sweep file, one run directory each, one after another."""
    sweep = load_sweep(args.sweep)
    if sweep.models:
        if args.nh_two_stage or args.nh_config or args.nh_large_model:
            raise UserError(f"{args.sweep}: its `models` replace --model; --two-stage, --large-model and "
                            "--models-config do not combine with them")
        defaults = choice_from_args(args, args.nh_backend, args.nh_model or "")
        plan = ModelPlan(defaults)
    else:
        plan = plan_from_args(args)
        defaults = plan.small
    base = BatchSettings(plan, generate_options_from_args(args), args.timeout_ms, args.seed)
    configs = configurations(sweep, base, defaults)
    for config in configs:  # every model resolves before anything is written
        check_models(config.settings.plan)
    sweep_dir = Path(args.output) if args.output else \
        Path("runs/ngs") / (args.run_id or default_sweep_id(spec_dir, configs))
    executor = executor_from_args(args)
    clean = True
    try:
        prepare_sweep_dir(sweep_dir, sweep, configs)
        for config in configs:
            print(f"configuration {config.label}", file=sys.stderr)
            clean &= _run_one(specs, spec_dir, sweep_dir / config.label, default_run_id(spec_dir, config.settings),
                              config.settings, executor, args.json)
    finally:
        executor.close()
    print(f"{sweep_dir}: {len(configs)} configurations; compare them: esso-ngs report {sweep_dir}")
    return 0 if clean else 1
