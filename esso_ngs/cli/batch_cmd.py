"""`esso-ngs batch DIR`: hints and synthesis (with and without hints) for every spec of a folder."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import UserError
from ..pipeline.batch import BatchSettings, default_run_id, run_batch
from ..pipeline.options import add_model_options, generate_options_from_args, plan_from_args
from ..spec import discover_specs
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
    add_model_options(p)
    p.set_defaults(func=run)


def _progress():  # -> (callback, closer)
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                        TimeElapsedColumn(), console=Console(stderr=True), transient=False)
    task = None

    def report(event: str, name: str, index: int, total: int) -> None:
        nonlocal task
        if task is None:
            progress.start()
            task = progress.add_task("specs", total=total)
        if event == "start":
            progress.update(task, description=name)
        else:
            progress.console.print(f"{name}: {'skipped (finished earlier)' if event == 'skip' else event}")
            progress.advance(task)

    def stop() -> None:
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
    settings = BatchSettings(plan_from_args(args), generate_options_from_args(args), args.timeout_ms, args.seed)
    run_id = args.run_id or default_run_id(spec_dir, settings)
    run_dir = Path(args.output) if args.output else Path("runs/ngs") / run_id
    report, stop = _progress()
    try:
        outcome = run_batch(specs, spec_dir, run_dir, run_id, settings, report)
    finally:
        stop()
    t = outcome.summary["totals"]
    speed = f"{t['geomean_speedup']:.2f}x" if t["geomean_speedup"] else "-"
    print(f"{run_dir}: {plural(t['done'], 'spec')} done ({len(outcome.ran)} now, {len(outcome.skipped)} earlier), "
          f"{plural(t['errors'], 'error')}; solved {t['solved_plain']} without hints, {t['solved_hinted']} with; "
          f"geometric-mean speedup {speed}")
    print(f"report: esso-ngs report {run_dir}", file=sys.stderr)
    return 0 if t["errors"] == 0 else 1
