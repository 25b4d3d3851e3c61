"""`grammar check` lists every bad rule at once, in file order, with suggestions;
`synth` still refuses the first one (exit 2, one line)."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from esso_ngs.cli.main import main

from .helpers import SPECS

PRODUCTIONS = {
    "Const": ["100", "10000"],
    "Term": ["amout", "fee_bps", "(* amount fee_bps)", "(pow amount 2)", "(+ amount (< amount 1))"],
    "Expr": ["Term", "(safe_div Term Konst)", "(safe_div Term Const Const)"],
}


@pytest.fixture
def bad_spec(tmp_path: Path) -> Path:
    shutil.copy(SPECS / "fee_bps_hole.yaml", tmp_path / "bad_hole.yaml")
    synth = json.loads((SPECS / "fee_bps_hole.synth.json").read_text())
    synth["grammars"][0]["productions"] = PRODUCTIONS
    (tmp_path / "bad_hole.synth.json").write_text(json.dumps(synth, indent=2))
    return tmp_path / "bad_hole.yaml"


def test_check_lists_every_error_in_file_order(bad_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["grammar", "check", str(bad_spec)])
    out = capsys.readouterr().out
    assert rc == 1
    errors = [line for line in out.splitlines() if line.startswith("  error: ")]
    assert len(errors) == 5
    assert "Term[0]" in errors[0] and "did you mean `amount`?" in errors[0]
    assert "Term[3]" in errors[1] and "unknown operator 'pow'" in errors[1] and "(operators: " in errors[1]
    assert "safe_div" in errors[1].split("(operators: ")[1]
    # the grammar's own diagnostics join the loader's errors in file order
    assert "Term[4]" in errors[2] and "[type-error]" in errors[2]
    assert "Expr[1]" in errors[3] and "did you mean `Const`?" in errors[3]
    assert "Expr[2]" in errors[4] and "safe_div takes 2 arguments, got 3" in errors[4]
    lines = [int(e.split(".synth.json:")[1].split(":")[0]) for e in errors]
    assert lines == sorted(lines)
    assert "grammar G_fee" in out  # the rest of the grammar is still checked


def test_check_json(bad_spec: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["grammar", "check", str(bad_spec), "--json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 1
    assert [e["field"] for e in data["rule_errors"]] == [
        "grammars[0].productions.Term[0]", "grammars[0].productions.Term[3]",
        "grammars[0].productions.Expr[1]", "grammars[0].productions.Expr[2]"]
    assert all(isinstance(e["line"], int) for e in data["rule_errors"])
    [hole] = data["holes"]
    assert [e["field"] for e in hole["errors"]][2] == "grammars[0].productions.Term[4]"


def test_synth_refuses_the_first_error(bad_spec: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["synth", str(bad_spec), "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1
    assert "productions.Term[0]" in err and "amout" in err
    assert not (tmp_path / "out").exists()
