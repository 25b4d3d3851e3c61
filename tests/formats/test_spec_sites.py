from __future__ import annotations

from pathlib import Path
from typing import Any, Callable

import pytest

from esso_ngs.lang.expr import Const, Op, Var
from esso_ngs.formats import Site, load_spec
from esso_ngs.formats.sites import describe_path, placeholder_diffs

Write = Callable[[str, Any], Path]
FEE = "      fee: {const: 0}\n"


def _spec(write: Write, kernel_text: str, synth: dict, fee: str, ref_fee: str | None = None):
    assert FEE in kernel_text
    write("mini_hole.yaml", kernel_text.replace(FEE, fee))
    write("mini_hole.synth.json", synth)
    if ref_fee is not None:
        write("mini_ref.yaml", kernel_text.replace(FEE, ref_fee))
    return load_spec(write("mini_hole.yaml", kernel_text.replace(FEE, fee)))


def _site(spec, hole_id: str = "fee_expr") -> Site:
    (site,) = spec.sites_of(hole_id)
    return site


def test_rule1_explicit_hole(write: Write, kernel_text: str, make_synth) -> None:
    spec = _spec(write, kernel_text, make_synth(),
                 "      fee: {op: \"+\", args: [{const: 1}, {hole: fee_expr}]}\n")
    site = _site(spec)
    assert (site.rule, site.path) == (1, (1,))
    assert "explicit" in site.reason and "argument 2 of `+`" in site.reason


def test_rule1_beats_rule2_elsewhere(write: Write, kernel_text: str, make_synth) -> None:
    spec = _spec(write, kernel_text, make_synth(), "      fee: {hole: fee_expr}\n")
    assert (_site(spec).rule, _site(spec).path) == (1, ())


def test_rule2_whole_field(write: Write, kernel_text: str, make_synth) -> None:
    site = _site(_spec(write, kernel_text, make_synth(), FEE))
    assert (site.rule, site.path) == (2, ())
    assert "whole field" in site.reason


def test_rule3_hole_comment(write: Write, kernel_text: str, make_synth) -> None:
    fee = ("      fee:\n"
           "        op: \"+\"\n"
           "        args:\n"
           "          - {const: 0}\n"
           "          - {op: \"*\", args: [{param: amount}, {const: 0}]}  # HOLE: the fee\n")
    site = _site(_spec(write, kernel_text, make_synth(), fee))
    assert (site.rule, site.path) == (3, (1, 1))
    assert "HOLE" in site.reason


def test_rule3_two_holes_by_name_and_by_order(write: Write, kernel_text: str, make_synth) -> None:
    fee = ("      fee:\n"
           "        op: \"+\"\n"
           "        args:\n"
           "          - {const: 0}  # HOLE: second\n"
           "          - {const: 0}  # HOLE: fee_expr\n")
    synth = make_synth()
    second = dict(synth["holes"][0], hole_id="second")
    synth["holes"].append(second)
    spec = _spec(write, kernel_text, synth, fee)
    assert _site(spec, "fee_expr").path == (1,)
    assert _site(spec, "second").path == (0,)
    # Unnamed comments: matched to the holes of the field in spec order.
    spec = _spec(write, kernel_text, synth, fee.replace("HOLE: second", "HOLE").replace("HOLE: fee_expr", "HOLE"))
    assert _site(spec, "fee_expr").path == (0,)
    assert _site(spec, "second").path == (1,)


REF_FEE = "      fee: {op: \"+\", args: [{const: 1}, {op: div, args: [{param: amount}, {const: 100}]}]}\n"
HOLED_FEE = "      fee: {op: \"+\", args: [{const: 1}, {const: 0}]}\n"


def test_rule4_reference(write: Write, kernel_text: str, make_synth) -> None:
    spec = _spec(write, kernel_text, make_synth(), HOLED_FEE, REF_FEE)
    assert spec.ref is not None
    site = _site(spec)
    assert (site.rule, site.path) == (4, (1,))
    assert "reference" in site.reason


def test_rule5_unknown(write: Write, kernel_text: str, make_synth) -> None:
    site = _site(_spec(write, kernel_text, make_synth(), HOLED_FEE))
    assert (site.rule, site.path) == (5, None)
    assert "unknown" in site.reason and "constraints" in site.reason


@pytest.mark.parametrize("ref_fee, why", [
    ("      fee: {op: \"-\", args: [{const: 1}, {param: amount}]}\n", "beyond"),
    (HOLED_FEE, "equals"),
])
def test_rule4_fails_to_rule5(write: Write, kernel_text: str, make_synth, ref_fee: str, why: str) -> None:
    site = _site(_spec(write, kernel_text, make_synth(), HOLED_FEE, ref_fee))
    assert (site.rule, site.path) == (5, None)
    assert why in site.reason


def test_rule4_ambiguous(write: Write, kernel_text: str, make_synth) -> None:
    holed = "      fee: {op: \"+\", args: [{const: 0}, {const: 0}]}\n"
    ref = "      fee: {op: \"+\", args: [{param: amount}, {const: 2}]}\n"
    site = _site(_spec(write, kernel_text, make_synth(), holed, ref))
    assert (site.rule, site.path) == (5, None)
    assert "ambiguous" in site.reason


def test_benchmark_sites_cover_every_rule(benchmarks_dir: Path) -> None:
    from esso_ngs.formats import discover_specs
    rules = set()
    for path in discover_specs(benchmarks_dir / "specs"):
        spec = load_spec(path)
        for hole in spec.synth.holes:
            sites = spec.sites_of(hole.hole_id)
            assert len(sites) == len(hole.used_in)
            rules |= {s.rule for s in sites}
    if rules:
        assert rules <= {1, 2, 3, 4, 5}


def test_placeholder_diffs_and_describe() -> None:
    holed = Op("+", (Var("x"), Op("*", (Const(0), Var("y")))))
    ref = Op("+", (Var("x"), Op("*", (Var("z"), Var("y")))))
    assert placeholder_diffs(holed, ref) == [(1, 0)]
    assert placeholder_diffs(holed, Op("-", ref.args)) is None
    assert describe_path(holed, (1, 0)) == "argument 1 of `*` in argument 2 of `+`"
    assert describe_path(holed, ()) == "the whole field"
