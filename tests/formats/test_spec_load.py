from __future__ import annotations

import json
import random
import shutil
from pathlib import Path
from typing import Any, Callable

import pytest

from esso_ngs.errors import SpecError
from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import IntType, discover_specs, fill_kernel_raw, load_spec
from esso_ngs.formats.kernel import kernel_from_yaml
from esso_ngs.formats.yamlload import LoadedYaml

Write = Callable[[str, Any], Path]


def _benchmark_paths(benchmarks_dir: Path) -> list[Path]:
    return discover_specs(benchmarks_dir / "specs")


def _manifest(benchmarks_dir: Path) -> dict[str, Any]:
    path = benchmarks_dir / "specs" / "manifest.json"
    if not path.is_file():
        pytest.skip("benchmarks/specs/manifest.json not written yet")
    return {s["prefix"]: s for s in json.loads(path.read_text())["specs"]}


def test_every_benchmark_spec_loads(benchmarks_dir: Path) -> None:
    paths = _benchmark_paths(benchmarks_dir)
    if not paths:
        pytest.skip("no benchmark specs yet")
    for path in paths:
        spec = load_spec(path)
        assert spec.name == path.name[: -len("_hole.yaml")]
        assert spec.synth.holes
        ref = path.with_name(spec.name + "_ref.yaml")
        assert (spec.ref is not None) == ref.is_file()


def test_benchmark_sites_match_manifest(benchmarks_dir: Path) -> None:
    manifest = _manifest(benchmarks_dir)
    for prefix, entry in manifest.items():
        spec = load_spec(benchmarks_dir / "specs" / f"{prefix}_hole.yaml")
        assert (spec.ref is not None) == bool(entry.get("has_ref")), prefix
        for hole_id, rules in (entry.get("site_rules") or {}).items():
            assert [s.rule for s in spec.sites_of(hole_id)] == rules, (prefix, hole_id)


def test_filling_intended_terms_gives_the_reference(benchmarks_dir: Path) -> None:
    """fill_kernel_raw at the found sites, read back, agrees with the reference kernel."""
    manifest = _manifest(benchmarks_dir)
    rng = random.Random(7)
    for prefix, entry in manifest.items():
        spec = load_spec(benchmarks_dir / "specs" / f"{prefix}_hole.yaml")
        if spec.ref is None:
            continue
        raw = spec.kernel.raw
        for hole_id, info in entry["holes"].items():
            term = parse_term(info["intended"])
            for site in spec.sites_of(hole_id):
                if site.path is not None:
                    raw = fill_kernel_raw(raw, site.place.action, site.place.field, site.path, term)
        filled = kernel_from_yaml(LoadedYaml(spec.kernel.path, raw, {}, ()))
        enums = spec.kernel.enum_index()
        for hole_id in entry["holes"]:
            for site in spec.sites_of(hole_id):
                if site.path is None:
                    continue
                a, f = site.place.action, site.place.field
                mine, theirs = filled.action(a).field_expr(f), spec.ref.action(a).field_expr(f)
                if mine == theirs:
                    continue
                # Written differently (e.g. ite vs min): agree on sampled states.
                typed = spec.kernel.state_vars + spec.kernel.action(a).params
                for _ in range(200):
                    env = {v.id: _sample(v.type, rng) for v in typed}
                    assert evaluate(mine, env, enums) == evaluate(theirs, env, enums), (prefix, f, env)


def _sample(t: Any, rng: random.Random) -> int | bool:
    if isinstance(t, IntType):
        lo = t.min if t.min is not None else -1000
        hi = t.max if t.max is not None else 1000
        return rng.choice([lo, hi, rng.randint(lo, hi), rng.randint(lo, min(hi, lo + 100))])
    if hasattr(t, "symbols"):
        return rng.randrange(len(t.symbols))
    return rng.random() < 0.5


# ---------------------------------------------------------------- finding files
def _copy_fee(fixtures_dir: Path, dest: Path, with_ref: bool = True) -> None:
    for name in ("fee_hole.yaml", "fee_hole.synth.json") + (("fee_ref.yaml",) if with_ref else ()):
        shutil.copy(fixtures_dir / "fee" / name, dest / name)


def test_load_spec_from_each_entry_point(fixtures_dir: Path, tmp_path: Path) -> None:
    _copy_fee(fixtures_dir, tmp_path)
    a = load_spec(tmp_path / "fee_hole.yaml")
    b = load_spec(tmp_path / "fee_hole.synth.json")
    c = load_spec(tmp_path)
    assert a == b == c
    assert a.ref is not None and a.name == "fee"
    assert discover_specs(tmp_path) == [tmp_path / "fee_hole.yaml"]


