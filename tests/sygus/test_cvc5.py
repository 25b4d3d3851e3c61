"""cvc5 as the peer: it parses every exported spec and our .sl problems, its answer on an
easy exported spec verifies under esso-ngs's verifier, and it accepts our answers.
Skipped without cvc5 (optional extra "peer": pip install cvc5==1.4.2)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("cvc5")

from esso_ngs.formats import load_spec
from esso_ngs.sygus import export_spec, format_solution, load_problem, parse_problem, read_solutions, solve
from esso_ngs.sygus import cvc5_peer
from esso_ngs.verify import verify_terms

from benchspecs import manifest, spec_path

ROOT = Path(__file__).resolve().parents[2]
BENCH = ROOT / "benchmarks" / "sygus"
PEER = ROOT / "esso_ngs" / "sygus" / "cvc5_peer.py"


@pytest.mark.parametrize("prefix", [s["prefix"] for s in manifest()])
def test_cvc5_parses_every_exported_spec(prefix: str, tmp_path: Path) -> None:
    for e in export_spec(load_spec(spec_path(prefix))):
        path = tmp_path / e.file_name
        path.write_text(e.text)
        assert cvc5_peer.parse_file(path) >= 3


@pytest.mark.parametrize("path", sorted(BENCH.glob("*.sl")), ids=lambda p: p.stem)
def test_cvc5_parses_our_sl_problems(path: Path) -> None:
    assert cvc5_peer.parse_file(path) >= 3


def run_cvc5(path: Path, si: str, timeout: float = 60) -> dict:
    # A process of its own: cvc5 ignores time limits inside checkSynth.
    out = subprocess.run([sys.executable, str(PEER), str(path), "--si", si], capture_output=True, text=True,
                         timeout=timeout, check=True)
    return json.loads(out.stdout)


@pytest.mark.parametrize("prefix", ["fee_bps", "withdraw_pro_rata"])
def test_cvc5_answer_on_an_exported_spec_verifies(prefix: str, tmp_path: Path) -> None:
    spec = load_spec(spec_path(prefix))
    (e,) = export_spec(spec)
    path = tmp_path / e.file_name
    path.write_text(e.text)
    answer = run_cvc5(path, "none")
    assert answer["status"] == "solved", answer
    terms = read_solutions(answer["output"], load_problem(path), "cvc5")
    assert verify_terms(spec, terms).ok


def test_cvc5_accepts_our_answers(tmp_path: Path) -> None:
    for name in ("max3", "inv_counter", "two_funs", "lp_mint_min"):
        p = load_problem(BENCH / f"{name}.sl")
        text = format_solution(p, solve(p).terms)
        assert cvc5_peer.check_solution(BENCH / f"{name}.sl", text) == "valid", name
    wrong = "(define-fun inv ((x Int)) Bool (<= x 99))"
    assert cvc5_peer.check_solution(BENCH / "inv_counter.sl", wrong) == "invalid"


def test_cvc5_rejects_2_0_forms_that_we_accept() -> None:
    # Why import takes 2.0: SyGuS-Comp's per-year folders use it and cvc5 1.4.2 refuses them.
    data = Path(__file__).parent / "data"
    for name in ("min3_v20.sl", "inv_countdown_v20.sl"):
        parse_problem((data / name).read_text())
        with pytest.raises(RuntimeError):
            cvc5_peer.parse_file(data / name)


def test_cvc5_check_reads_constraints_written_with_a_space_after_the_parenthesis(tmp_path: Path) -> None:
    path = tmp_path / "spaced.sl"  # the SyGuS-Comp mpg files write `( constraint ...)`
    path.write_text("(set-logic LIA)\n(synth-fun f ((x Int)) Int)\n(declare-var x Int)\n"
                    "( constraint (= (f x) (+ x 1)))\n(check-synth)\n")
    assert "(assert (not (= (f x) (+ x 1))))" in cvc5_peer.smt_check_text(path, "(define-fun f ((x Int)) Int (+ x 1))")
    assert cvc5_peer.check_solution(path, "(define-fun f ((x Int)) Int (+ x 1))") == "valid"
    assert cvc5_peer.check_solution(path, "(define-fun f ((x Int)) Int x)") == "invalid"
