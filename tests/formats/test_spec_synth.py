from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from esso_ngs.errors import SpecError
from esso_ngs.lang.expr import Const, EnumLit, Op, Var
from esso_ngs.formats import Penalties, StyleProfile, load_kernel, load_synth

Write = Callable[[str, Any], Path]


def _pair(write: Write, kernel_text: str, synth: dict | str):
    kernel = load_kernel(write("mini_hole.yaml", kernel_text))
    return kernel, write("mini_hole.synth.json", synth)


def test_fixture_synth(fixtures_dir: Path) -> None:
    k = load_kernel(fixtures_dir / "fee" / "fee_hole.yaml")
    s = load_synth(fixtures_dir / "fee" / "fee_hole.synth.json", k)
    hole = s.hole("fee_expr")
    assert hole.type == "Int" and hole.grammar_id == "G_fee"
    assert [c.text for c in hole.constraints] == ["result >= 0", "result <= amount"]  # comment skipped
    assert hole.constraints[1].expr == Op("<=", (Var("result"), Var("amount")))
    g = s.grammar("G_fee")
    assert g.start == "Expr" and g.nonterminals == ("Const", "Term", "Expr")
    assert g.rules("Expr")[1] == "(safe_div Term Const)"
    assert s.style == StyleProfile(2, 1, 8, Penalties(5, 10, 1))
    assert s.timeout_ms == 30000 and s.scope_kind == "inductive"
    assert s.objective_goals == ("SATISFY", "MINIMIZE_COST")


def test_defaults_when_optional_parts_missing(write: Write, kernel_text: str, make_synth) -> None:
    data = make_synth()
    del data["backend"], data["scope"]
    kernel, path = _pair(write, kernel_text, data)
    s = load_synth(path, kernel)
    assert s.style == StyleProfile() and s.objective_goals == ("SATISFY", "MINIMIZE_COST")
    assert s.scope_kind == "inductive" and s.timeout_ms is None


def _err(write: Write, kernel_text: str, data: Any) -> SpecError:
    kernel, path = _pair(write, kernel_text, data)
    with pytest.raises(SpecError) as info:
        load_synth(path, kernel)
    assert "\n" not in str(info.value)
    assert str(info.value).startswith(str(path))
    return info.value


@pytest.mark.parametrize("change, field, fragment", [
    (lambda d: d.update(synth_version="1.0"), "synth_version", "1.1"),
    (lambda d: d["holes"][0]["used_in"].append({"action": "quote", "field": "nope"}),
     "holes[0].used_in[1].field", "no effect or updated state var"),
    (lambda d: d["holes"][0]["used_in"][0].update(action="swap"), "holes[0].used_in[0].action", "no action"),
    (lambda d: d["holes"][0].update(grammar_id="G2"), "holes[0].grammar_id", "no grammar"),
    (lambda d: d["holes"][0].update(type="Real"), "holes[0].type", "Int"),
    (lambda d: d["holes"][0].pop("kind"), "holes[0].kind", "missing `kind`"),
    (lambda d: d["holes"][0]["semantic_constraints"].append("result <= amount +"),
     "holes[0].semantic_constraints[2]", "unexpected end"),
    (lambda d: d["holes"][0]["semantic_constraints"].append("result <= fee_cap"),
     "holes[0].semantic_constraints[2]", "unknown name `fee_cap`"),
    (lambda d: d["holes"][0]["semantic_constraints"].append("result + 1"),
     "holes[0].semantic_constraints[2]", "Boolean"),
    (lambda d: d["grammars"][0]["productions"]["E"].append("(frob amount)"),
     "grammars[0].productions.E[2]", "unknown operator"),
    (lambda d: d["grammars"][0]["productions"]["E"].append("(+ amount"),
     "grammars[0].productions.E[2]", "bad rule"),
    (lambda d: d["grammars"][0]["productions"]["E"].append("(+ amount fee_cap)"),
     "grammars[0].productions.E[2]", "fee_cap"),
    (lambda d: d["grammars"][0]["productions"]["E"].append(5),
     "grammars[0].productions.E[2]", "must be a string"),
    (lambda d: d["grammars"][0].update(start="S"), "grammars[0].start", "no productions"),
    (lambda d: d.update(style_profile={"max_nesting": "two"}), "style_profile.max_nesting", "integer"),
    (lambda d: d.update(holes=[]), "holes", "at least one"),
])
def test_malformed_synth(write: Write, kernel_text: str, make_synth, change, field: str, fragment: str) -> None:
    data = make_synth()
    change(data)
    err = _err(write, kernel_text, data)
    assert err.field == field
    assert fragment in err.message
    assert err.line is not None  # found by the JSON line scanner


def test_constraint_error_line_points_at_the_constraint(write: Write, kernel_text: str, make_synth) -> None:
    data = make_synth(semantic_constraints=["result >= 0", "result <<= 3"])
    text = json.dumps(data, indent=2)
    err = _err(write, kernel_text, text)
    assert err.line == next(i for i, l in enumerate(text.splitlines(), 1) if "<<=" in l)
    assert "column" in err.message


def test_json_syntax_error_has_line(write: Write, kernel_text: str) -> None:
    err = _err(write, kernel_text, '{\n  "synth_version": "1.1",\n  "holes": [,]\n}\n')
    assert err.line == 3 and "JSON syntax error" in err.message


def test_enum_symbols_in_constraints(write: Write, kernel_text: str, make_synth) -> None:
    text = kernel_text.replace("  - {id: bps, type: {kind: int, min: 0, max: 10000}}",
                               "  - {id: bps, type: {kind: int, min: 0, max: 10000}}\n"
                               "  - {id: side, type: {kind: enum, symbols: [Buy, Sell]}}")
    data = make_synth(semantic_constraints=["side = Buy => result <= amount"])
    kernel, path = _pair(write, text, data)
    c = load_synth(path, kernel).holes[0].constraints[0]
    assert c.expr.args[0] == Op("=", (Var("side"), EnumLit("Buy")))


def test_bool_hole_constraints(write: Write, kernel_text: str, make_synth) -> None:
    data = make_synth(type="Bool", semantic_constraints=["result => amount > 0", "!result || bps = 0"])
    data["grammars"][0]["productions"]["E"] = ["(> amount C)", "true"]
    kernel, path = _pair(write, kernel_text, data)
    hole = load_synth(path, kernel).holes[0]
    assert hole.type == "Bool" and len(hole.constraints) == 2
    assert hole.constraints[1].expr.args[1] == Op("=", (Var("bps"), Const(0)))
