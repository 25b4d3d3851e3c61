"""Before a command that runs a local model does any work: settle `--backend auto`
and re-execute with OpenBLAS preloaded when mlx needs it (esso_ngs.neural.auto)."""
from __future__ import annotations

import argparse
import sys


def _model_request(args: argparse.Namespace) -> tuple[str, str] | None:
    """(backend, model) the command will run, or None when it runs no local model."""
    if getattr(args, "command", None) == "hints":
        return getattr(args, "backend", ""), getattr(args, "model", "")
    if getattr(args, "command", None) == "synth":
        return None  # its model runs in a process of its own, which settles auto (pipeline/hint_process.py)
    if getattr(args, "nh_enabled", False) or getattr(args, "command", None) == "batch":
        if getattr(args, "nh_config", None) or getattr(args, "sweep", None):
            return None  # the config or sweep file names its own backends; they are settled when made
        return getattr(args, "nh_backend", ""), getattr(args, "nh_model", "") or ""
    return None


def prepare_model_process(args: argparse.Namespace) -> None:
    request = _model_request(args)
    if request is None or not request[1]:
        return
    from ..neural.auto import prepare_process
    quiet = getattr(args, "quiet", False) or getattr(args, "nh_quiet", False) or getattr(args, "json", False)
    log = None if quiet else (lambda msg: print(msg, file=sys.stderr, flush=True))
    choice = prepare_process(*request, log=log)
    if choice is not None and getattr(args, "verbose", False) and log is not None:
        log(choice.describe())
