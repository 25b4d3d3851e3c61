"""`esso-ngs report RUN_DIR`: a table per spec and hole of a batch run, and a PNG of the speedups."""
from __future__ import annotations

import argparse
import json
from pathlib import Path

from ..pipeline.compare import compare, render_comparison, runs_to_compare
from ..pipeline.report import load_results, render_table, rows


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("report", help="table and speedup plot of a batch run",
                       description="Per spec and hole: the stage and model of the best hint, candidates, "
                                   "how many pass each validation tier, the best term, synthesis time "
                                   "without and with hints, and the speedups (synthesis, end-to-end with "
                                   "hint generation counted), in the terminal's width; plus speedups.png "
                                   "(needs the `plot` extra).")
    p.add_argument("run_dir", nargs="+",
                   help="a runs/ngs/<run_id> directory; a sweep directory or several runs: compared side by side")
    p.add_argument("--json", action="store_true", help="print the rows as JSON")
    p.add_argument("--plot", metavar="PNG", help="where to write the plot (default RUN_DIR/speedups.png)")
    p.add_argument("--no-plot", action="store_true", help="do not write the plot")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    runs = runs_to_compare(args.run_dir)
    if runs is not None:
        return run_comparison(args, runs)
    run_dir, docs = load_results(args.run_dir[0])
    table = rows(docs)
    plot = None
    if not args.no_plot:
        from ..pipeline.plot import plot_speedups  # matplotlib: the `plot` extra
        plot = plot_speedups(run_dir, table, Path(args.plot) if args.plot else None)
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "rows": table, "plot": str(plot) if plot else None}, indent=2))
        return 0
    if not table:
        print(f"{run_dir}: no finished spec yet")
        return 0
    render_table(run_dir, table)
    if plot is not None:
        print(f"plot: {plot}")
    return 0


def run_comparison(args: argparse.Namespace, runs: list[tuple[str, Path]]) -> int:
    """Configurations side by side (a sweep directory, or several run directories); no plot."""
    data = compare(runs)
    if args.json:
        print(json.dumps(data, indent=2))
    else:
        render_comparison(data)
    return 0
