"""The `esso-ngs` command: one subcommand per module, user errors as one line + exit 2."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ..errors import UserError

# Each module defines `add_parser(subparsers)` registering its command(s) with
# `set_defaults(func=...)`; `func(args) -> int` returns the exit status.
COMMAND_MODULES = (
    "check",
    "synth",
    "grammar",
    "models",
    "hints",
    "sygus",
    "batch",
    "report",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="esso-ngs", description=__doc__)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"{__package__}.{name}_cmd")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"esso-ngs: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esso-ngs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
