"""How counts read in messages: `1 node`, `2 nodes`, never `1 nodes` or `node(s)`."""
from __future__ import annotations


def plural(n: int, noun: str, plural_form: str | None = None) -> str:
    """`n` with its noun agreeing (`plural_form` for irregular nouns)."""
    return f"{n} {noun if n == 1 else plural_form or noun + 's'}"
