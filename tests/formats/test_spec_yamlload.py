from __future__ import annotations

import pytest

from esso_ngs.errors import SpecError
from esso_ngs.formats.yamlload import comment_of, format_path, load_yaml, load_yaml_text


@pytest.mark.parametrize("line, comment", [
    ("a: 1  # HOLE: x", "HOLE: x"),
    ("- { const: 0 },  # HOLE", "HOLE"),
    ("a: 'x # not' # real", "real"),
    ('a: "x # \\" # not" # real', "real"),
    ("a: 'it''s # no'", None),
    ("a: b#c", None),
    ("# whole line", "whole line"),
    ("a: 1", None),
])
def test_comment_of(line: str, comment: str | None) -> None:
    assert comment_of(line) == comment


def test_lines_and_paths() -> None:
    doc = load_yaml_text("a:\n  - x: 1\n  - y:\n      z: 2\n", "f.yaml")
    assert doc.data == {"a": [{"x": 1}, {"y": {"z": 2}}]}
    assert doc.lines[("a", 0, "x")] == 2
    assert doc.lines[("a", 1, "y", "z")] == 4
    # Unknown paths fall back to their nearest known ancestor.
    assert doc.line_of(("a", 1, "y", "nope", 3)) == 4
    assert format_path(("actions", 1, "updates", 0, "expr")) == "actions[1].updates[0].expr"


def test_hole_comments_found_on_const_zero_only() -> None:
    text = (
        "e:\n"
        "  op: '+'\n"
        "  args:\n"
        "    - {var: x}\n"
        "    - { const: 0 }  # HOLE: the fee\n"
        "f: {const: 0}  # a note, not a hole\n"
        "g: {const: 1}  # HOLE\n"
        "h:\n"
        "  const: 0   # HOLE\n"
        "i: {const: 0}  # hole (lower case does not count)\n"
    )
    doc = load_yaml_text(text, "k.yaml")
    assert doc.hole_comments == {("e", "args", 1): "HOLE: the fee", ("h",): "HOLE"}


def test_flow_mapping_in_flow_sequence_with_trailing_comma() -> None:
    doc = load_yaml_text("args: [\n  {var: x},\n  { const: 0 },  # HOLE: fee\n]\n")
    assert doc.hole_comments == {("args", 1): "HOLE: fee"}


def test_block_mapping_inside_flow_sequence_is_a_clear_error() -> None:
    text = "a:\n  args: [\n    {var: x},\n    op: +\n      args: []\n  ]\n"
    with pytest.raises(SpecError) as info:
        load_yaml_text(text, "bad.yaml")
    msg = str(info.value)
    assert msg.startswith("bad.yaml:")
    assert "YAML syntax error" in msg
    assert "\n" not in msg
    assert info.value.line is not None and 3 <= info.value.line <= 6


def test_missing_and_empty_files(tmp_path) -> None:
    with pytest.raises(SpecError, match="file not found"):
        load_yaml(tmp_path / "nope.yaml")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# only a comment\n")
    with pytest.raises(SpecError, match="empty YAML document"):
        load_yaml(empty)


def test_yaml_anchor_and_merge_keys() -> None:
    doc = load_yaml_text("base: &b {kind: int, min: 0}\nt:\n  <<: *b\n  max: 5\n")
    assert doc.data["t"] == {"kind": "int", "min": 0, "max": 5}


def test_guess_field_from_indentation() -> None:
    from esso_ngs.formats.yamlload import guess_field
    lines = tuple("""actions:
  - id: a
  - id: quote
    updates:
      - var: x
        expr: {const: 1}
      - var: total
        expr:
          op: +
a:
- c:
  - d
""".splitlines())
    assert guess_field(lines, 1) == "actions[0].id"
    assert guess_field(lines, 3) == "actions[1].updates"
    assert guess_field(lines, 5) == "actions[1].updates[0].expr"
    assert guess_field(lines, 8) == "actions[1].updates[1].expr.op"
    assert guess_field(lines, 11) == "a[0].c[0]"


def test_syntax_error_names_a_guessed_field() -> None:
    text = "actions:\n  - id: q\n    guard: {op: >, args: [\n  - id: r\n"
    with pytest.raises(SpecError) as info:
        load_yaml_text(text, "g.yaml")
    assert info.value.field is None  # a guess goes in the message, not in `field`
    assert "near `actions[0].guard`" in info.value.message


def test_syntax_error_inside_a_flow_collection_names_its_opener() -> None:
    text = ("actions:\n  - id: q\n    updates:\n      - var: t\n        expr:\n          args: [\n"
            "            {var: t},\n            op: div\n            args: []\n          ]\n")
    with pytest.raises(SpecError) as info:
        load_yaml_text(text, "g.yaml")
    assert "near `actions[0].updates[0].expr.args`" in info.value.message
