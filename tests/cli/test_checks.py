"""The shared option range check, output directories and their lock (issue 11, items 4, 8, 10)."""
from __future__ import annotations

import argparse
import math
from pathlib import Path

import pytest

from esso_ngs.cli.checks import RANGES, check_option_values, flag_of
from esso_ngs.errors import UserError
from esso_ngs.fsutil import LOCK_NAME, locked_output_dir, output_dir, output_file


@pytest.mark.parametrize("dest, value, ok", [
    ("timeout_ms", 1, True), ("timeout_ms", 0, False), ("timeout_ms", -5, False),
    ("max_candidates", -1, False), ("n", 100_000, True), ("n", 100_001, False), ("n", 0, False),
    ("seed", 0, True), ("seed", -1, False), ("nh_top_p", 1.0, True), ("nh_top_p", 0.0, False),
    ("nh_temp", math.nan, False), ("max_memory_mb", 1, True), ("budget_s", 0.0, False),
])
def test_ranges(dest: str, value: float, ok: bool) -> None:
    args = argparse.Namespace(**{dest: value})
    if ok:
        check_option_values(args)
    else:
        with pytest.raises(UserError, match=f"^{flag_of(dest)} must be "):
            check_option_values(args)


def test_absent_options_and_flags() -> None:
    check_option_values(argparse.Namespace(timeout_ms=None, other=-3))
    assert flag_of("nh_samples") == "--samples" and flag_of("n") == "-n" and "timeout_ms" in RANGES


def test_output_paths(tmp_path: Path) -> None:
    (tmp_path / "f").write_text("x")
    with pytest.raises(UserError, match="exists and is not a directory"):
        output_dir(tmp_path / "f")
    with pytest.raises(UserError, match="is a directory"):
        output_file(tmp_path)
    assert output_dir(tmp_path / "new" / "deep").is_dir()


def test_lock_is_exclusive_and_leaves_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with locked_output_dir(out) as d:
        assert (d / LOCK_NAME).is_file()
        with pytest.raises(UserError, match="another esso-ngs run"):
            with locked_output_dir(out):
                pass
        (d / "result.json").write_text("{}")
    assert not (out / LOCK_NAME).exists() and (out / "result.json").is_file()
    with locked_output_dir(tmp_path / "unused"):
        pass
    assert not (tmp_path / "unused").exists()  # created for nothing: removed again


@pytest.mark.parametrize("argv", [["synth"], ["check"], ["grammar", "check"], ["grammar", "sample"],
                                  ["sygus", "check"], ["batch"], ["hints"]])
def test_help_of_every_command_renders(argv: list[str], capsys) -> None:
    from esso_ngs.cli.main import main

    with pytest.raises(SystemExit) as info:
        main([*argv, "--help"])
    assert info.value.code == 0 and "usage:" in capsys.readouterr().out
