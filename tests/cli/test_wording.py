"""Counts agree with their nouns in what users read (`1 node`, never `1 nodes`)."""
from __future__ import annotations

import re

from esso_ngs.cli.main import main
from esso_ngs.wording import plural

from benchspecs import spec_path


def test_plural() -> None:
    assert [plural(n, "node") for n in (0, 1, 2)] == ["0 nodes", "1 node", "2 nodes"]
    assert plural(1, "branch", "branches") == "1 branch" and plural(3, "branch", "branches") == "3 branches"


def test_grammar_output_says_1_node(capsys) -> None:
    assert main(["grammar", "test", str(spec_path("fee_bps")), "amount"]) == 0
    out = capsys.readouterr().out
    assert "style: 1 node, ite depth 0, 0 branches" in out
    assert main(["grammar", "sample", str(spec_path("fee_bps")), "-n", "30", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"# 1 node, cost", out) and not re.search(r"\b1 nodes\b", out)
    assert main(["grammar", "check", str(spec_path("fee_bps"))]) == 0
    assert "0 errors, 0 warnings" in capsys.readouterr().out


def test_synth_verbose_prints_busy_levels_and_a_summary(capsys, tmp_path) -> None:
    assert main(["synth", str(spec_path("lp_mint")), "-v", "-o", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    levels = re.findall(r"level \d+: built (\d+), kept (\d+)", captured.err)
    assert levels and all(built != "0" or kept != "0" for built, kept in levels)
    summary = re.search(r"enumerated (\d+) cost levels \((\d+) with terms\)", captured.err)
    assert summary and int(summary.group(2)) == len(levels) < int(summary.group(1))
    assert "1 verifier call," in captured.out and " 1 verifier calls" not in captured.out
