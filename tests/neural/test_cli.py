"""`esso-ngs hints` end to end on the tiny model."""
from __future__ import annotations

import json
from pathlib import Path

from esso_ngs.cli.main import main
from esso_ngs.formats import load_hints, load_spec

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"


def test_hints_command_prints_writes_and_caches(capsys, tiny_model_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "fee.hints.json"
    argv = ["hints", str(FEE), "--model", str(tiny_model_dir), "--samples", "6", "--temp", "1.0",
            "--seed", "3", "--max-tokens", "48", "--output", str(out)]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert "hole fee_expr: 6 samples" in first and "constrained, sampled" in first
    assert "in grammar" in first and "NOT in grammar" not in first and "mask cost" in first
    hints = load_hints(out, load_spec(FEE))  # hashes match the spec
    assert hints.holes[0].source.startswith("auto=mlx:")  # the auto choice is recorded
    assert main(argv) == 0
    second = capsys.readouterr().out
    assert "constrained, cached" in second
    strip = lambda s: [ln for ln in s.splitlines() if "samples (" not in ln and "mask cost" not in ln]  # noqa: E731
    assert strip(first) == strip(second)


def test_hints_json_and_show_prompt(capsys, tiny_model_dir: Path) -> None:
    assert main(["hints", str(FEE), "--model", str(tiny_model_dir), "--samples", "2", "--json", "--no-cache"]) == 0
    data = json.loads(capsys.readouterr().out)
    [hole] = data["holes"]
    assert hole["hole_id"] == "fee_expr" and hole["n_samples"] == 2 and hole["constrained"]
    assert main(["hints", str(FEE), "--model", str(tiny_model_dir), "--samples", "1", "--show-prompt",
                 "--no-cache"]) == 0
    assert "--- system" in capsys.readouterr().out


def test_hints_unknown_hole(capsys, tiny_model_dir: Path) -> None:
    assert main(["hints", str(FEE), "--model", str(tiny_model_dir), "--hole", "nope"]) == 2
    assert "no hole 'nope'" in capsys.readouterr().err
