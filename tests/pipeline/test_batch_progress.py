"""What `batch` tells people while it runs: the spec, the hole and the stage, in a log too."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from esso_ngs.cli.main import main

from .helpers import spec_file

TINY = ["--samples", "3", "--max-tokens", "48", "--example-inputs", "4000", "--no-cache"]


def _specs(tmp_path: Path, prefix: str) -> Path:
    d = tmp_path / "specs"
    d.mkdir()
    for f in spec_file(prefix).parent.glob(f"{prefix}_*"):
        shutil.copy(f, d / f.name)
    return d


def test_batch_progress_names_spec_hole_and_stage_in_plain_lines(tmp_path: Path, tiny_model_dir: Path,
                                                                   capsys) -> None:
    specs = _specs(tmp_path, "fee_bps")
    assert main(["batch", str(specs), "--model", str(tiny_model_dir), *TINY, "--output", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    err = captured.err.splitlines()
    where = "fee_bps (1/1) fee_expr: "
    assert any(line.startswith(where + "prompt ") for line in err)
    samples = [line for line in err if line.startswith(where + "sample ")]
    assert [re.match(r".*sample (\d+ of \d+)", s).group(1) for s in samples] == ["1 of 3", "2 of 3", "3 of 3"]
    assert any(line.startswith(where + "verifying ") for line in err)
    assert "fee_bps (1/1) searching without hints" in err and "fee_bps (1/1) searching with hints" in err
    assert "1 spec done" in captured.out and "searching" not in captured.out  # stdout: the result only


def test_batch_quiet_prints_no_progress(tmp_path: Path, tiny_model_dir: Path, capsys) -> None:
    specs = _specs(tmp_path, "fee_bps")
    assert main(["batch", str(specs), "--model", str(tiny_model_dir), *TINY, "--quiet",
                 "--output", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    assert "fee_bps" not in captured.err and "sample" not in captured.err
    assert "1 spec done" in captured.out


def test_batch_json_prints_the_summary_on_stdout_and_progress_as_json_lines(tmp_path: Path, tiny_model_dir: Path,
                                                                            capsys) -> None:
    specs = _specs(tmp_path, "fee_bps")
    assert main(["batch", str(specs), "--model", str(tiny_model_dir), *TINY, "--json",
                 "--output", str(tmp_path / "run")]) == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    assert summary == json.loads((tmp_path / "run" / "summary.json").read_text())
    events = [json.loads(line) for line in captured.err.splitlines() if line.startswith("{")]
    assert [e["status"] for e in events if e["event"] == "spec"] == ["start", "done"]
    samples = [e for e in events if e["event"] == "sample"]
    assert len(samples) == 3 and all(e["context"] == "fee_bps" and e["hole"] == "fee_expr" for e in samples)
    assert {"label": "with hints"}.items() <= next(e for e in events if e.get("label") == "with hints").items()