def test_reference_is_optional(fixtures_dir: Path, tmp_path: Path) -> None:
    _copy_fee(fixtures_dir, tmp_path, with_ref=False)
    assert load_spec(tmp_path).ref is None


def test_missing_files_are_named(fixtures_dir: Path, tmp_path: Path) -> None:
    with pytest.raises(SpecError, match="nope_hole.yaml: file not found"):
        load_spec(tmp_path / "nope_hole.yaml")
    shutil.copy(fixtures_dir / "fee" / "fee_hole.yaml", tmp_path / "fee_hole.yaml")
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path / "fee_hole.yaml")
    assert "fee_hole.synth.json" in str(info.value) and "file not found" in str(info.value)
    with pytest.raises(SpecError, match="no `\\*_hole.yaml`"):
        load_spec(tmp_path)  # the kernel alone is not a spec


def test_directory_with_two_specs(fixtures_dir: Path, tmp_path: Path) -> None:
    _copy_fee(fixtures_dir, tmp_path)
    for name in ("fee_hole.yaml", "fee_hole.synth.json"):
        shutil.copy(tmp_path / name, tmp_path / name.replace("fee", "fee2"))
    assert [p.name for p in discover_specs(tmp_path)] == ["fee2_hole.yaml", "fee_hole.yaml"]
    with pytest.raises(SpecError, match="2 specs"):
        load_spec(tmp_path)


def test_reference_must_have_the_used_in_action(fixtures_dir: Path, tmp_path: Path) -> None:
    _copy_fee(fixtures_dir, tmp_path)
    ref = tmp_path / "fee_ref.yaml"
    ref.write_text(ref.read_text().replace("  - id: quote", "  - id: quota"))
    with pytest.raises(SpecError) as info:
        load_spec(tmp_path)
    assert str(info.value).startswith(str(ref))
    assert info.value.field == "actions" and "lacks action `quote`" in info.value.message


def test_reference_drift_outside_used_in_is_a_warning(fixtures_dir: Path, tmp_path: Path) -> None:
    _copy_fee(fixtures_dir, tmp_path)
    ref = tmp_path / "fee_ref.yaml"
    ref.write_text(ref.read_text().replace("  - id: flip", "  - id: flop"))
    spec = load_spec(tmp_path)
    assert spec.ref is not None
    assert spec.warnings == ("fee_ref.yaml drifts from fee_hole.yaml: lacks action `flip`",
                             "fee_ref.yaml drifts from fee_hole.yaml: has extra action `flop`")


def test_ref_given_directly_is_refused(fixtures_dir: Path, tmp_path: Path) -> None:
    _copy_fee(fixtures_dir, tmp_path)
    with pytest.raises(SpecError, match="reference kernel"):
        load_spec(tmp_path / "fee_ref.yaml")


FEE = "      fee: {const: 0}\n"


@pytest.mark.parametrize("fee, fragment", [
    ("      fee: {op: \"+\", args: [{const: 1}, {hole: fee_exp}]}\n", "names no hole"),
])
def test_hole_nodes_checked_against_synth(write: Write, kernel_text: str, make_synth, fee: str,
                                          fragment: str) -> None:
    path = write("mini_hole.yaml", kernel_text.replace(FEE, fee))
    write("mini_hole.synth.json", make_synth())
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "actions[0].effects.fee"
    assert info.value.line == kernel_text.splitlines().index(FEE.rstrip("\n")) + 1
    assert fragment in info.value.message


def test_hole_node_outside_used_in(write: Write, kernel_text: str, make_synth) -> None:
    text = kernel_text.replace("{op: \"+\", args: [{var: total}, {param: amount}]}",
                               "{op: \"+\", args: [{var: total}, {hole: fee_expr}]}")
    path = write("mini_hole.yaml", text)
    write("mini_hole.synth.json", make_synth())
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "actions[0].updates[0].expr"
    assert "does not list" in info.value.message


def test_hole_node_in_guard_refused(write: Write, kernel_text: str, make_synth) -> None:
    text = kernel_text.replace("guard: {op: \">\", args: [{param: amount}, {const: 0}]}",
                               "guard: {op: \">\", args: [{param: amount}, {hole: fee_expr}]}")
    path = write("mini_hole.yaml", text)
    write("mini_hole.synth.json", make_synth())
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.field == "actions[0].guard.args[1]"
    assert "only in an effect or an update" in info.value.message
