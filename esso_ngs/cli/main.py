"""The `esso-ngs` command: one subcommand per module, user errors as one line + exit 2."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from .. import interrupts
from ..errors import UserError
from ..limits import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_NOT_SOLVED
from .checks import check_option_values

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
    try:
        # Before anything slow is imported: Ctrl-C anywhere from here on exits 130, one line.
        interrupts.install()
        return _run(list(sys.argv[1:] if argv is None else argv))
    except KeyboardInterrupt:
        return _interrupted()
    except BaseException:
        if interrupts.was_interrupted():
            return _interrupted()
        raise


def _interrupted() -> int:
    interrupts.handled()
    print("esso-ngs: interrupted", file=sys.stderr)
    return EXIT_INTERRUPTED


def _run(argv: list[str]) -> int:
    # Import only the named command's module: the others pull in solvers and models
    # that cost seconds of start-up. Without a known command, list them all.
    first = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser((first,) if first in COMMAND_MODULES else COMMAND_MODULES)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    try:
        check_option_values(args)
        return int(args.func(args) or 0)
    except UserError as err:
        return _fail(str(err))
    # The last line of defence: input that gets past the loaders' limits must still
    # end in one line and exit 2, never a traceback.
    except RecursionError:
        return _fail("input nested too deeply to process (see the limits in README.md)")
    except MemoryError:
        return _fail("out of memory (see --max-memory and the limits in README.md)")
    except BrokenPipeError:
        # The reader of our output went away (`| head`): nothing is wrong with the input.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # no second error at exit
        return EXIT_NOT_SOLVED
    except OSError as err:
        where = f"{err.filename}: " if getattr(err, "filename", None) else ""
        return _fail(f"{where}{err.strerror or err}")


def _fail(message: str) -> int:
    print(f"esso-ngs: error: {' '.join(message.split())}", file=sys.stderr)
    return EXIT_BAD_INPUT


if __name__ == "__main__":
    sys.exit(main())
