"""`esso-ngs check` and `esso-ngs synth` as a user runs them: exit codes, output files, errors."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import yaml

from esso_ngs.cli.main import main
from esso_ngs.formats import load_kernel

from benchspecs import MALFORMED_DIR, spec_path


def test_check_verified_exits_0(capsys) -> None:
    rc = main(["check", str(spec_path("fee_bps")), "--term", "(safe_div (* amount fee_bps) 10000)", "-v"])
    out = capsys.readouterr().out
    assert rc == 0 and "VERIFIED" in out
    assert "rule 2" in out  # the site and the rule that found it


def test_check_refuted_exits_1_with_counterexample_json(capsys) -> None:
    rc = main(["check", str(spec_path("fee_bps")), "--term", "(safe_div (* amount fee_bps) 100)", "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 1 and data["status"] == "refuted"
    assert data["counterexample"]["inputs"] and data["counterexample"]["obligation"]


def test_check_bad_term_exits_2_in_one_line(capsys) -> None:
    rc = main(["check", str(spec_path("fee_bps")), "--term", "(safe_div amount"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "--term" in err
    rc = main(["check", str(spec_path("fee_bps")), "--term", "(+ amount nosuchvar)"])
    err = capsys.readouterr().err
    assert rc == 2 and "nosuchvar" in err


def test_check_on_every_malformed_spec_exits_2_in_one_line(capsys) -> None:
    expected = json.loads((MALFORMED_DIR / "expected.json").read_text())
    cases = {k: v for k, v in expected.items() if not k.startswith("_")}
    assert len(cases) >= 10
    for case in cases:
        target = MALFORMED_DIR / case
        spec_arg = target if target.name.endswith(".yaml") else target.with_name(
            target.name.replace(".synth.json", ".yaml"))
        if not spec_arg.exists():
            continue
        rc = main(["check", str(spec_arg), "--term", "0"])
        err = capsys.readouterr().err
        assert rc == 2, case
        assert len(err.strip().splitlines()) == 1, err
        assert "Traceback" not in err


def test_synth_writes_filled_kernel_and_result(tmp_path: Path, capsys) -> None:
    rc = main(["synth", str(spec_path("swap_fee_total")), "--output", str(tmp_path)])
    out = capsys.readouterr().out
    assert rc == 0 and "solved" in out
    result = json.loads((tmp_path / "result.json").read_text())
    hole = result["holes"]["swap_fee"]
    assert hole["status"] == "solved" and hole["z3_calls"] >= 1 and hole["candidates"] >= 1
    filled = tmp_path / "swap_fee_total_filled.yaml"
    kernel = load_kernel(filled)  # the filled kernel is a valid kernel again
    assert "div" in filled.read_text() and "safe_div" not in filled.read_text()
    assert kernel.actions


def test_synth_with_hints_file_and_trace(tmp_path: Path, capsys) -> None:
    from esso_ngs.formats import hints_to_json, load_spec, write_hints
    from esso_ngs.formats.model import HoleHints
    spec = load_spec(spec_path("best_quote"))
    term = "(ite (<= q0 q1) (ite (<= q1 q2) q2 q1) (ite (<= q0 q2) q2 q0))"
    hints = tmp_path / "best_quote.hints.json"
    write_hints(hints, hints_to_json(spec, [HoleHints("best_out", term, "test", 0)]))
    rc = main(["synth", str(spec_path("best_quote")), "--hints", str(hints), "--no-minimize",
               "--output", str(tmp_path / "out"), "-v"])
    captured = capsys.readouterr()
    assert rc == 0 and "hint #0" in captured.out
    assert "hint #0" in captured.err  # the trace
    # A hints file for another spec is refused.
    rc = main(["synth", str(spec_path("fee_bps")), "--hints", str(hints), "--output", str(tmp_path / "x")])
    assert rc == 2 and not (tmp_path / "x").exists()


def test_console_script_runs() -> None:
    done = subprocess.run([sys.executable, "-m", "esso_ngs.cli.main", "--help"], capture_output=True, text=True)
    assert done.returncode == 0 and "synth" in done.stdout


def test_synth_reports_a_verified_hint_at_once_then_the_proven_cheaper_term(tmp_path: Path, capsys,
                                                                            monkeypatch) -> None:
    from esso_ngs.cli import synth_cmd
    from esso_ngs.formats import hints_to_json, load_spec, write_hints
    from esso_ngs.formats.model import HoleHints
    import shutil
    # Without the notes' formula (it would be a hint ranked first): the file's hint is the first answer.
    for suffix in ("_hole.yaml", "_hole.synth.json"):  # (this spec has no reference kernel)
        text = spec_path("twap_accumulator").with_name("twap_accumulator" + suffix).read_text()
        if suffix == "_hole.yaml":
            text = text.replace("Synthesize: the TWAP accumulator increment, price * (now - last_ts), using",
                                "Synthesize: the TWAP accumulator increment, using")
            text = text.replace("# HOLE: price * elapsed time", "")
        (tmp_path / ("twap" + suffix)).write_text(text)
    spec_file = tmp_path / "twap_hole.yaml"
    spec = load_spec(spec_file)
    costly = "(- (* price now) (* price last_ts))"  # correct, 7 nodes; the answer has 5
    hints = tmp_path / "twap.hints.json"
    write_hints(hints, hints_to_json(spec, [HoleHints("twap_increment", costly, "test", 0)]))
    out = tmp_path / "out"
    seen: list[dict] = []  # result.json as each write leaves it
    real_write = synth_cmd.write_outputs

    def spy(spec_, result, out_dir):
        written = real_write(spec_, result, out_dir)
        seen.append(json.loads((out_dir / "result.json").read_text()))
        return written

    monkeypatch.setattr(synth_cmd, "write_outputs", spy)
    assert main(["synth", str(spec_file), "--hints", str(hints), "--output", str(out)]) == 0
    text = capsys.readouterr().out
    first = seen[0]["holes"]["twap_increment"]
    assert first["term"] == costly and first["minimal"] is False and first["found_by"] == "hint"
    final = json.loads((out / "result.json").read_text())["holes"]["twap_increment"]
    assert final["minimal"] is True and final["cost"] < first["cost"]
    assert final["time_to_first_s"] <= final["time_to_minimal_s"]
    # The hint is printed as soon as it is verified, before the final summary.
    assert text.index(f"{costly}  cost 7, verified at") < text.index("solved in")
    assert "proven minimal at" in text
