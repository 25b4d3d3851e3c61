"""Configurations side by side: the runs of a sweep directory, or any run directories.

One row per configuration (model, samples, tier, seed; specs done, solved without
and with hints, geometric-mean speedup, hint time), then one row per spec and hole
with each configuration's outcome (status with hints, speedup). Built on the
single-run report's rows (report.py) and the run's totals (batch.summarize).
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

from ..errors import UserError
from .batch import summarize
from .report import load_results, rows
from .sweep import sweep_runs


def runs_to_compare(paths: Sequence[str | Path]) -> list[tuple[str, Path]] | None:
    """(label, run directory) pairs when `paths` name a sweep directory or several runs; else None."""
    if len(paths) == 1:
        return sweep_runs(Path(paths[0]))
    for p in paths:
        if not Path(p).is_dir():
            raise UserError(f"{p}: no such run directory")
    labels = [Path(p).name for p in paths]
    if len(set(labels)) != len(labels):  # same-named runs in different folders: use the whole path
        labels = [str(p) for p in paths]
    return list(zip(labels, (Path(p) for p in paths)))


def _settings(run_dir: Path) -> dict[str, Any]:
    try:
        return json.loads((run_dir / "run.json").read_text()).get("settings") or {}
    except (OSError, ValueError):
        return {}


def compare(runs: Sequence[tuple[str, Path]]) -> dict[str, Any]:
    """The comparison's data: `configurations` (one per run) and `rows` (one per spec and hole)."""
    configs: list[dict[str, Any]] = []
    by_hole: dict[tuple[str, str | None], dict[str, Any]] = {}
    for label, run_dir in runs:
        settings = _settings(run_dir)
        small = (settings.get("models") or {}).get("small") or {}
        entry = {"label": label, "run_dir": str(run_dir), "model": f"{small.get('backend')}:{small.get('model')}",
                 "samples": small.get("samples"), "tier": settings.get("tier"), "seed": small.get("seed"),
                 "started": run_dir.is_dir()}
        docs: list[dict[str, Any]] = []
        if run_dir.is_dir():
            _, docs = load_results(run_dir)
            totals = summarize(run_dir, "")["totals"]
            entry.update({k: totals[k] for k in ("done", "errors", "solved_plain", "solved_hinted",
                                                 "geomean_speedup")})
            entry["hints_s"] = round(sum((d.get("times") or {}).get("hints_s", 0.0) for d in docs), 6)
        configs.append(entry)
        for r in rows(docs):
            cell = by_hole.setdefault((r["spec"], r["hole"]), {"spec": r["spec"], "hole": r["hole"], "runs": {}})
            cell["runs"][label] = ({"status": "error", "error": r.get("error")} if r["status"] != "done" else
                                   {"status": r["hinted_status"], "best": r["best"], "speedup": r["speedup"],
                                    "hinted_s": r["hinted_s"], "plain_s": r["plain_s"],
                                    "verified": r["verified"], "candidates": r["candidates"]})
    return {"configurations": configs,
            "rows": [by_hole[k] for k in sorted(by_hole, key=lambda k: (k[0] or "", k[1] or ""))]}


def render_comparison(data: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console(width=200)
    configs = data["configurations"]
    if not configs:
        raise UserError("nothing to compare")
    t = Table(title="configurations")
    for col in ("configuration", "model", "samples", "tier", "seed", "done", "errors", "solved plain",
                "solved hinted", "geomean speedup", "hints"):
        t.add_column(col, justify="left" if col in ("configuration", "model", "tier") else "right",
                     overflow="fold")
    for c in configs:
        if not c["started"]:
            t.add_row(c["label"], c["model"], str(c["samples"]), str(c["tier"]), str(c["seed"]), "not run yet",
                      *[""] * 5)
            continue
        speed = f"{c['geomean_speedup']:.2f}x" if c["geomean_speedup"] else "-"
        t.add_row(c["label"], c["model"], str(c["samples"]), str(c["tier"]), str(c["seed"]), str(c["done"]),
                  str(c["errors"]), str(c["solved_plain"]), str(c["solved_hinted"]), speed, f"{c['hints_s']:.2f}s")
    console.print(t)
    h = Table(title="speedup per hole (status with hints when not solved)")
    h.add_column("spec:hole", overflow="fold")
    for c in configs:
        h.add_column(c["label"], justify="right", overflow="fold")
    for r in data["rows"]:
        cells = []
        for c in configs:
            got = r["runs"].get(c["label"])
            if got is None:
                cells.append("-")
            elif got["status"] == "error":
                cells.append("error")
            else:
                speed = f"{got['speedup']:.2f}x" if got["speedup"] else "-"
                cells.append(speed if got["status"] == "solved" else f"{speed} {got['status']}")
        h.add_row(f"{r['spec']}:{r['hole']}" if r["hole"] else r["spec"], *cells)
    console.print(h)
