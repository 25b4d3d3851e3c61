"""JSON loading that keeps line numbers, like `yamlload` does for YAML.

`json.loads` gives the data (and the line of a syntax error); a second, tiny
scanner over the already-valid text records the 1-based line where each value
starts, by field path, so errors in synth specs and hints files name a line too.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from json.decoder import scanstring
from pathlib import Path
from typing import Any, Mapping

from ..errors import SpecError, read_text
from ..limits import MAX_DOCUMENT_DEPTH, MAX_DOCUMENT_NODES
from .yamlload import FieldPath, LocatedDocument, format_path

_WS = re.compile(r"[ \t\n\r]*")
_ATOM = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][-+]?\d+)?|true|false|null|NaN|-?Infinity")


@dataclass(frozen=True)
class LoadedJson(LocatedDocument):
    file: Path
    data: Any
    lines: Mapping[FieldPath, int]



def load_json(path: str | Path) -> LoadedJson:
    return load_json_text(read_text(path), Path(path))


def load_json_text(text: str, file: str | Path = "<input>") -> LoadedJson:
    file = Path(file)
    duplicated: list[str] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        out = dict(items)
        if len(out) != len(items) and not duplicated:
            seen: set[str] = set()
            duplicated.extend(k for k, _ in items if k in seen or seen.add(k))  # type: ignore[func-returns-value]
        return out

    try:
        data = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise SpecError(file, None, f"JSON syntax error: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise SpecError(file, None, f"nested deeper than {MAX_DOCUMENT_DEPTH} levels (limit of esso-ngs)") from None
    except ValueError as exc:  # e.g. an integer of more than 4300 digits
        raise SpecError(file, None, f"unreadable value: {exc}".split(";")[0]) from None
    _measure(file, data)
    # The depth is bounded now, so the recursive line scanner below is safe.
    try:
        lines, twice = _value_lines(text)
    except (ValueError, IndexError, RecursionError):
        lines, twice = {}, []  # line numbers are a convenience: never fail on them
    if duplicated:
        # PyYAML and `json` keep the last of two equal keys silently, which can erase
        # a hole's placeholder: refuse, naming both lines.
        if twice:
            path, first, second = twice[0]
            raise SpecError(file, format_path(path), f"key `{path[-1]}` given twice (lines {first} and {second})",
                            second)
        raise SpecError(file, None, f"key `{duplicated[0]}` given twice")
    return LoadedJson(file, data, lines)


def _measure(file: Path, data: Any) -> None:
    """Refuse documents past MAX_DOCUMENT_DEPTH levels or MAX_DOCUMENT_NODES values (iteratively)."""
    count = 0
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        count += 1
        if count > MAX_DOCUMENT_NODES:
            raise SpecError(file, None, f"more than {MAX_DOCUMENT_NODES} values (limit of esso-ngs)")
        if isinstance(value, (dict, list)):
            if depth > MAX_DOCUMENT_DEPTH:
                raise SpecError(file, None, f"nested deeper than {MAX_DOCUMENT_DEPTH} levels (limit of esso-ngs)")
            items = value.values() if isinstance(value, dict) else value
            stack.extend((v, depth + 1) for v in items)


def _value_lines(text: str) -> tuple[dict[FieldPath, int], list[tuple[FieldPath, int, int]]]:
    """Field path -> line where its value starts, for valid JSON `text`; and the keys
    given twice in one object (path, first line, second line)."""
    lines: dict[FieldPath, int] = {}
    twice: list[tuple[FieldPath, int, int]] = []
    # Line number of an offset: count newlines once, then bisect.
    starts = [0] + [m.end() for m in re.finditer("\n", text)]

    def line_at(pos: int) -> int:
        lo, hi = 0, len(starts) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if starts[mid] <= pos:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    def ws(pos: int) -> int:
        return _WS.match(text, pos).end()  # type: ignore[union-attr]

    def value(pos: int, path: FieldPath) -> int:
        pos = ws(pos)
        lines[path] = line_at(pos)
        ch = text[pos]
        if ch == "{":
            pos = ws(pos + 1)
            if text[pos] == "}":
                return pos + 1
            keys: dict[str, int] = {}
            while True:
                key_line = line_at(ws(pos))
                key, pos = scanstring(text, ws(pos) + 1)
                if key in keys:
                    twice.append((path + (key,), keys[key], key_line))
                keys.setdefault(key, key_line)
                pos = ws(pos) + 1  # the ':'
                pos = ws(value(pos, path + (key,)))
                if text[pos] == "}":
                    return pos + 1
                pos += 1  # the ','
        if ch == "[":
            pos = ws(pos + 1)
            if text[pos] == "]":
                return pos + 1
            i = 0
            while True:
                pos = ws(value(pos, path + (i,)))
                i += 1
                if text[pos] == "]":
                    return pos + 1
                pos += 1
        if ch == '"':
            return scanstring(text, pos + 1)[1]
        m = _ATOM.match(text, pos)
        if not m:
            raise ValueError(f"unexpected {ch!r}")
        return m.end()

    value(0, ())
    return lines, twice
