from __future__ import annotations

import copy
from pathlib import Path

import pytest

from esso_ngs.errors import SpecError
from esso_ngs.lang.expr import BoolLit, Const, EnumLit, Hole, Ite, Op, Var
from esso_ngs.formats import BoolType, EnumType, IntType, load_kernel
from esso_ngs.formats.ir import expr_to_ir, fill_kernel_raw
from esso_ngs.formats.kernel import kernel_from_yaml
from esso_ngs.formats.yamlload import LoadedYaml, load_yaml_text


def test_fixture_kernel_loads(fixtures_dir: Path) -> None:
    k = load_kernel(fixtures_dir / "fee" / "fee_hole.yaml")
    assert k.model_id == "fee_hole"
    assert dict(k.types) == {"t_amt": IntType(0, 1000000), "t_dir": EnumType(("AForB", "BForA"))}
    assert [v.id for v in k.state_vars] == ["total", "bps", "dir"]
    assert k.state_var("dir").type == EnumType(("AForB", "BForA"))
    quote = k.action("quote")
    assert quote.param_names == ("amount",)
    assert quote.params[0].type == IntType(0, 1000000)
    assert quote.guard == Op(">", (Var("amount"), Const(0)))
    assert quote.field_expr("fee") == Const(0)
    assert quote.field_kind("total") == "update"
    assert k.hole_comment_paths("quote", "total") == ((1,),)
    assert k.hole_comment_texts("quote", "total") == ("HOLE: fee_expr",)
    flip = k.action("flip")
    assert flip.params == ()  # `params` missing
    assert isinstance(flip.field_expr("dir"), Ite)
    assert k.raw["meta"]["model_id"] == "fee_hole"


def _load(text: str, name: str = "k.yaml"):
    return kernel_from_yaml(load_yaml_text(text, name))


def _error(text: str, name: str = "k.yaml") -> SpecError:
    with pytest.raises(SpecError) as info:
        _load(text, name)
    assert "\n" not in str(info.value)
    return info.value


def _line_of(text: str, fragment: str) -> int:
    return next(i for i, line in enumerate(text.splitlines(), 1) if fragment in line)


def test_unknown_var_names_field_and_line(kernel_text: str) -> None:
    text = kernel_text.replace("expr: {op: \"+\", args: [{var: total}, {param: amount}]}",
                               "expr: {op: \"+\", args: [{var: total}, {var: amont}]}")
    err = _error(text)
    assert err.field == "actions[0].updates[0].expr.args[1].var"
    assert err.line == _line_of(text, "amont")
    assert str(err).startswith(f"k.yaml:{err.line}: actions[0].updates[0].expr.args[1].var: ")
    assert "amont" in err.message


def test_var_that_is_a_param_gets_a_hint(kernel_text: str) -> None:
    err = _error(kernel_text.replace("{param: amount}]}", "{var: amount}]}"))
    assert "write `{param: amount}`" in err.message


def test_param_outside_action(kernel_text: str) -> None:
    text = kernel_text.replace("expr: {op: \">=\", args: [{var: total}, {const: 0}]}",
                               "expr: {op: \">=\", args: [{var: total}, {param: amount}]}")
    err = _error(text)
    assert err.field == "invariants[0].expr.args[1].param"


@pytest.mark.parametrize("old, new, field, fragment", [
    ("max: 1000}", "max: \"lots\"}", "types[0].type.max", "must be an integer"),
    ("op: \">\"", "op: \"~\"", "actions[0].guard.op", "unknown operator"),
    ("{op: \">\", args: [{param: amount}, {const: 0}]}", "{op: \">\", args: [{param: amount}]}",
     "actions[0].guard.args", "takes 2 arguments"),
    ('ir_version: "esso-ir/v1"', 'ir_version: "esso-ir/v2"', "ir_version", "esso-ir/v1"),
    ("{kind: ref, name: t_amt}", "{kind: ref, name: t_nope}", "actions[0].params[0].type.name", "unknown type"),
    ("{kind: int, min: 0, max: 1000}", "{kind: float}", "types[0].type.kind", "unknown type kind"),
    ("fee: {const: 0}", "fee: {const: 0.5}", "actions[0].effects.fee.const", "integer"),
    ("fee: {const: 0}", "fee: {cnst: 0}", "actions[0].effects.fee", "not an expression node"),
    ("fee: {const: 0}", "fee: {op: safe_div, args: [{const: 1}, {const: 2}]}", "actions[0].effects.fee.op",
     "div"),
    ("fee: {const: 0}", "fee: {op: \"+\", args: [{const: 1}, {bool: true}]}", "actions[0].effects.fee.args[1]",
     "integer arguments"),
    ("guard: {op: \">\", args: [{param: amount}, {const: 0}]}", "guard: {const: 1}", "actions[0].guard",
     "Boolean"),
    ("  - var: total\n        expr", "  - var: totl\n        expr", "actions[0].updates[0].var", "not a state var"),
    ("fee: {const: 0}", "fee: {op: ite, cond: {bool: true}, then: {const: 1}}", "actions[0].effects.fee.else",
     "missing `else`"),
])
def test_malformed_kernels(kernel_text: str, old: str, new: str, field: str, fragment: str) -> None:
    assert old in kernel_text
    err = _error(kernel_text.replace(old, new, 1))
    assert err.field == field
    assert fragment in err.message
    assert err.line is not None


