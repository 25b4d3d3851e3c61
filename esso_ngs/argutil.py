"""argparse helpers shared by the commands and the hint pipeline's options.

One flag name per concept across all commands; an old spelling stays accepted
as a hidden alias (not in --help, not completed) so existing scripts keep working.
"""
from __future__ import annotations

import argparse
from typing import Any


def add_hidden_alias(parser: Any, *flags: str, dest: str, **kwargs: Any) -> None:
    """Accept `flags` as another spelling of the option stored in `dest`.

    `parser` is a parser or an argument group. The alias sets no default (the
    visible option's default stands), and it is left out of help and completion.
    """
    kwargs.setdefault("default", argparse.SUPPRESS)
    parser.add_argument(*flags, dest=dest, help=argparse.SUPPRESS, **kwargs)


def is_hidden(action: argparse.Action) -> bool:
    return action.help == argparse.SUPPRESS
