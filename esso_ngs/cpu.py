"""How many threads a model may use here: one per core that nothing else keeps busy.

Measured on a 2-core machine (SmolLM2-135M, torch; benchmarks/bench_decode_step.py):
at load ~1 two threads prefilled 350 tokens 1.8x faster than one (0.88 s against
1.59 s); at load 5 they were 2-3x *slower* (9.3 s against 4.9 s, measured by hand),
threads spinning against other work. So the
default follows the machine: the threads that stay runnable now (/proc/loadavg) say how
many cores others keep busy, and a synthesis search running in this process
(`search_running`, which `synthesize` holds; a hint process holds it too, for the search
it serves) keeps one busy itself; the larger of the two counts. `ESSO_NGS_TORCH_THREADS` fixes the number.
"""
from __future__ import annotations

import contextlib
import math
import os
import threading
import time
from typing import Iterator

THREADS_ENV = "ESSO_NGS_TORCH_THREADS"
LOADAVG = "/proc/loadavg"  # "0.84 1.16 1.13 2/78 27809": the 4th field counts runnable threads now

_lock = threading.Lock()
_searches = 0


@contextlib.contextmanager
def search_running() -> Iterator[None]:
    """A synthesis search runs (in this process, or in the one a hint process serves) and
    keeps a core busy while inside."""
    global _searches
    with _lock:
        _searches += 1
    try:
        yield
    finally:
        with _lock:
            _searches -= 1


def load_average() -> float | None:
    """The 1-minute load average (runnable processes), None where the platform has none."""
    try:
        return os.getloadavg()[0]
    except OSError:
        return None


def runnable_others(reads: int = 5, gap_s: float = 0.002) -> int | None:
    """Threads of other work that stay runnable across a few quick reads of /proc/loadavg
    (its running count less this thread; the fewest seen, so a process that merely woke
    up is not counted, a CPU-bound one always is); None where there is no /proc."""
    seen = []
    for i in range(reads):
        try:
            with open(LOADAVG) as fh:
                seen.append(int(fh.read().split()[3].split("/")[0]))
        except (OSError, ValueError, IndexError):
            return None
        if i + 1 < reads:
            time.sleep(gap_s)
    return max(0, min(seen) - 1)


def model_threads() -> int:
    """Threads for a model's matrix products now (at least 1, at most the cores).

    What keeps cores busy *now* decides: the 1-minute load average lags by a minute, so
    after a process of ours (a benchmark's previous run, the previous command) it still
    counts a core that is idle, and one model thread was given where two prefill 1.8x
    faster. It is the fallback where /proc cannot say."""
    fixed = os.environ.get(THREADS_ENV, "")
    if fixed:
        return max(1, int(fixed))
    cores = os.cpu_count() or 1
    now = runnable_others()
    others = float(now) if now is not None else load_average()
    if others is None:  # cannot tell: assume the machine is busy
        return 1
    busy = max(others, float(_searches))
    return max(1, min(cores, math.ceil(cores - busy - 0.1)))
