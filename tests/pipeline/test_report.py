"""`esso-ngs report`: the table fits the terminal, terms are elided in the middle there
and whole in --json; the plot has its three panels."""
from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.cells import cell_len
from rich.console import Console

from esso_ngs.cli.main import main
from esso_ngs.pipeline.report import elide_middle, load_results, render_table, rows, times_label

LONG_TERM = "(ite (<= (safe_div (* amount reserve_b) reserve_a) reserve_b) " \
            "(safe_div (* amount reserve_b) reserve_a) (- reserve_b 1))"


def _hole(term: str, plain_s: float, hinted_s: float, first_s: float | None) -> dict:
    ranking = {"tier": "examples", "best": term, "best_stage": "single", "best_source": "mlx:smollm2-135m",
               "counts": {"candidates": 7, "cheap": 6, "examples": 2, "full": 0},
               "stages": [{"stage": "single", "backend": "mlx", "model_id": "smollm2-135m"}],
               "generation_s": 40.0}
    hinted = {"status": "solved", "term": term, "time_s": hinted_s, "found_by": "hint", "winning_hint": 0}
    if first_s is not None:
        hinted["time_to_first_verified_s"] = first_s
    return {"ranking": ranking, "plain": {"status": "solved", "term": term, "time_s": plain_s},
            "hinted": hinted, "speedup": plain_s / hinted_s}


def _run_dir(tmp_path: Path) -> Path:
    run = tmp_path / "runs" / "a-rather-long-run-directory-name-0123456789"
    run.mkdir(parents=True)
    (run / "run.json").write_text("{}")
    docs = {"constant_product_swap_with_a_long_name": {"amount_out_expression_hole": _hole(LONG_TERM, 12.0, 0.5, 0.2)},
            "fee_bps": {"fee_expr": _hole("(safe_div (* amount fee_bps) 10000)", 0.3, 0.6, None)}}
    for spec, holes in docs.items():
        doc = {"spec": spec, "status": "done", "holes": holes, "times": {"hints_s": 40.0}}
        (run / f"{spec}.result.json").write_text(json.dumps(doc))
    (run / "broken.result.json").write_text(json.dumps({"spec": "broken", "status": "error",
                                                       "error": "x" * 300}))
    return run


@pytest.mark.parametrize("width", [80, 120])
def test_table_fits_the_console_width(tmp_path: Path, width: int) -> None:
    run, docs = load_results(_run_dir(tmp_path))
    out = io.StringIO()
    render_table(run, rows(docs), Console(file=out, width=width))
    lines = out.getvalue().splitlines()
    assert max(cell_len(line) for line in lines) <= width
    body = "\n".join(lines)
    assert "…" in body and LONG_TERM not in body  # elided, in the middle: both ends shown
    term_line = next(line for line in lines if "amount_out" in line or "constant" in line)
    assert "(ite" in term_line and "1))" in term_line
    assert "fee_bps" in body and "error: xxx" in body
    assert len([line for line in lines if line.strip()]) == 3 + 3  # title, header, rule, one line per row


def test_columns_env_is_honoured_and_json_keeps_the_whole_term(tmp_path: Path, capsys,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    run = _run_dir(tmp_path)
    monkeypatch.setenv("COLUMNS", "80")
    assert main(["report", str(run), "--no-plot"]) == 0
    assert max(cell_len(line) for line in capsys.readouterr().out.splitlines()) <= 80
    assert main(["report", str(run), "--no-plot", "--json"]) == 0
    table = json.loads(capsys.readouterr().out)["rows"]
    swap = next(r for r in table if r["hole"] == "amount_out_expression_hole")
    assert swap["best"] == LONG_TERM
    # time to first verified: recorded when present, the solve time otherwise
    assert swap["hinted_first_s"] == 0.2 and swap["plain_first_s"] == 12.0
    assert swap["speedup_end_to_end"] == pytest.approx(12.0 / 40.5)


def test_elide_middle_and_speedup_labels() -> None:
    assert elide_middle("abcdefghij", 10) == "abcdefghij"
    assert elide_middle("abcdefghij", 5) == "ab…ij" and cell_len(elide_middle("abcdefghij", 6)) == 6
    assert [times_label(v) for v in (2.0, 0.6, 1.0, 3.25, 120.0, 0.0031)] == \
        ["2x", "0.6x", "1x", "3.2x", "120x", "0.0031x"]


def test_plot_has_both_speedups_and_the_scatter(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt
    from esso_ngs.pipeline import plot

    run, docs = load_results(_run_dir(tmp_path))
    figures = []
    real_close = plt.close
    plt.close = lambda fig: figures.append(fig)  # keep the figure to look at its axes
    try:
        path = plot.plot_speedups(run, rows(docs))
    finally:
        plt.close = real_close
    assert path == run / plot.PLOT_NAME and path.stat().st_size > 10_000
    synth, end_to_end, scatter = figures[0].axes
    assert "Synthesis" in synth.get_title() and "End-to-end" in end_to_end.get_title()
    figures[0].canvas.draw()
    ticks = [t.get_text() for t in synth.get_xticklabels() if t.get_text()]
    assert "1x" in ticks and all(t.endswith("x") and "^" not in t for t in ticks)
    assert [t.get_text() for t in synth.get_yticklabels()] == [
        "constant_product_swap_with_a_long_name:amount_out_expression_hole", "fee_bps:fee_expr"]
    assert {t.get_text() for t in synth.texts} == {"24x", "0.5x"}  # value labels on the bars
    assert scatter.get_xscale() == "log" and scatter.get_yscale() == "log"
    assert any(list(line.get_xdata()) == list(line.get_ydata()) for line in scatter.lines)  # the diagonal
    real_close(figures[0])


def test_report_without_matplotlib_names_the_extra(tmp_path: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util
    from esso_ngs import extras
    real = importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec",
                        lambda name, *a: None if name == "matplotlib" else real(name, *a))
    run = _run_dir(tmp_path)
    assert main(["report", str(run)]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and len(captured.err.strip().splitlines()) == 1
    assert "'plot' extra" in captured.err and "pip install 'matplotlib" in captured.err
    assert not (run / "speedups.png").exists()
    assert main(["report", str(run), "--no-plot"]) == 0  # the table needs no extra
