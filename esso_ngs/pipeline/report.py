"""The report of a batch run: one row per spec and hole, and a PNG of the speedups.

Rows come from the per-spec `<spec>.result.json` files (the summary only lists
them), so a report of an interrupted run shows what finished.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..errors import UserError

PLOT_NAME = "speedups.png"


def load_results(run_dir: str | Path) -> tuple[Path, list[dict[str, Any]]]:
    d = Path(run_dir)
    if not d.is_dir():
        raise UserError(f"{d}: no such run directory")
    if not (d / "run.json").is_file() and not (d / "summary.json").is_file():
        raise UserError(f"{d}: not a batch run directory (no run.json or summary.json)")
    docs = []
    for path in sorted(d.glob("*.result.json")):
        try:
            doc = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise UserError(f"{path}: unreadable result ({exc})") from None
        try:
            rows([doc])  # the fields the report reads are there, of the right kinds
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise UserError(f"{path}: not a batch result ({type(exc).__name__}: {exc})") from None
        docs.append(doc)
    return d, docs


def _stage_model(ranking: dict[str, Any]) -> str:
    if ranking.get("best_stage"):
        return f"{ranking['best_stage']} {ranking.get('best_source') or ''}".strip()
    stages = ranking.get("stages") or []
    return ", ".join(sorted({f"{s['stage']} {s['backend']}:{s['model_id']}" for s in stages})) or "-"


def rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for doc in docs:
        if doc.get("status") != "done":
            out.append({"spec": doc.get("spec"), "hole": None, "status": "error", "error": doc.get("error")})
            continue
        for hole_id, h in doc["holes"].items():
            r = h["ranking"]
            counts = r["counts"]
            out.append({
                "spec": doc["spec"], "hole": hole_id, "status": "done",
                "stage_model": _stage_model(r), "escalated": any(s["stage"] == "large" for s in r["stages"]),
                "tier": r["tier"], "candidates": counts["candidates"], "cheap_ok": counts["cheap"],
                "examples_ok": counts["examples"], "verified": counts["full"], "best": r["best"],
                "plain_s": h["plain"]["time_s"], "hinted_s": h["hinted"]["time_s"],
                "plain_status": h["plain"]["status"], "hinted_status": h["hinted"]["status"],
                "hinted_by": h["hinted"]["found_by"], "speedup": h["speedup"],
                "hints_s": doc["times"]["hints_s"],
            })
    return out


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}s"


def render_table(run_dir: Path, table_rows: list[dict[str, Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    t = Table(title=f"esso-ngs batch report: {run_dir}", show_lines=False)
    for col, justify in (("spec", "left"), ("hole", "left"), ("stage / model", "left"), ("cand", "right"),
                         ("cheap", "right"), ("examples", "right"), ("Z3", "right"), ("best term", "left"),
                         ("plain", "right"), ("hinted", "right"), ("speedup", "right")):
        t.add_column(col, justify=justify, overflow="fold")  # type: ignore[arg-type]
    for r in table_rows:
        if r["status"] != "done":
            t.add_row(r["spec"], "-", f"[red]error: {r['error']}[/red]", *[""] * 8)
            continue
        tier = r["tier"]
        cell = lambda n, level: str(n) if _ran(tier, level) else "-"  # noqa: E731
        plain = _fmt_s(r["plain_s"]) + ("" if r["plain_status"] == "solved" else f" {r['plain_status']}")
        hinted = _fmt_s(r["hinted_s"]) + ("" if r["hinted_status"] == "solved" else f" {r['hinted_status']}")
        speed = f"{r['speedup']:.2f}x" if r["speedup"] else "-"
        t.add_row(r["spec"], r["hole"], r["stage_model"], str(r["candidates"]), cell(r["cheap_ok"], 1),
                  cell(r["examples_ok"], 2), cell(r["verified"], 3), r["best"] or "-", plain, hinted, speed)
    Console(width=200).print(t)


def _ran(tier: str, level: int) -> bool:
    from ..verify.tiers import tier_level
    return tier_level(tier) >= level


def plot_speedups(run_dir: Path, table_rows: list[dict[str, Any]], path: Path | None = None) -> Path | None:
    """A bar chart of per-hole speedups (log scale); None when matplotlib is not installed."""
    try:
        import matplotlib
        matplotlib.use("Agg")  # files only: never a window, works without a display
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    done = [r for r in table_rows if r["status"] == "done" and r["speedup"]]
    target = path or run_dir / PLOT_NAME
    fig, ax = plt.subplots(figsize=(max(6.0, 0.45 * len(done) + 2), 4.5))
    labels = [f"{r['spec']}:{r['hole']}" if r["hole"] else r["spec"] for r in done]
    values = [r["speedup"] for r in done]
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    # Bars grow from 1x (no change), up for speedups and down for slowdowns.
    ax.bar(range(len(values)), [v - 1.0 for v in values], bottom=1.0, color=colors)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    if values:
        ax.set_ylim(min(min(values), 1.0) / 1.5, max(max(values), 1.0) * 1.5)
    ax.set_xticks(range(len(values)))
    ax.set_xticklabels(labels, rotation=60, ha="right", fontsize=8)
    ax.set_ylabel("synthesis time without / with hints")
    ax.set_title("Speedup from neural hints, per hole")
    fig.tight_layout()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.png")
    fig.savefig(tmp, dpi=120)
    plt.close(fig)
    tmp.replace(target)  # never a half-written PNG
    return target


def describe_ranking(ranking: Any) -> str:
    """The ranked candidates of one hole, one line each, with what each tier said
    (deterministic: no timings, so cached reruns print the same)."""
    lines = [f"  ranked ({ranking.tier} tier):"]
    if not ranking.candidates:
        lines.append("    no candidates")
    for i, c in enumerate(ranking.candidates):
        ch = c.checks
        marks = []
        if ch.cheap is not None:
            marks.append("cheap ok" if ch.cheap.ok else "cheap FAIL")
        if ch.examples is not None:
            marks.append("examples ok" if ch.examples.passed
                         else f"examples FAIL {ch.examples.mismatch_rate:.1%}")
        if ch.full is not None:
            marks.append(f"Z3 {ch.full.status}")
        lines.append(f"    {i + 1:2d}. {c.term}  [{', '.join(marks) or 'unchecked'}; {c.count}x, {c.stage}]")
    return "\n".join(lines)
