"""`esso-ngs grammar ...` end to end, on a benchmark spec."""
from __future__ import annotations

import json
import re

import pytest

from esso_ngs.cli.main import main

from .helpers import SPECS

FEE_SPEC = SPECS / "fee_bps_hole.yaml"
TWO_HOLES = SPECS / "breaker_window_hole.yaml"
pytestmark = pytest.mark.skipif(not FEE_SPEC.is_file(), reason="benchmarks/specs not present")


def run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["grammar", *argv])
    out = capsys.readouterr()
    return rc, out.out, out.err


def test_check(capsys):
    rc, out, _ = run(capsys, "check", str(FEE_SPEC))
    assert rc == 0
    assert "grammar G_fee" in out and "distinct terms by size" in out and "0 errors" in out


def test_check_all_holes_json(capsys):
    rc, out, _ = run(capsys, "check", str(TWO_HOLES), "--json")
    data = json.loads(out)
    assert rc == 0 and len(data["holes"]) == 2
    assert all(h["counts_by_size"][0] == 0 for h in data["holes"])


def test_test_exit_codes(capsys):
    rc, out, _ = run(capsys, "test", str(FEE_SPEC), "(safe_div (* amount fee_bps) 10000)")
    assert rc == 0 and out.startswith("IN") and "cost 5" in out
    rc, out, _ = run(capsys, "test", str(FEE_SPEC), "(safe_div (* amount fee_bps) 10000)",
                     "(safe_div (* fee_bps amount) 10000)")
    assert rc == 1 and "argument order matters" in out
    rc, out, _ = run(capsys, "test", str(FEE_SPEC), "(safe_div amount")
    assert rc == 2 and "BAD TERM" in out


def test_test_json_and_derivation(capsys):
    rc, out, _ = run(capsys, "test", str(FEE_SPEC), "(safe_div fee_bps 7)", "--json")
    data = json.loads(out)
    r = data["results"][0]
    assert rc == 1 and r["failing_subterm"] == "7" and r["expected"] == "Const" and r["path"] == [1]
    rc, out, _ = run(capsys, "test", str(FEE_SPEC), "amount", "-v")
    assert rc == 0 and "Expr -> Term -> amount" in out


def test_test_verify_flag(capsys):
    rc, out, _ = run(capsys, "test", str(FEE_SPEC), "(safe_div (* amount fee_bps) 10000)", "--verify")
    assert rc == 0 and "verify:" in out  # a verdict, or the verifier's failure, never a traceback


def test_sample_and_show(capsys):
    rc, out, _ = run(capsys, "sample", str(FEE_SPEC), "-n", "7", "--seed", "2")
    lines = out.strip().splitlines()
    assert rc == 0 and len(lines) == 7 and all(re.search(r"# (1 node|\d+ nodes), cost", line) for line in lines)
    rc, out, _ = run(capsys, "show", str(FEE_SPEC))
    assert rc == 0 and out.startswith("//") and "start: nt_expr" in out
    rc, out, _ = run(capsys, "show", str(FEE_SPEC), "--bounded")
    assert rc == 0 and "bounded: height <=" in out


def test_several_holes_need_a_hole(capsys):
    rc, _, err = run(capsys, "show", str(TWO_HOLES))
    assert rc == 2 and "pass --hole ID" in err
    rc, out, _ = run(capsys, "show", str(TWO_HOLES), "--hole", "window_count_next")
    assert rc == 0 and "start:" in out