def test_yaml_error_in_kernel_file(tmp_path: Path, kernel_text: str) -> None:
    path = tmp_path / "broken_hole.yaml"
    path.write_text(kernel_text.replace("  - id: quote", "  - id: quote\n   bad: [", 1))
    with pytest.raises(SpecError) as info:
        load_kernel(path)
    assert str(info.value).startswith(str(path) + ":")
    assert info.value.line is not None


def test_accepted_spellings(kernel_text: str) -> None:
    text = kernel_text.replace("""types:
  - id: t_amt
    type: {kind: int, min: 0, max: 1000}""", """types:
  - id: t_amt
    type: {kind: int, min: 0, max: 1000}
  - {id: t_side, kind: enum, symbols: [Buy, Sell]}
  - {id: t_alias, type: {kind: enum_ref, ref: t_side}}""").replace(
        "{kind: ref, name: t_amt}", "{kind: ref, id: t_amt}").replace(
        "  - {id: bps, type: {kind: int, min: 0, max: 10000}}",
        "  - {id: bps, type: {kind: int, min: 0, max: 10000}, extra_key: kept}\n"
        "  - {id: side, type: t_alias}\n  - {id: on, type: {kind: bool}}")
    k = _load(text + "unknown_top_level: 1\n")
    assert k.state_var("side").type == EnumType(("Buy", "Sell"))
    assert k.state_var("on").type == BoolType()
    assert k.raw["unknown_top_level"] == 1


def test_effects_as_list_and_ite_args(kernel_text: str) -> None:
    text = kernel_text.replace("    effects:\n      fee: {const: 0}\n",
                               "    effects:\n      - {id: fee, expr: {op: ite, args: [{bool: true}, {const: 1}, {const: 2}]}}\n")
    k = _load(text)
    assert k.action("quote").field_expr("fee") == Ite(BoolLit(True), Const(1), Const(2))


# ---------------------------------------------------------------- IR round trip
def _all_benchmark_kernels(benchmarks_dir: Path) -> list[Path]:
    return sorted((benchmarks_dir / "specs").glob("*.yaml"))


def test_ir_round_trip_on_every_kernel(fixtures_dir: Path, benchmarks_dir: Path) -> None:
    paths = [fixtures_dir / "fee" / "fee_hole.yaml", fixtures_dir / "fee" / "fee_ref.yaml"]
    paths += _all_benchmark_kernels(benchmarks_dir)
    for path in paths:
        k = load_kernel(path)
        before = copy.deepcopy(dict(k.raw))
        for i, a in enumerate(k.actions):
            for name, e in a.effects + a.updates:
                # Print the field as IR, put it in the kernel data, parse again: same tree.
                data = fill_kernel_raw(k.raw, a.id, name, (), e)
                k2 = kernel_from_yaml(LoadedYaml(path, data, {}, ()))
                assert k2.actions[i].field_expr(name) == e, (path.name, a.id, name)
        assert dict(k.raw) == before  # the loaded data is never modified


def test_expr_to_ir_shapes() -> None:
    e = Ite(Op("<=", (Var("amount"), Var("total"))), Op("safe_div", (Var("amount"), Const(2))),
            Op("safe_mod", (EnumLit("A") if False else Var("total"), Const(3))))
    ir = expr_to_ir(e, ["amount"])
    assert ir == {"op": "ite",
                  "cond": {"op": "<=", "args": [{"param": "amount"}, {"var": "total"}]},
                  "then": {"op": "div", "args": [{"param": "amount"}, {"const": 2}]},
                  "else": {"op": "mod", "args": [{"var": "total"}, {"const": 3}]}}
    assert expr_to_ir(Hole("h")) == {"hole": "h"}
    assert expr_to_ir(BoolLit(False)) == {"bool": False}
    assert expr_to_ir(EnumLit("Buy")) == {"enum": "Buy"}


def test_fill_kernel_raw(fixtures_dir: Path) -> None:
    path = fixtures_dir / "fee" / "fee_hole.yaml"
    k = load_kernel(path)
    term = Op("safe_div", (Op("*", (Var("amount"), Var("bps"))), Const(10000)))
    raw = fill_kernel_raw(k.raw, "quote", "total", (1,), term)
    raw = fill_kernel_raw(raw, "quote", "fee", (), term)
    assert k.raw["actions"][0]["effects"]["fee"] == {"const": 0}  # the input is not modified
    filled = kernel_from_yaml(load_yaml_text(__import__("yaml").safe_dump(raw), "filled.yaml"))
    ref = load_kernel(fixtures_dir / "fee" / "fee_ref.yaml")
    assert filled.action("quote") == ref.action("quote")
    with pytest.raises(KeyError):
        fill_kernel_raw(k.raw, "quote", "total", None, term)
    with pytest.raises(KeyError):
        fill_kernel_raw(k.raw, "nope", "total", (), term)


def test_fill_fills_every_explicit_node_of_the_hole(kernel_text: str) -> None:
    text = kernel_text.replace("fee: {const: 0}",
                               "fee: {op: \"+\", args: [{hole: h}, {op: \"*\", args: [{hole: h}, {const: 2}]}]}")
    k = _load(text)
    raw = fill_kernel_raw(k.raw, "quote", "fee", (0,), Var("amount"))
    assert raw["actions"][0]["effects"]["fee"] == {
        "op": "+", "args": [{"param": "amount"}, {"op": "*", "args": [{"param": "amount"}, {"const": 2}]}]}
