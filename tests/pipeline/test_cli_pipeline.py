"""`batch`, `report`, `synth --neural-hints` and `hints` as a user runs them (tiny model, real mlx path)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.pipeline.records import SCHEMA, read_records
from esso_ngs.formats import load_hints, load_spec

from .helpers import INTENDED, WRONG, replay_file, spec_file

# Fast specs (well under a second each for the plain synthesizer); the benchmark runs them all.
BATCH_SPECS = ("fee_bps", "breaker_trip")
SYNTH_SPECS = ("fee_bps", "breaker_trip", "credit_single", "breaker_window")
TINY = ["--samples", "4", "--max-tokens", "48", "--example-inputs", "4000"]


def _spec_dir(tmp_path: Path, prefixes: tuple[str, ...]) -> Path:
    d = tmp_path / "specs"
    d.mkdir()
    for prefix in prefixes:
        for f in spec_file(prefix).parent.glob(f"{prefix}_*"):
            shutil.copy(f, d / f.name)
    return d


def test_batch_then_report(tmp_path: Path, tiny_model_dir: Path, capsys, monkeypatch: pytest.MonkeyPatch) -> None:
    specs = _spec_dir(tmp_path, BATCH_SPECS)
    run = tmp_path / "run"
    argv = ["batch", str(specs), "--model", str(tiny_model_dir), *TINY, "--output", str(run)]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "2 specs done (2 now, 0 earlier)" in out
    for prefix in BATCH_SPECS:
        load_hints(run / f"{prefix}.hints.json", load_spec(specs / f"{prefix}_hole.yaml"))  # hashes match
        doc = json.loads((run / f"{prefix}.result.json").read_text())
        assert doc["status"] == "done" and doc["plain"]["solved"] and doc["hinted"]["solved"]
        assert doc["speedup"] > 0 and doc["times"]["hints_s"] > 0
    summary = json.loads((run / "summary.json").read_text())
    assert summary["totals"]["done"] == 2 and summary["totals"]["solved_hinted"] == 2
    assert [s["spec"] for s in summary["specs"]] == sorted(BATCH_SPECS)
    records = read_records(run / "records.jsonl")
    assert {r["schema"] for r in records} == {SCHEMA}
    solutions = [r for r in records if r["kind"] == "solution"]
    assert {r["spec"] for r in solutions} == set(BATCH_SPECS)
    assert all(r["prompt"]["messages"] and r["term"] for r in solutions)
    before = (run / "summary.json").read_text()

    # resumable: the rerun skips both specs and changes nothing
    assert main(argv) == 0
    assert "2 specs done (0 now, 2 earlier)" in capsys.readouterr().out
    assert (run / "summary.json").read_text() == before
    # other settings in the same directory are refused, in one line
    assert main([*argv, "--validate", "full"]) == 2
    err = capsys.readouterr().err
    assert "other settings" in err and len(err.strip().splitlines()) == 1

    assert main(["report", str(run), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    rows = report["rows"]
    assert [(r["spec"], r["hole"]) for r in rows] == [("breaker_trip", "trip_cond"), ("fee_bps", "fee_expr")]
    for r in rows:
        assert r["stage_model"].startswith("single auto=mlx:") and r["candidates"] >= 1
        assert r["cheap_ok"] <= r["candidates"] and r["examples_ok"] <= r["cheap_ok"]
        assert r["plain_s"] > 0 and r["hinted_s"] > 0 and r["speedup"] > 0
    try:
        import matplotlib  # noqa: F401
        assert Path(report["plot"]).is_file() and Path(report["plot"]).stat().st_size > 1000
    except ImportError:
        assert report["plot"] is None
    monkeypatch.setenv("COLUMNS", "200")  # wide enough for every column
    assert main(["report", str(run), "--no-plot"]) == 0
    table = capsys.readouterr().out
    assert "fee_bps" in table and "speedup" in table and "stage / model" in table


@pytest.mark.parametrize("prefix", SYNTH_SPECS)
def test_synth_neural_hints_solves_what_plain_synthesis_solves(prefix: str, tmp_path: Path,
                                                               tiny_model_dir: Path, capsys) -> None:
    out = tmp_path / "out"
    assert main(["synth", str(spec_file(prefix)), "--output", str(tmp_path / "plain")]) == 0
    capsys.readouterr()
    assert main(["synth", str(spec_file(prefix)), "--neural-hints", "--model", str(tiny_model_dir), *TINY,
                 "--output", str(out), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    result = json.loads((out / "result.json").read_text())
    assert printed == result
    assert result["solved"]
    plain = json.loads((tmp_path / "plain" / "result.json").read_text())
    for hole_id, h in result["holes"].items():
        assert h["cost"] == plain["holes"][hole_id]["cost"]  # same objective, same optimum
    neural = json.loads((out / "neural_hints.json").read_text())
    # Anytime: generation stops for holes solved and proven before their hints were needed.
    assert set(neural["holes"]) <= set(result["holes"])
    kinds = {r["kind"] for r in read_records(out / "records.jsonl")}
    assert "solution" in kinds


def test_synth_with_replayed_exact_hints_wins_by_hint(tmp_path: Path, capsys) -> None:
    src = replay_file(tmp_path / "exact.json", {"fee_expr": [WRONG["fee_bps"]["fee_expr"][0], INTENDED["fee_bps"]["fee_expr"]]})
    out = tmp_path / "out"
    assert main(["synth", str(spec_file("fee_bps")), "--neural-hints", "--backend", "replay", "--model", str(src),
                 "--wait-for-hints", "--output", str(out)]) == 0
    text = capsys.readouterr().out
    assert "by hint (hint #0)" in text and "neural hints in" in text
    records = read_records(out / "records.jsonl")
    failed = [r for r in records if r["kind"] == "failed_candidate"]
    assert failed and failed[0]["term"] == WRONG["fee_bps"]["fee_expr"][0]
    assert failed[0]["failed_tier"] == "examples" and failed[0]["counterexample"]["inputs"]


def test_hints_command_writes_the_ranked_file(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    out = tmp_path / "fee.hints.json"
    assert main(["hints", str(spec_file("fee_bps")), "--model", str(tiny_model_dir), "--samples", "4",
                 "--max-tokens", "48", "--validate", "cheap", "--output", str(out)]) == 0
    assert "ranked (cheap tier)" in capsys.readouterr().out
    [hole] = load_hints(out, load_spec(spec_file("fee_bps"))).holes
    assert hole.candidates and all(c.extra["tiers"]["cheap"] for c in hole.candidates[:1])


def test_bad_input_is_one_line_and_leaves_nothing(tmp_path: Path, capsys) -> None:
    empty = tmp_path / "empty"
    empty.mkdir()
    run = tmp_path / "run"
    cases = [
        ["batch", str(empty), "--model", "x", "--output", str(run)],
        ["batch", str(_spec_dir(tmp_path, ("fee_bps",))), "--model", str(tmp_path / "no-model"), "--output", str(run)],
        ["batch", str(tmp_path / "specs"), "--backend", "replay", "--model", str(tmp_path / "none.json"),
         "--output", str(run)],
        ["batch", str(tmp_path / "specs"), "--model", "m", "--two-stage", "--output", str(run)],
        ["report", str(tmp_path)],
        ["report", str(tmp_path / "nowhere")],
        ["synth", str(spec_file("fee_bps")), "--neural-hints", "--output", str(run)],
        ["synth", str(spec_file("fee_bps")), "--neural-hints", "--model", "m", "--hints", "h.json",
         "--output", str(run)],
        ["synth", str(spec_file("fee_bps")), "--neural-hints", "--backend", "replay", "--model",
         str(tmp_path / "none.json"), "--output", str(run)],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err
        assert err.startswith("esso-ngs: error:") and len(err.strip().splitlines()) == 1, (argv, err)
        assert not run.exists(), argv
