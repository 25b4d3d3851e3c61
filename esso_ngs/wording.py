"""How counts read in messages: `1 node`, `2 nodes`, never `1 nodes` or `node(s)`."""
from __future__ import annotations


def noun(n: int, singular: str, plural_form: str | None = None) -> str:
    """The noun that agrees with a count of `n` (`plural_form` for irregular nouns)."""
    return singular if n == 1 else plural_form or singular + "s"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """`n` with its noun agreeing: `1 node`, `2 nodes`."""
    return f"{n} {noun(n, singular, plural_form)}"
