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
from .yamlload import FieldPath, LocatedDocument

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
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise SpecError(file, None, f"JSON syntax error: {exc.msg} (column {exc.colno})", exc.lineno) from None
    except RecursionError:
        raise SpecError(file, None, "JSON nested too deeply") from None
    try:
        lines = _value_lines(text)
    except (ValueError, IndexError, RecursionError):
        lines = {}  # line numbers are a convenience: never fail on them
    return LoadedJson(file, data, lines)


def _value_lines(text: str) -> dict[FieldPath, int]:
    """Field path -> line where its value starts, for valid JSON `text`."""
    lines: dict[FieldPath, int] = {}
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
            while True:
                key, pos = scanstring(text, ws(pos) + 1)
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
    return lines
