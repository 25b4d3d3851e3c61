"""The `esso-ngs` command: one subcommand per module, user errors as one line + exit 2."""
from __future__ import annotations

import argparse
import importlib
import sys
from typing import Sequence

from ..errors import UserError
from .backend_process import prepare_model_process

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


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esso-ngs", description="Synthesize the holes of ESSO kernels: grammar enumeration with Z3 "
                                     "verification (CEGIS), guided by hints from a local LLM.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        module = importlib.import_module(f"{__package__}.{name}_cmd")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    # Import only the named command's module: the others pull in solvers and models
    # that cost seconds of start-up. Without a known command, list them all.
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser((first,) if first in COMMAND_MODULES else COMMAND_MODULES)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        prepare_model_process(args)  # may re-execute the process (OpenBLAS for mlx): before any work
        return int(args.func(args) or 0)
    except UserError as err:
        print(f"esso-ngs: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("esso-ngs: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
