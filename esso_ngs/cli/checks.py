"""One check of option values for every command (issue14's parser can call it too).

argparse checks types; the ranges live here, keyed by the option's destination,
so `--timeout-ms -5` gets the same one-line error (exit 2) in every command that
has it.
"""
from __future__ import annotations

import argparse
from dataclasses import dataclass

from ..errors import UserError
from ..limits import MAX_SAMPLES


@dataclass(frozen=True)
class Range:
    low: float | None = None
    high: float | None = None
    low_open: bool = False  # low itself not allowed

    def admits(self, value: float) -> bool:
        if self.low is not None and (value < self.low or (self.low_open and value == self.low)):
            return False
        return self.high is None or value <= self.high

    def describe(self) -> str:
        low = None if self.low is None else f"{'>' if self.low_open else '>='} {_num(self.low)}"
        high = None if self.high is None else f"<= {_num(self.high)}"
        return " and ".join(x for x in (low, high) if x)


def _num(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


POSITIVE = Range(1)
NON_NEGATIVE = Range(0)

# destination -> allowed range (an absent value, None, is always allowed: the default applies).
RANGES: dict[str, Range] = {
    "timeout_ms": POSITIVE,
    "max_candidates": POSITIVE,
    "max_memory_mb": POSITIVE,
    "budget_s": Range(0, low_open=True),
    "n": Range(1, MAX_SAMPLES),
    "max_size": POSITIVE,
    "max_nodes": POSITIVE,
    "max_nesting": NON_NEGATIVE,
    "seed": NON_NEGATIVE,
    "nh_samples": POSITIVE,
    "nh_temp": NON_NEGATIVE,
    "nh_top_p": Range(0, 1, low_open=True),
    "nh_seed": NON_NEGATIVE,
    "nh_max_tokens": POSITIVE,
    "nh_example_inputs": POSITIVE,
    "nh_candidate_timeout_ms": POSITIVE,
    "nh_rounds": POSITIVE,
    "samples": POSITIVE,
    "temp": NON_NEGATIVE,
    "top_p": Range(0, 1, low_open=True),
    "max_tokens": POSITIVE,
    "example_inputs": POSITIVE,
    "candidate_timeout_ms": POSITIVE,
}


def flag_of(dest: str) -> str:
    return "-n" if dest == "n" else "--" + dest.removeprefix("nh_").replace("_", "-")


def check_option_values(args: argparse.Namespace) -> None:
    """UserError (one line, exit 2) for the first option value out of its range."""
    for dest, allowed in RANGES.items():
        value = getattr(args, dest, None)
        if value is None or isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        if value != value or not allowed.admits(value):  # NaN is never in range
            raise UserError(f"{flag_of(dest)} must be {allowed.describe()}, got {value}")
