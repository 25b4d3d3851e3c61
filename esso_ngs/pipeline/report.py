"""The report of a batch run: one row per spec and hole, as a table that fits the terminal.

Rows come from the per-spec `<spec>.result.json` files (the summary only lists
them), so a report of an interrupted run shows what finished.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from rich.cells import cell_len

from ..errors import UserError


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


def _first_s(run: dict[str, Any]) -> float | None:
    """Time to the first verified term (before the minimality search); the solve time when not recorded."""
    for key in ("time_to_first_verified_s", "first_s"):
        if run.get(key) is not None:
            return float(run[key])
    return run.get("time_s")


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def rows(docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out = []
    for doc in docs:
        if doc.get("status") != "done":
            out.append({"spec": doc.get("spec"), "hole": None, "status": "error", "error": doc.get("error")})
            continue
        for hole_id, h in doc["holes"].items():
            r = h["ranking"]
            counts = r["counts"]
            plain, hinted = h["plain"], h["hinted"]
            # This hole's generation time; a spec-level total for results written before it was recorded.
            generation_s = r.get("generation_s", doc["times"]["hints_s"])
            out.append({
                "spec": doc["spec"], "hole": hole_id, "status": "done",
                "stage_model": _stage_model(r), "escalated": any(s["stage"] == "large" for s in r["stages"]),
                "tier": r["tier"], "candidates": counts["candidates"], "cheap_ok": counts["cheap"],
                "examples_ok": counts["examples"], "verified": counts["full"], "best": r["best"],
                "plain_s": plain["time_s"], "hinted_s": hinted["time_s"],
                "plain_first_s": _first_s(plain), "hinted_first_s": _first_s(hinted),
                "plain_status": plain["status"], "hinted_status": hinted["status"],
                "hinted_by": hinted["found_by"], "speedup": h["speedup"],
                "generation_s": generation_s,
                "speedup_end_to_end": _ratio(plain["time_s"], generation_s + hinted["time_s"]),
                "hints_s": doc["times"]["hints_s"],
            })
    return out


def _fmt_s(x: float | None) -> str:
    return "-" if x is None else f"{x:.2f}s"


def elide_middle(text: str, width: int) -> str:
    """`text` in at most `width` cells, its middle replaced by an ellipsis (both ends of a term tell most)."""
    if cell_len(text) <= width:
        return text
    if width <= 1:
        return "…"[:width]
    head = width // 2
    tail = width - 1 - head
    return text[:head] + "…" + (text[len(text) - tail:] if tail else "")


# Columns: (header, justify, optional). When the terminal is too narrow for the best term to
# keep MIN_TERM_WIDTH cells, optional columns go (in DROP_ORDER), then spec and hole are
# shortened to NARROW_NAME_WIDTH.
_COLUMNS = (("spec", "left", False), ("hole", "left", False), ("stage / model", "left", True),
            ("cand", "right", True), ("cheap", "right", True), ("examples", "right", True),
            ("Z3", "right", True), ("best term", "left", False), ("plain", "right", False),
            ("hinted", "right", False), ("speedup", "right", False), ("end-to-end", "right", True))
DROP_ORDER = ("end-to-end", "stage / model", "cheap", "examples", "cand", "Z3")
MIN_TERM_WIDTH = 16
NARROW_NAME_WIDTH = 12
TERM_COLUMN = "best term"


def times_label(v: float) -> str:
    """A speedup as people write it: 120x, 3.2x, 1x, 0.62x, 0.0031x."""
    if v >= 10:
        return f"{v:,.0f}x"
    if v >= 1:
        return f"{v:.1f}x".replace(".0x", "x")
    return f"{v:.2g}x"


def _cells(r: dict[str, Any]) -> dict[str, str]:
    if r["status"] != "done":
        return {"spec": r["spec"] or "-", "hole": "-", TERM_COLUMN: f"error: {r['error']}"}
    tier = r["tier"]
    cell = lambda n, level: str(n) if _ran(tier, level) else "-"  # noqa: E731
    plain = _fmt_s(r["plain_s"]) + ("" if r["plain_status"] == "solved" else f" {r['plain_status']}")
    hinted = _fmt_s(r["hinted_s"]) + ("" if r["hinted_status"] == "solved" else f" {r['hinted_status']}")
    return {"spec": r["spec"], "hole": r["hole"], "stage / model": r["stage_model"],
            "cand": str(r["candidates"]), "cheap": cell(r["cheap_ok"], 1), "examples": cell(r["examples_ok"], 2),
            "Z3": cell(r["verified"], 3), TERM_COLUMN: r["best"] or "-", "plain": plain, "hinted": hinted,
            "speedup": times_label(r["speedup"]) if r["speedup"] else "-",
            "end-to-end": times_label(r["speedup_end_to_end"]) if r.get("speedup_end_to_end") else "-"}


def _table(title: str, columns: list[tuple[str, str]], cells: list[dict[str, str]], term_width: int,
           name_width: int | None = None) -> Any:
    from rich import box
    from rich.table import Table

    t = Table(title=title, box=box.SIMPLE_HEAD, pad_edge=False)
    for name, justify in columns:
        t.add_column(name, justify=justify, no_wrap=True, overflow="ellipsis",  # type: ignore[arg-type]
                     max_width=name_width if name in ("spec", "hole") else None)
    for c in cells:
        t.add_row(*[elide_middle(c.get(name, ""), term_width) if name == TERM_COLUMN else c.get(name, "")
                    for name, _ in columns])
    return t


def render_table(run_dir: Path, table_rows: list[dict[str, Any]], console: Any = None) -> None:
    """The report table in the console's width (the terminal's, or $COLUMNS): one line per row,
    long terms elided in the middle (`--json` has them whole); narrow terminals lose optional columns."""
    from rich.console import Console

    console = console or Console()
    width = console.width
    cells = [_cells(r) for r in table_rows]
    title = elide_middle(f"esso-ngs batch report: {run_dir}", width)
    columns = [(name, justify) for name, justify, _ in _COLUMNS]
    unbounded = console.options.update_width(1_000_000)  # natural widths, not capped by the console
    steps: list[str | None] = [*DROP_ORDER, None]  # None: shorten spec and hole
    name_width: int | None = None
    while True:
        # The other columns at their natural width decide what is left for the term
        # (measured with a 1-cell term, so the header is the term column's widest cell).
        others = console.measure(_table(title, columns, cells, 1, name_width), options=unbounded).maximum
        term_width = width - others + cell_len(TERM_COLUMN)
        if term_width >= MIN_TERM_WIDTH or not steps:
            break
        step = steps.pop(0)
        if step is None:
            name_width = NARROW_NAME_WIDTH
        else:
            columns = [c for c in columns if c[0] != step]
    console.print(_table(title, columns, cells, max(term_width, 1), name_width))


def _ran(tier: str, level: int) -> bool:
    from ..verify.tiers import tier_level
    return tier_level(tier) >= level


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
