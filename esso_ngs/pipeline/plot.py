"""`speedups.png` of a batch run: the speedups per hole and time to first verified term.

Three panels: the synthesis speedup (time without hints / with them), the
end-to-end speedup (generating the hints counted), both as bars from 1x on a log
axis read as `2x`, `0.6x`; and time to the first verified term, guided against
unguided, log-log with the diagonal (points below it: the hints helped), the plot
synthesis papers use.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from ..extras import require_extra
from ..wording import plural
from .report import times_label

PLOT_NAME = "speedups.png"
FLOOR_S = 1e-3  # a log axis cannot show 0 s


def _speedup_axis(ax: Any, values: list[float]) -> None:
    from matplotlib import ticker

    ax.set_xscale("log")
    lo, hi = min(min(values), 1.0), max(max(values), 1.0)
    decades = math.log10(hi / lo)
    pad = 10 ** max(0.35, 0.3 * decades)  # room for the value labels at the bar ends
    ax.set_xlim(lo / pad, hi * pad)
    # 1x 2x 5x 10x ... over a short range; powers of ten only over a long one (no crowding)
    subs = (1.0, 2.0, 5.0) if decades <= 1.5 else (1.0,)
    ax.xaxis.set_major_locator(ticker.LogLocator(base=10, subs=subs))
    ax.xaxis.set_major_formatter(ticker.FuncFormatter(lambda v, _: times_label(v)))
    ax.xaxis.set_minor_formatter(ticker.NullFormatter())
    ax.axvline(1.0, color="black", linewidth=0.8)
    ax.grid(axis="x", which="major", alpha=0.3)


def _bars(ax: Any, labels: list[str], values: list[float], title: str) -> None:
    ys = list(range(len(values)))
    colors = ["tab:green" if v >= 1 else "tab:red" for v in values]
    # Bars grow from 1x (no change): right for speedups, left for slowdowns.
    ax.barh(ys, [v - 1.0 for v in values], left=1.0, color=colors, height=0.6)
    for y, v in zip(ys, values):
        ax.annotate(times_label(v), (v, y), xytext=(4 if v >= 1 else -4, 0), textcoords="offset points",
                    ha="left" if v >= 1 else "right", va="center", fontsize=8)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=8)
    ax.invert_yaxis()  # first hole on top, as in the table
    _speedup_axis(ax, values)
    ax.set_title(title, fontsize=10)


def _scatter(ax: Any, rows: list[dict[str, Any]]) -> None:
    from matplotlib import ticker

    pts = [(max(r["plain_first_s"], FLOOR_S), max(r["hinted_first_s"], FLOOR_S),
            max(r["hinted_first_s"] + (r.get("generation_s") or 0.0), FLOOR_S),
            r["plain_status"] == "solved" and r["hinted_status"] == "solved") for r in rows]
    xs, ys, ends, solved = zip(*pts)
    ax.scatter([x for x, ok in zip(xs, solved) if ok], [y for y, ok in zip(ys, solved) if ok],
               color="tab:blue", s=22, label="guided (synthesis)", zorder=3)
    ax.scatter(xs, ends, facecolors="none", edgecolors="tab:orange", s=26,
               label="guided + hint generation", zorder=2)
    if not all(solved):
        ax.scatter([x for x, ok in zip(xs, solved) if not ok], [y for y, ok in zip(ys, solved) if not ok],
                   color="tab:red", marker="x", s=30, label="not solved in the budget", zorder=3)
    lo = min(min(xs), min(ys), min(ends)) / 2
    hi = max(max(xs), max(ys), max(ends)) * 2
    ax.plot([lo, hi], [lo, hi], color="black", linewidth=0.8, linestyle="--", label="same time")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(lo, hi)
    ax.set_ylim(lo, hi)
    ax.set_aspect("equal")
    seconds = ticker.FuncFormatter(lambda v, _: f"{v:g}s")
    ax.xaxis.set_major_formatter(seconds)
    ax.yaxis.set_major_formatter(seconds)
    ax.set_xlabel("unguided (s)")
    ax.set_ylabel("guided by hints (s)")
    ax.set_title("Time to first verified term\n(below the diagonal: hints helped)", fontsize=10)
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
    ax.grid(which="major", alpha=0.3)


def plot_speedups(run_dir: Path, table_rows: list[dict[str, Any]], path: Path | None = None) -> Path:
    """Write the three-panel figure (atomically); MissingExtra when matplotlib is not installed."""
    require_extra("plot", "the speedups plot of `esso-ngs report` (or pass --no-plot)")
    import matplotlib
    matplotlib.use("Agg")  # files only: never a window, works without a display
    import matplotlib.pyplot as plt

    done = [r for r in table_rows if r["status"] == "done" and r["speedup"]]
    labels = [f"{r['spec']}:{r['hole']}" if r["hole"] else r["spec"] for r in done]
    height = max(3.5, 0.32 * len(done) + 1.6)
    fig, axes = plt.subplots(1, 3, figsize=(15, height), gridspec_kw={"width_ratios": (1, 1, 1.05)})
    if done:
        _bars(axes[0], labels, [r["speedup"] for r in done], "Synthesis speedup\n(time without / with hints)")
        end_to_end = [r.get("speedup_end_to_end") or r["speedup"] for r in done]
        _bars(axes[1], labels, end_to_end, "End-to-end speedup\n(hint generation counted)")
        axes[1].set_yticklabels([])
        _scatter(axes[2], done)
    else:
        for ax in axes:
            ax.text(0.5, 0.5, "no finished hole", ha="center", va="center", transform=ax.transAxes)
    fig.suptitle(f"esso-ngs batch run {run_dir.name}: {plural(len(done), 'hole')}", fontsize=11)
    fig.tight_layout()
    target = path or run_dir / PLOT_NAME
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp.png")
    fig.savefig(tmp, dpi=110)
    plt.close(fig)
    tmp.replace(target)  # never a half-written PNG
    return target
