"""References that drift from their hole kernels, variants and unreadable references
(ESSO_FORMATS "Real references differ", section 4)."""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.errors import SpecError
from esso_ngs.formats import discover_specs, load_spec
from esso_ngs.formats.load import ref_path_for

FEE_FILES = ("fee_hole.yaml", "fee_hole.synth.json")


def _fee(fixtures_dir: Path, dest: Path, ref_edit: tuple[str, str] | None = None) -> Path:
    for name in (*FEE_FILES, "fee_ref.yaml"):
        shutil.copy(fixtures_dir / "fee" / name, dest / name)
    if ref_edit is not None:
        ref = dest / "fee_ref.yaml"
        text = ref.read_text()
        assert ref_edit[0] in text
        ref.write_text(text.replace(*ref_edit))
    return dest / "fee_hole.yaml"


def test_ref_lacking_an_unused_state_var_is_a_warning(fixtures_dir: Path, tmp_path: Path) -> None:
    path = _fee(fixtures_dir, tmp_path, ("  - {id: dir, type: {kind: enum_ref, name: t_dir}}\n", ""))
    (tmp_path / "fee_ref.yaml").write_text((tmp_path / "fee_ref.yaml").read_text()
                                           .replace("  - {var: dir, expr: {enum: AForB}}\n", ""))
    # `flip` updates `dir`, so the reference's flip must go too: two drifts, one line each.
    text = (tmp_path / "fee_ref.yaml").read_text()
    (tmp_path / "fee_ref.yaml").write_text(text[: text.index("  - id: flip")])
    spec = load_spec(path)
    assert spec.warnings == ("fee_ref.yaml drifts from fee_hole.yaml: lacks state var `dir`",
                             "fee_ref.yaml drifts from fee_hole.yaml: lacks action `flip`")


def test_ref_with_other_bounds_and_invariants_is_a_warning(fixtures_dir: Path, tmp_path: Path) -> None:
    path = _fee(fixtures_dir, tmp_path, ("{id: bps, role: config, type: {kind: int, min: 0, max: 10000}}",
                                         "{id: bps, role: config, type: {kind: int, min: 0, max: 500}}"))
    ref = tmp_path / "fee_ref.yaml"
    ref.write_text(ref.read_text().replace("  - id: total_nonneg", "  - id: total_positive"))
    warnings = load_spec(path).warnings
    assert "fee_ref.yaml drifts from fee_hole.yaml: state var `bps` has type int [0, 500], not int [0, 10000]" \
        in warnings
    assert any("lacks invariant `total_nonneg`" in w for w in warnings)
    assert any("has extra invariant `total_positive`" in w for w in warnings)


def test_ref_lacking_the_used_in_field_is_an_error(fixtures_dir: Path, tmp_path: Path) -> None:
    path = _fee(fixtures_dir, tmp_path, ("    effects:\n      fee:", "    effects:\n      fees:"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.file == str(tmp_path / "fee_ref.yaml")
    assert "lacks the field `fee`" in info.value.message


def test_ref_field_reading_an_undefined_name_is_an_error(fixtures_dir: Path, tmp_path: Path) -> None:
    path = _fee(fixtures_dir, tmp_path)
    ref = tmp_path / "fee_ref.yaml"
    text = ref.read_text().replace("  - {id: bps, role: config,",
                                   "  - {id: rate, role: config, type: {kind: int, min: 0, max: 9}}\n"
                                   "  - {id: bps, role: config,")
    text = text.replace("  - {var: bps, expr: {const: 30}}", "  - {var: bps, expr: {const: 30}}\n"
                                                             "  - {var: rate, expr: {const: 1}}")
    text = text.replace("      fee: {op: div, args: [{op: \"*\", args: [{param: amount}, {var: bps}]}",
                        "      fee: {op: div, args: [{op: \"*\", args: [{param: amount}, {var: rate}]}")
    ref.write_text(text)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "reads `rate`, which fee_hole.yaml does not define" in info.value.message
    assert info.value.field == "actions[0].effects.fee"
    assert info.value.line == text.splitlines().index(
        next(line for line in text.splitlines() if line.startswith("      fee:"))) + 1


def test_variant_pairs_with_the_reference(fixtures_dir: Path, tmp_path: Path) -> None:
    _fee(fixtures_dir, tmp_path)
    for name in FEE_FILES:
        shutil.copy(tmp_path / name, tmp_path / name.replace("_hole", "_hole_v2"))
    assert ref_path_for(tmp_path / "fee_hole_v2.yaml") == tmp_path / "fee_ref.yaml"
    assert ref_path_for(tmp_path / "fee_hole_x.yaml") is None
    spec = load_spec(tmp_path / "fee_hole_v2.yaml")
    assert spec.ref is not None and spec.ref.path == tmp_path / "fee_ref.yaml"
    assert [p.name for p in discover_specs(tmp_path)] == ["fee_hole.yaml", "fee_hole_v2.yaml"]


@pytest.mark.parametrize("make, fragment", [
    (lambda ref: ref.symlink_to(ref.with_name("gone.yaml")), "dangling symbolic link"),
    (lambda ref: ref.mkdir(), "is a directory"),
])
def test_unreadable_reference_is_an_error_but_not_for_grammar_tools(
        fixtures_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], make, fragment: str) -> None:
    path = _fee(fixtures_dir, tmp_path)
    ref = tmp_path / "fee_ref.yaml"
    ref.unlink()
    make(ref)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.file == str(ref) and fragment in info.value.message
    assert main(["check", str(path), "--term", "0"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and fragment in err
    # Grammar tools never read the reference.
    assert main(["grammar", "check", str(path)]) == 0
    assert main(["grammar", "test", str(path), "(* amount bps)"]) == 0
    assert main(["grammar", "sample", str(path), "-n", "2"]) == 0
    assert main(["grammar", "show", str(path)]) == 0


def test_unreadable_reference_file_is_an_error(fixtures_dir: Path, tmp_path: Path) -> None:
    if os.geteuid() == 0:
        pytest.skip("root reads every file")
    path = _fee(fixtures_dir, tmp_path)
    (tmp_path / "fee_ref.yaml").chmod(0)
    with pytest.raises(SpecError, match="cannot be read"):
        load_spec(path)
