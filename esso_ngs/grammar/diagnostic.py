"""One finding about a grammar, for `esso-ngs grammar check`."""
from __future__ import annotations

from dataclasses import dataclass

SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True)
class Diagnostic:
    severity: str  # "error" (the grammar is broken), "warning" (probably a mistake), "info"
    code: str  # stable short id, e.g. "undefined-nonterminal", for tests and filters
    message: str
    nonterminal: str | None = None
    rule: str | None = None  # the rule text concerned, when there is one

    def render(self) -> str:
        where = f"{self.nonterminal}: " if self.nonterminal else ""
        return f"{self.severity}: {where}{self.message} [{self.code}]"
