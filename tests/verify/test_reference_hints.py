"""Hints from the reference kernel: its term at each of the hole's sites (whole field,
`# HOLE:` comment, `{hole: id}` node), in the grammar's operators, only when in the grammar
and over the hole's names; ranked after the notes' formulas in the pipeline's intake."""
from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

from esso_ngs.cli.main import main
from esso_ngs.formats import load_kernel, load_spec
from esso_ngs.formats.model import Spec
from esso_ngs.pipeline.intent import with_stated_hints
from esso_ngs.synth import Hint, SynthOptions, synthesize
from esso_ngs.verify.reference_hints import reference_hint_terms

ROOT = Path(__file__).resolve().parents[2]
FEE = ROOT / "tests" / "fixtures" / "fee"
FEE_TERM = "(safe_div (* amount bps) 10000)"


def _copy(src: Path, names: tuple[str, ...], dest: Path) -> None:
    for name in names:
        shutil.copy(src / name, dest / name)


def _fee(tmp_path: Path, used_in: tuple[str, ...] = ("fee", "total"), ref: tuple[str, str] | None = None,
         notes: str | None = None) -> Spec:
    """The fee fixture: `fee` is the whole field, `total` is `(+ total HOLE)` by a `# HOLE:` comment."""
    _copy(FEE, ("fee_hole.yaml", "fee_hole.synth.json", "fee_ref.yaml"), tmp_path)
    synth = json.loads((tmp_path / "fee_hole.synth.json").read_text())
    synth["holes"][0]["used_in"] = [{"action": "quote", "field": f} for f in used_in]
    (tmp_path / "fee_hole.synth.json").write_text(json.dumps(synth))
    if ref is not None:
        text = (tmp_path / "fee_ref.yaml").read_text()
        assert ref[0] in text
        (tmp_path / "fee_ref.yaml").write_text(text.replace(*ref))
    if notes is not None:
        kernel = tmp_path / "fee_hole.yaml"
        kernel.write_text(kernel.read_text().replace(
            '"Synthesize: fee = amount * bps / 10000; total accumulates the fee"', json.dumps(notes)))
    return load_spec(tmp_path / "fee_hole.yaml")


def test_hard_specs_reference_in_the_grammars_operators() -> None:
    spec = load_spec(ROOT / "benchmarks" / "specs_hard" / "vault_shares_hole.yaml")
    # The reference's `div` becomes the grammar's `safe_div`.
    assert reference_hint_terms(spec, "shares") == [
        "(ite (= total_supply 0) assets (safe_div (* assets total_supply) total_assets))"]
    clamp = load_spec(ROOT / "benchmarks" / "specs_hard" / "clamp_price_hole.yaml")
    assert reference_hint_terms(clamp, "clamped") == ["(ite (<= p lo) lo (ite (<= hi p) hi p))"]


def test_min_becomes_ite_where_the_grammar_has_no_min() -> None:
    spec = load_spec(ROOT / "benchmarks" / "specs" / "lp_mint_hole.yaml")
    ratio0, ratio1 = "(safe_div (* amount0 total_supply) reserve0)", "(safe_div (* amount1 total_supply) reserve1)"
    # lp_mint's hole stands in two places (an explicit node inside `+`, and a whole
    # effect): the same term at both, so one hint.
    assert reference_hint_terms(spec, "mint_amount") == [f"(ite (<= {ratio0} {ratio1}) {ratio0} {ratio1})"]


def test_site_inside_a_larger_expression(tmp_path: Path) -> None:
    # Only `total := (+ total HOLE)` (a `# HOLE:` comment site): the reference's
    # argument 2 of `+`, not its whole field.
    assert reference_hint_terms(_fee(tmp_path, used_in=("total",)), "fee_expr") == [FEE_TERM]
    # An explicit `{hole: protocol_cut}` node inside `+`.
    src = ROOT / "benchmarks" / "specs"
    _copy(src, ("protocol_fee_split_hole.yaml", "protocol_fee_split_hole.synth.json", "protocol_fee_split_ref.yaml"),
          tmp_path)
    synth = json.loads((tmp_path / "protocol_fee_split_hole.synth.json").read_text())
    synth["holes"][0]["used_in"] = [{"action": "swap", "field": "protocol_fees"}]
    (tmp_path / "protocol_fee_split_hole.synth.json").write_text(json.dumps(synth))
    spec = load_spec(tmp_path / "protocol_fee_split_hole.yaml")
    assert [s.path for s in spec.sites_of("protocol_cut")] == [(1,)]
    assert reference_hint_terms(spec, "protocol_cut") == [
        "(safe_div (* (safe_div (* amount_in fee_bps) 10000) protocol_share_bps) 10000)"]


