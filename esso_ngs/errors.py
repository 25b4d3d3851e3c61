"""User-facing errors: one line naming the file, the field path and the line."""
from __future__ import annotations

from pathlib import Path


class UserError(Exception):
    """Bad input from the user. The CLI prints `str(err)` on one line and exits 2."""


class SpecError(UserError):
    def __init__(self, file: str | Path | None, field: str | None, message: str,
                 line: int | None = None) -> None:
        self.file = str(file) if file is not None else None
        self.field = field
        self.line = line
        self.message = message
        super().__init__(self.render())

    def render(self) -> str:
        where = self.file or "<input>"
        if self.line is not None:
            where += f":{self.line}"
        if self.field:
            where += f": {self.field}"
        return f"{where}: {' '.join(self.message.split())}"


def read_text(path: str | Path) -> str:
    """A spec file's text; a missing or unreadable file is a one-line SpecError."""
    file = Path(path)
    if file.exists() and not file.is_file() and not file.is_dir():
        raise SpecError(file, None, "not a regular file")  # a FIFO or device would block or never end
    try:
        return file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise SpecError(file, None, "file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(file, None, f"cannot read file: {exc}") from None
