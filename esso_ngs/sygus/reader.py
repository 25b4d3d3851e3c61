"""SyGuS-IF text -> top-level commands (S-expressions from sexpdata) with line numbers.

sexpdata parses a whole text but reports neither line numbers nor which parenthesis
is unbalanced, so the text is first cut into top-level commands by a small scanner
that knows SMT-LIB comments, strings and quoted symbols; each command is then
parsed by sexpdata on its own. Every error is a one-line `SygusError` naming the
file and the line.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import sexpdata

from ..errors import UserError


class SygusError(UserError):
    """A SyGuS file that we cannot read or do not support (one line: file:line: message)."""

    def __init__(self, file: str | None, line: int | None, message: str) -> None:
        self.file = file
        self.line = line
        self.message = " ".join(message.split())
        where = file or "<input>"
        if line is not None:
            where += f":{line}"
        super().__init__(f"{where}: {self.message}")


Sexp = object  # a sexpdata value: int, sexpdata.Symbol, str, float or a list of Sexp


@dataclass(frozen=True, slots=True)
class Command:
    head: str  # e.g. "synth-fun"
    body: tuple[Sexp, ...]  # the items after the head
    line: int  # 1-based line of the opening parenthesis
    text: str  # the command's source text


def read_file(path: str | Path) -> list[Command]:
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as err:
        raise SygusError(str(p), None, f"cannot read: {err.strerror or err}") from None
    except UnicodeDecodeError:
        raise SygusError(str(p), None, "not UTF-8 text") from None
    return read_text(text, str(p))


def read_text(text: str, file: str | None = None) -> list[Command]:
    commands: list[Command] = []
    constraints: set[str] = set()
    for start, end, line in _split(text, file):
        chunk = text[start:end]
        if chunk.startswith("(constraint"):
            # Files repeat constraints (thousands of times in the worst seen): a
            # repeat adds nothing, so it is not even parsed.
            same = " ".join(chunk.split())
            if same in constraints:
                continue
            constraints.add(same)
        try:
            parsed = sexpdata.loads(chunk, true=None, false=None, nil=None)
        except Exception as exc:  # sexpdata raises assorted types
            detail = str(exc).split("\n")[0] or "malformed S-expression"
            raise SygusError(file, line, f"not an S-expression: {detail}") from None
        if not isinstance(parsed, list) or not parsed:
            raise SygusError(file, line, "empty command ()")
        head = parsed[0]
        if not isinstance(head, sexpdata.Symbol):
            raise SygusError(file, line, f"a command must start with a name, got {sexpdata.dumps(head)}")
        commands.append(Command(head.value(), tuple(parsed[1:]), line, chunk))
    return commands


def _split(text: str, file: str | None) -> list[tuple[int, int, int]]:
    """(start, end, line) of each top-level parenthesized command."""
    out: list[tuple[int, int, int]] = []
    depth = 0
    start = 0
    start_line = 1
    open_lines: list[int] = []
    line = 1
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "\n":
            line += 1
        elif c == ";":  # comment to end of line
            j = text.find("\n", i)
            i = n if j < 0 else j
            continue
        elif c == '"':  # string literal ("" escapes a quote)
            j = i + 1
            while True:
                j = text.find('"', j)
                if j < 0:
                    raise SygusError(file, line, "unterminated string literal")
                if j + 1 < n and text[j + 1] == '"':
                    j += 2
                    continue
                break
            line += text.count("\n", i, j)
            i = j + 1
            continue
        elif c == "|":  # quoted symbol
            j = text.find("|", i + 1)
            if j < 0:
                raise SygusError(file, line, "unterminated quoted symbol |...|")
            raise SygusError(file, line, f"quoted symbols ({text[i:j + 1]}) are not supported")
        elif c == "(":
            if depth == 0:
                start, start_line = i, line
            depth += 1
            open_lines.append(line)
        elif c == ")":
            if depth == 0:
                raise SygusError(file, line, "unbalanced parentheses: ')' without a matching '('")
            depth -= 1
            open_lines.pop()
            if depth == 0:
                out.append((start, i + 1, start_line))
        elif depth == 0 and not c.isspace():
            j = i
            while j < n and not text[j].isspace() and text[j] not in "();":
                j += 1
            raise SygusError(file, line, f"text outside any command: {text[i:j]!r}")
        i += 1
    if depth:
        raise SygusError(file, open_lines[0],
                         f"unbalanced parentheses: the '(' opened here is never closed ({depth} missing ')')")
    return out


def sym(x: Sexp) -> str | None:
    """The name of a symbol, or None."""
    return x.value() if isinstance(x, sexpdata.Symbol) else None


def show(x: Sexp) -> str:
    """An S-expression as text, for messages (shortened)."""
    try:
        text = sexpdata.dumps(x)
    except Exception:
        text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."
