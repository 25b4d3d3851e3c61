"""`esso-ngs sygus export`: every benchmark spec exports, and the exported constraints
mean what esso-ngs's verifier means (intended terms valid, wrong terms fail at their witness)."""
from __future__ import annotations

from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import load_spec
from esso_ngs.sygus import SolveOptions, check, export_spec, parse_problem, solve
from esso_ngs.sygus.check import instantiate
from esso_ngs.verify import verify_terms

from benchspecs import manifest, spec_path

PREFIXES = [s["prefix"] for s in manifest()]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_exported_constraints_agree_with_the_verifier(prefix: str) -> None:
    entry = next(s for s in manifest() if s["prefix"] == prefix)
    spec = load_spec(spec_path(prefix))
    enums = spec.kernel.enum_index()
    intended = {h: parse_term(e["intended"]) for h, e in entry["holes"].items()}
    exported = export_spec(spec)
    assert [e.hole_id for e in exported] == [h.hole_id for h in spec.synth.holes]
    for e in exported:
        assert e.text.startswith("; SyGuS-IF 2.1") and "(check-synth)" in e.text
        assert f"(set-logic {e.logic})" in e.text
        p = parse_problem(e.text, e.file_name)  # our reader accepts what we write
        assert p.funs[0].name == e.hole_id and not p.funs[0].default_grammar
        terms = {f.name: intended[f.name] for f in p.funs}
        assert check(p, terms, 20_000).ok
        hole = entry["holes"][e.hole_id]
        for wrong in hole["wrong"]:
            witness = {k: enums[v] if isinstance(v, str) else v for k, v in hole["wrong_witness"][wrong].items()}
            values = [evaluate(c, witness) for _, c in instantiate(p, {**terms, e.hole_id: parse_term(wrong)})]
            assert not all(values), f"{wrong} passes the exported constraints at its witness"


def test_export_details_fee_bps() -> None:
    (e,) = export_spec(load_spec(spec_path("fee_bps")))
    assert e.logic == "NIA"
    assert "(define-fun safe_div ((a Int) (b Int)) Int (ite (= b 0) 0 (div a b)))" in e.text
    assert "((Expr Int) (Const Int) (Term Int))" in e.text  # 2.1: nonterminals declared first
    assert "(safe_div Term Const)" in e.text  # Const derives 0: the zero case matters
    assert "(declare-var amount Int)" in e.text and "(declare-var fee_bps Int)" in e.text
    assert e.text.count("(constraint ") == 3  # two semantic constraints and the reference


def test_export_lowering_choices() -> None:
    (swap,) = export_spec(load_spec(spec_path("swap_fee_total")))
    assert "safe_div" not in swap.text and "(div (* Atom Atom) Den)" in swap.text  # Den: non-zero literals
    (impact,) = export_spec(load_spec(spec_path("impact_cap")))
    assert "(define-fun esso_min" in impact.text and "(esso_min Out Cap)" in impact.text
    (cp,) = export_spec(load_spec(spec_path("cp_swap")))
    assert "(<= dir 1)" in cp.text and "(= dir 0)" in cp.text  # enum param: an Int index
    two = export_spec(load_spec(spec_path("breaker_window")))
    assert all("(synth-fun window_start_next" in e.text and "(synth-fun window_count_next" in e.text for e in two)
    (vault,) = export_spec(load_spec(spec_path("vault_total")))
    assert "(set-logic LIA)" in vault.text


def test_cli_export_and_solve_round_trip(tmp_path: Path, capsys) -> None:
    assert main(["sygus", "export", str(spec_path("fee_bps")), str(spec_path("lp_mint")), "-o", str(tmp_path)]) == 0
    written = capsys.readouterr().out.split()
    assert sorted(Path(w).name for w in written) == ["fee_bps.fee_expr.sl", "lp_mint.mint_amount.sl"]
    assert main(["synth", str(tmp_path / "lp_mint.mint_amount.sl"), "--timeout-ms", "30000"]) == 0
    assert "(define-fun mint_amount (" in capsys.readouterr().out


def test_solution_of_the_exported_file_verifies_under_the_verifier() -> None:
    spec = load_spec(spec_path("cp_swap"))
    (e,) = export_spec(spec)
    r = solve(parse_problem(e.text), SolveOptions(timeout_s=30))
    assert r.solved
    assert verify_terms(spec, r.terms).ok


def test_export_a_folder(tmp_path: Path, capsys) -> None:
    assert main(["sygus", "export", str(spec_path("fee_bps").parent), "-o", str(tmp_path)]) == 0
    assert len(capsys.readouterr().out.split()) == sum(len(s["holes"]) for s in manifest())
