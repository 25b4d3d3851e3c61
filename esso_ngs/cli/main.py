"""The `esso-ngs` command: one subcommand per module, user errors as one line + exit 2."""
from __future__ import annotations

import argparse
import importlib
import os
import sys
from typing import Sequence

from .. import __version__, clock, interrupts
from ..errors import UserError
from ..limits import EXIT_BAD_INPUT, EXIT_INTERRUPTED, EXIT_NOT_SOLVED
from .backend_process import prepare_model_process
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
    "completion",
)


def build_parser(commands: Sequence[str] = COMMAND_MODULES) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esso-ngs", description="Synthesize the holes of ESSO kernels: grammar enumeration with Z3 "
                                     "verification (CEGIS), guided by hints from a local LLM.")
    parser.add_argument("--version", action="version", version=f"esso-ngs {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in commands:
        module = importlib.import_module(f"{__package__}.{name}_cmd")
        module.add_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    try:
        # Before anything slow is imported: Ctrl-C anywhere from here on exits 130, one line.
        interrupts.install()
        # Budgets (`--timeout-ms`) count from the process start when it was started for
        # this command line, so that start-up and imports are inside them.
        clock.mark_command_start(from_process_start=argv is None)
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
    if first == "synth" and _names_sl_file(argv):
        try:
            return _run_parsed(_sl_synth_args(argv))
        except UserError as err:
            return _fail(str(err))
    if first in COMMAND_MODULES:
        commands: Sequence[str] = (first,)
    else:  # `--version` alone needs no command; help and errors list them all
        commands = () if argv == ["--version"] else COMMAND_MODULES
    parser = build_parser(commands)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_BAD_INPUT
    return _run_parsed(args)


def _names_sl_file(argv: list[str]) -> bool:
    """Whether `synth` is given a SyGuS-IF problem (a FILE.sl argument)."""
    return any(a.endswith(".sl") and not a.startswith("-") for a in argv[argv.index("synth") + 1:])


def _sl_synth_args(argv: list[str]) -> argparse.Namespace:
    """`synth FILE.sl` parsed by the SyGuS command's own parser: the ESSO pipeline and
    its models (seconds of imports) are never loaded for a .sl file. The options that
    only ESSO specs take (hints, models, intent) are refused, never silently ignored."""
    parser = argparse.ArgumentParser(prog="esso-ngs")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    importlib.import_module(f"{__package__}.sygus_cmd").add_synth_parser(sub)
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        raise UserError(f"{unknown[0]}: not an option for SyGuS-IF problems (FILE.sl); "
                        "see `esso-ngs sygus solve --help`")
    return args


def _run_parsed(args: argparse.Namespace) -> int:
    try:
        check_option_values(args)
        prepare_model_process(args)  # may re-execute the process (OpenBLAS for mlx): before any work
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
