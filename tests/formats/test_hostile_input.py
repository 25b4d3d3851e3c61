"""Loaders under attack: alias bombs, depth, duplicate keys, tags (issue 11, items 1-3, 9)."""
from __future__ import annotations

import pytest
import yaml

from esso_ngs.errors import SpecError
from esso_ngs.limits import MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES
from esso_ngs.formats.ir import dump_kernel_yaml
from esso_ngs.formats.jsonload import load_json_text
from esso_ngs.formats.yamlload import load_yaml_text


def _refused(load, text: str) -> str:
    with pytest.raises(SpecError) as info:
        load(text)
    assert "\n" not in str(info.value)
    return str(info.value)


@pytest.mark.parametrize("load", [load_yaml_text, load_json_text])
def test_depth_limit_is_exact(load) -> None:
    k = MAX_DOCUMENT_DEPTH
    assert load("[" * k + "]" * k).data is not None
    assert f"deeper than {k} levels" in _refused(load, "[" * (k + 1) + "]" * (k + 1))
    assert f"deeper than {k} levels" in _refused(load, "[" * 50_000 + "]" * 50_000)  # no RecursionError


def test_alias_bomb_is_refused_by_expanded_size() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]" for i in range(1, 5)]  # 10^5 leaves
    message = _refused(load_yaml_text, "\n".join(lines))
    assert f"more than {MAX_DOCUMENT_NODES} nodes" in message and ":5:" in message


def test_aliases_in_unknown_keys_stay_shared_and_dump_as_aliases() -> None:
    text = "base: &b {op: '+', args: [{var: x}, {const: 1}]}\nuses: [*b, *b, *b]\n"
    doc = load_yaml_text(text)
    assert doc.data["uses"][0] is doc.data["base"]  # one object, not three copies
    dumped = dump_kernel_yaml(doc.data)
    assert dumped.count("&") == 1 and dumped.count("*") == 3
    assert yaml.safe_load(dumped) == yaml.safe_load(text)


def test_aliases_in_the_sections_read_are_copies() -> None:
    """Filling a hole at one use of an alias must not fill the other use."""
    doc = load_yaml_text("actions:\n  - effects: {a: &z {const: 0}, b: *z}\n")
    effects = doc.data["actions"][0]["effects"]
    assert effects["a"] == effects["b"] and effects["a"] is not effects["b"]


def test_hole_comment_holds_through_an_alias() -> None:
    text = "a: &s\n  - {const: 0}  # HOLE: the fee\nb: *s\n"
    doc = load_yaml_text(text)
    assert set(doc.hole_comments) == {("a", 0), ("b", 0)}


def test_recursive_alias_is_refused() -> None:
    assert "recursive YAML alias" in _refused(load_yaml_text, "a: &a [1, *a]")


def test_merge_keys_still_work_and_are_not_duplicates() -> None:
    doc = load_yaml_text("base: &b {x: 1, y: 2}\nc:\n  <<: *b\n  y: 3\n")
    assert doc.data["c"] == {"x": 1, "y": 3}


@pytest.mark.parametrize("text, lines", [
    ("a: 1\nb: 2\na: 3\n", "lines 1 and 3"),
    ("m: {k: 1, k: 2}\n", "lines 1 and 1"),
    ("actions:\n  - effects:\n      fee: {const: 0}\n      fee: {param: x}\n", "lines 3 and 4"),
])
def test_yaml_duplicate_keys_name_both_lines(text: str, lines: str) -> None:
    assert lines in _refused(load_yaml_text, text)


def test_json_duplicate_keys_name_both_lines_and_the_path() -> None:
    message = _refused(load_json_text, '{\n "s": {"max": 1,\n  "max": 2}\n}')
    assert "s.max" in message and "lines 2 and 3" in message and message.startswith("<input>:3:")


@pytest.mark.parametrize("tag", ["!!python/object:os.system", "!!python/name:os.system", "!custom", "!!set"])
def test_unknown_tags_are_refused_not_dropped(tag: str) -> None:
    assert "unsupported YAML tag" in _refused(load_yaml_text, f"a: {tag} {{}}\n")


def test_plain_data_tags_are_read() -> None:
    assert load_yaml_text("a: !!str 5\nb: !!int '7'\n").data == {"a": "5", "b": 7}
