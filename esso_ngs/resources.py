"""Locations of the project's data files.

The hand-written Lark grammars live in the top-level `grammars/`; `esso_ngs/grammars`
is a symlink to it, so a wheel built from the tree carries them inside the package.
"""
from __future__ import annotations

from pathlib import Path

GRAMMARS_DIR = Path(__file__).resolve().parent / "grammars"


def grammar_file(name: str) -> Path:
    path = GRAMMARS_DIR / name
    if not path.is_file():
        raise FileNotFoundError(f"esso-ngs grammar file missing: {path} (a broken install: reinstall esso-ngs)")
    return path