def test_no_hint_where_the_fields_differ_outside_the_site(tmp_path: Path) -> None:
    # The reference adds in the other order: argument 2 of its `+` is `total`, not the fee.
    swapped = ("            - {var: total}\n            - {op: div, args: [{op: \"*\", args: [{param: amount}, "
               "{var: bps}]}, {const: 10000}]}\n",
               "            - {op: div, args: [{op: \"*\", args: [{param: amount}, {var: bps}]}, {const: 10000}]}\n"
               "            - {var: total}\n")
    assert reference_hint_terms(_fee(tmp_path, used_in=("total",), ref=swapped), "fee_expr") == []


def test_a_hole_in_several_places_gives_each_distinct_term_once(tmp_path: Path) -> None:
    assert reference_hint_terms(_fee(tmp_path), "fee_expr") == [FEE_TERM]
    # The reference's effect writes the product the other way round (outside the
    # grammar: its Term has only `(* amount bps)`): only the update's term is a hint.
    other = ("      fee: {op: div, args: [{op: \"*\", args: [{param: amount}, {var: bps}]}",
             "      fee: {op: div, args: [{op: \"*\", args: [{var: bps}, {param: amount}]}")
    assert reference_hint_terms(_fee(tmp_path, ref=other), "fee_expr") == [FEE_TERM]


def test_a_reference_outside_the_grammar_gives_no_hint(tmp_path: Path) -> None:
    other = ("      fee: {op: div, args: [{op: \"*\", args: [{param: amount}, {var: bps}]}",
             "      fee: {op: div, args: [{op: \"*\", args: [{var: bps}, {param: amount}]}")
    assert reference_hint_terms(_fee(tmp_path, used_in=("fee",), ref=other), "fee_expr") == []


def test_no_reference_no_hint(tmp_path: Path) -> None:
    spec = _fee(tmp_path)
    assert reference_hint_terms(dataclasses.replace(spec, ref=None), "fee_expr") == []
    assert reference_hint_terms(load_spec(ROOT / "benchmarks" / "specs" / "twap_accumulator_hole.yaml"),
                                "twap_increment") == []


def test_drifting_references(tmp_path: Path) -> None:
    # Drift the loader accepts (the reference lacks an unused state var and an action): the hint stands.
    text = (FEE / "fee_ref.yaml").read_text()
    drifted = text.replace("  - {id: dir, type: {kind: enum_ref, name: t_dir}}\n", "") \
        .replace("  - {var: dir, expr: {enum: AForB}}\n", "")
    _copy(FEE, ("fee_hole.yaml", "fee_hole.synth.json"), tmp_path)
    (tmp_path / "fee_ref.yaml").write_text(drifted[: drifted.index("  - id: flip")])
    spec = load_spec(tmp_path / "fee_hole.yaml")
    assert spec.warnings and reference_hint_terms(spec, "fee_expr") == [FEE_TERM]
    # A reference whose fee reads a name the hole kernel lacks (the loader refuses such a
    # file; a library caller may still build the spec): no hint there, no crash; the
    # update's term, over known names, is still one.
    other = tmp_path / "other"
    other.mkdir()
    (other / "fee_ref.yaml").write_text(text.replace("  - {id: bps, role: config",
                                                     "  - {id: rate, role: config, type: {kind: int, min: 0, max: 9}}\n"
                                                     "  - {id: bps, role: config")
                                        .replace("      fee: {op: div, args: [{op: \"*\", args: [{param: amount}, "
                                                 "{var: bps}]}",
                                                 "      fee: {op: div, args: [{op: \"*\", args: [{param: amount}, "
                                                 "{var: rate}]}"))
    ref = load_kernel(other / "fee_ref.yaml")
    assert reference_hint_terms(dataclasses.replace(spec, ref=ref), "fee_expr") == [FEE_TERM]
    fee_only = dataclasses.replace(_fee(_fresh(tmp_path, "fee_only"), used_in=("fee",)), ref=ref)
    assert reference_hint_terms(fee_only, "fee_expr") == []
    assert [(h.term, h.source) for h in with_stated_hints(fee_only, None)["fee_expr"]] == [(FEE_TERM, "notes")]


