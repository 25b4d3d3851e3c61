"""Every spec in benchmarks/specs_malformed/ fails as expected.json says: one line
naming the file, the field path fragment and the line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from esso_ngs.errors import SpecError
from esso_ngs.formats import load_spec

MALFORMED = Path(__file__).resolve().parents[2] / "benchmarks" / "specs_malformed"


def _cases() -> list[tuple[str, dict[str, Any]]]:
    path = MALFORMED / "expected.json"
    if not path.is_file():
        return []
    data = json.loads(path.read_text())
    return sorted((k, v) for k, v in data.items() if not k.startswith("_"))


CASES = _cases()


@pytest.mark.skipif(not CASES, reason="benchmarks/specs_malformed/expected.json not written yet")
@pytest.mark.parametrize("kernel_name, expected", CASES, ids=[k for k, _ in CASES] or None)
def test_malformed_spec(kernel_name: str, expected: dict[str, Any]) -> None:
    with pytest.raises(SpecError) as info:
        load_spec(MALFORMED / kernel_name)
    err = info.value
    text = str(err)
    assert "\n" not in text
    assert expected["file"] in text
    assert Path(err.file).name == expected["file"]
    if expected.get("field"):
        assert expected["field"] in text
        assert err.field is not None and expected["field"] in err.field
    if expected.get("line") is not None:
        assert err.line == expected["line"]
        assert f"{expected['file']}:{expected['line']}:" in text
    if expected.get("json_decoder_line") is not None:
        assert err.line == expected["json_decoder_line"]


def test_every_malformed_spec_is_listed() -> None:
    if not CASES:
        pytest.skip("no malformed specs yet")
    on_disk = {p.name for p in MALFORMED.glob("*_hole.yaml")}
    assert on_disk == {k for k, _ in CASES}
