"""A `define-fun` as an operator of the term language (SyGuS-Comp's `qm` family).

A defined function whose body repeats a parameter, e.g.
`(define-fun qm ((a Int) (b Int)) Int (ite (< a 0) b a))`, cannot be inlined into a
grammar rule `(qm Start Start)`: each nonterminal occurrence is a separate term, so
the two copies of `a` would be chosen independently. It must stay one operator,
evaluated through its body and expanded for Z3. The term language gets such
operators from its one operator table (`lang.ops.define`, run-time definitions);
this module is the only place in `sygus/` that registers them, under an internal
name unique to the definition (two files may define `qm` differently), so moving
to another table means changing this module only. Where the term language has no
run-time operator table, `register` answers None and the reader refuses the rule
as before.
"""
from __future__ import annotations

import hashlib
import re

from ..lang.sexpr import to_sexpr
from .terms import DefineFun

try:  # the operator table with run-time definitions (lang/ops.py)
    from ..lang import ops as _ops
except ImportError:  # pragma: no cover - depends on the lang layer's version
    _ops = None


def available() -> bool:
    return _ops is not None and hasattr(_ops, "define")


def operator_name(d: DefineFun) -> str:
    """An internal operator name: the SyGuS name made a plain symbol, plus a digest of
    the definition (the same definition always gets the same name)."""
    text = f"{d.params}|{d.sorts}|{d.sort}|{to_sexpr(d.body)}"
    digest = hashlib.blake2b(text.encode(), digest_size=4).hexdigest()
    base = re.sub(r"[^A-Za-z0-9_.]", "_", d.name)
    if not re.match(r"[A-Za-z_]", base):
        base = "f_" + base
    return f"{base}'{digest}"


def register(d: DefineFun) -> str | None:
    """Register `d` as an operator; its name, or None when the term language cannot hold it."""
    if not available():
        return None
    name = operator_name(d)
    _ops.define(name, d.params, d.sorts, d.sort, d.body)  # type: ignore[union-attr]
    return name