def _fresh(tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    out.mkdir()
    return out


def test_intake_ranks_notes_then_reference_then_the_rest(tmp_path: Path) -> None:
    spec = load_spec(ROOT / "benchmarks" / "specs_hard" / "vault_shares_hole.yaml")
    ref_term = "(ite (= total_supply 0) assets (safe_div (* assets total_supply) total_assets))"
    hints = with_stated_hints(spec, {"shares": [Hint("assets", 0.9, "model"), Hint(ref_term, 0.5, "model")]})
    # The reference's term moves up instead of appearing twice.
    assert [(h.term, h.source) for h in hints["shares"]] == [(ref_term, "reference"), ("assets", "model")]
    # Notes stating another formula rank first; one the reference repeats keeps the notes' tag.
    spec = _fee(tmp_path, notes="Synthesize: fee = amount * bps / 100")
    assert [(h.term, h.source) for h in with_stated_hints(spec, None)["fee_expr"]] == [
        ("(safe_div (* amount bps) 100)", "notes"), (FEE_TERM, "reference")]
    same = _fee(_fresh(tmp_path, "same"), notes="Synthesize: fee = amount * bps / 10000")
    assert [(h.term, h.source) for h in with_stated_hints(same, None)["fee_expr"]] == [(FEE_TERM, "notes")]


def test_a_wrong_reference_hint_is_verified_like_any_other(tmp_path: Path) -> None:
    """A reference whose two places disagree (the fee is `amount * bps / 10000`, the
    total grows by `amount / 100`): one hint per place, each refuted by the other
    place, never taken as the answer."""
    update = ("            - {op: div, args: [{op: \"*\", args: [{param: amount}, {var: bps}]}, {const: 10000}]}\n",
              "            - {op: div, args: [{param: amount}, {const: 100}]}\n")
    spec = _fee(tmp_path, ref=update)
    terms = reference_hint_terms(spec, "fee_expr")
    assert terms == [FEE_TERM, "(safe_div amount 100)"]
    result = synthesize(spec, {"fee_expr": [Hint(t, 1.0, "reference") for t in terms]}, SynthOptions(max_candidates=2_000, timeout_ms=60_000))
    hole = result.hole("fee_expr")
    assert [(u.term, u.status) for u in hole.hints] == [(FEE_TERM, "refuted"), ("(safe_div amount 100)", "refuted")]
    assert hole.status != "solved"


def test_synth_tries_the_reference_first_and_says_so(tmp_path: Path, capsys) -> None:
    spec = ROOT / "benchmarks" / "specs_hard" / "vault_shares_hole.yaml"
    assert main(["synth", str(spec), "--no-minimize", "-v", "-o", str(tmp_path), "--json"]) == 0
    captured = capsys.readouterr()
    hole = json.loads(captured.out)["holes"]["shares"]
    assert (hole["found_by"], hole["winning_hint"]) == ("hint", 0)
    assert hole["term"] == "(ite (= total_supply 0) assets (safe_div (* assets total_supply) total_assets))"
    assert f"[shares] hint #0 {hole['term']} (from reference): verified" in captured.err


def test_no_stated_hints_leaves_the_search_alone(tmp_path: Path, capsys) -> None:
    spec = ROOT / "benchmarks" / "specs_hard" / "vault_shares_hole.yaml"
    # A deterministic budget far below what the search needs for this 10-node answer.
    rc = main(["synth", str(spec), "--no-stated-hints", "--max-candidates", "2000", "-o", str(tmp_path), "--json"])
    hole = json.loads(capsys.readouterr().out)["holes"]["shares"]
    assert rc == 1 and hole["status"] != "solved" and hole["hints"] == []
