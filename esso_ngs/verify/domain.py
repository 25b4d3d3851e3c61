"""The input domain of one action: typed names, their bounds, and sampled inputs.

An obligation quantifies over the state vars and the action's params, each within
its type (`domain_caps: from_model`). Sampling draws boundary values, small values
(where rounding bugs live) and uniform values, so cheap refutation and the
synthesizer's example sets both come from here.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Mapping

import numpy as np

from ..formats.model import Action, BoolType, EnumType, IntType, Kernel, Type

# Inputs within this magnitude live in int64 arrays; larger bounds use Python ints.
_INT64_SAFE = 2**62
# Unbounded ints are sampled (never proven) around this range.
_UNBOUNDED_SPAN = 1000


@dataclass(frozen=True, slots=True)
class Domain:
    action_id: str
    names: tuple[str, ...]  # state vars first, then params, file order
    types: tuple[Type, ...]

    @staticmethod
    def of(kernel: Kernel, action: Action) -> "Domain":
        typed = [*kernel.state_vars, *action.params]
        return Domain(action.id, tuple(t.id for t in typed), tuple(t.type for t in typed))

    def type_of(self, name: str) -> Type | None:
        for n, t in zip(self.names, self.types):
            if n == name:
                return t
        return None

    def bounds(self) -> dict[str, tuple[int | None, int | None]]:
        """Integer bounds per name (enums as indices, bools as 0..1)."""
        out: dict[str, tuple[int | None, int | None]] = {}
        for n, t in zip(self.names, self.types):
            if isinstance(t, IntType):
                out[n] = (t.min, t.max)
            elif isinstance(t, EnumType):
                out[n] = (0, max(len(t.symbols) - 1, 0))
            else:
                out[n] = (0, 1)
        return out

    def is_bounded(self) -> bool:
        return all(lo is not None and hi is not None for lo, hi in self.bounds().values())


def _int_range(t: IntType) -> tuple[int, int]:
    lo, hi = t.min, t.max
    if lo is None and hi is None:
        return -_UNBOUNDED_SPAN, _UNBOUNDED_SPAN
    if lo is None:
        return hi - 2 * _UNBOUNDED_SPAN, hi  # type: ignore[operator]
    if hi is None:
        return lo, lo + 2 * _UNBOUNDED_SPAN
    return lo, hi


def _int_column(lo: int, hi: int, n: int, rng: random.Random) -> list[int]:
    """Boundary values first, then a mix of small and uniform values."""
    special = [lo, hi, lo + 1, hi - 1, 0, 1, 2, 10, hi // 2]
    special = [v for v in dict.fromkeys(special) if lo <= v <= hi]
    out = special[:n]
    while len(out) < n:
        kind = rng.random()
        if kind < 0.35:  # small magnitudes near the lower bound or zero
            base = max(lo, min(0, hi)) if lo <= 0 <= hi else lo
            out.append(min(hi, base + rng.randint(0, 100)))
        elif kind < 0.6:  # log-uniform above the lower bound
            span = hi - lo
            out.append(lo + min(span, int(2 ** (rng.random() * max(span, 1).bit_length()))))
        else:
            out.append(rng.randint(lo, hi))
    return out


def sample_inputs(domain: Domain, n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """`n` inputs per name; each column holds its boundary values and is shuffled
    independently, so boundary values meet each other in varied combinations."""
    rng = random.Random(seed)
    columns: dict[str, np.ndarray] = {}
    for name, t in zip(domain.names, domain.types):
        if isinstance(t, BoolType):
            columns[name] = np.array([bool(rng.getrandbits(1)) for _ in range(n)], dtype=bool)
            continue
        if isinstance(t, EnumType):
            k = max(len(t.symbols), 1)
            columns[name] = np.array([rng.randrange(k) for _ in range(n)], dtype=np.int64)
            continue
        lo, hi = _int_range(t)  # type: ignore[arg-type]
        values = _int_column(lo, hi, n, rng)
        rng.shuffle(values)
        if -_INT64_SAFE <= lo and hi <= _INT64_SAFE:
            columns[name] = np.array(values, dtype=np.int64)
        else:
            columns[name] = np.array(values, dtype=object)
    return columns


def take(columns: Mapping[str, np.ndarray], mask: np.ndarray) -> dict[str, np.ndarray]:
    return {k: v[mask] for k, v in columns.items()}


def row(columns: Mapping[str, np.ndarray], i: int) -> dict[str, int | bool]:
    """One input as plain Python values."""
    out: dict[str, int | bool] = {}
    for k, v in columns.items():
        x = v[i]
        out[k] = bool(x) if isinstance(x, (bool, np.bool_)) else int(x)
    return out


def simpler_input(domain: Domain, inputs: Mapping[str, int | bool],
                  still: Callable[[Mapping[str, int | bool]], bool]) -> dict[str, int | bool]:
    """`inputs` with each integer moved, in turn, to the smallest of a few simple values
    (its lower bound, 0, 1, 2) below it for which `still` holds: witnesses people read."""
    out = dict(inputs)
    for name, (lo, hi) in domain.bounds().items():
        current = out.get(name)
        if current is None or isinstance(current, bool):
            continue
        simple = sorted({x for x in (lo, 0, 1, 2) if x is not None and (lo is None or x >= lo)
                         and (hi is None or x <= hi) and x < current})
        for v in simple:
            if still({**out, name: v}):
                out[name] = v
                break
    return out
