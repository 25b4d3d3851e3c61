"""`esso-ngs completion bash|zsh`: a shell completion script, generated from the parser itself.

    esso-ngs completion bash > ~/.local/share/bash-completion/completions/esso-ngs
    esso-ngs completion zsh > "${fpath[1]}/_esso-ngs"

Hidden aliases (old flag spellings) are not offered.
"""
from __future__ import annotations

import argparse

SHELLS = ("bash", "zsh")
# What a positional or an option's value names: files and folders complete as such.
_FILE_DESTS = {"spec", "specs", "solution", "hints", "plot"}
_DIR_DESTS = {"dir", "run_dir"}
_FILE_METAVARS = {"FILE", "FILE.sl", "SPEC", "PNG", "SOLUTION"}
_DIR_METAVARS = {"DIR"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("completion", help="print a bash or zsh completion script",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("shell", choices=SHELLS)
    p.set_defaults(func=run)


def _mark_paths(parser: argparse.ArgumentParser, shtab: object) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for child in action.choices.values():
                _mark_paths(child, shtab)
            continue
        if action.dest in _DIR_DESTS or action.metavar in _DIR_METAVARS:
            action.complete = shtab.DIRECTORY  # type: ignore[attr-defined]
        elif action.dest in _FILE_DESTS or action.metavar in _FILE_METAVARS:
            action.complete = shtab.FILE  # type: ignore[attr-defined]


def completion_script(shell: str) -> str:
    import shtab

    from .main import build_parser
    parser = build_parser()
    _mark_paths(parser, shtab)
    return shtab.complete(parser, shell=shell)


def run(args: argparse.Namespace) -> int:
    print(completion_script(args.shell))
    return 0
