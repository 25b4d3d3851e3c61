"""Shared by the executor tests: a folder of bundled specs with replayed hints, and run-directory
comparison modulo timings."""
from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
from pathlib import Path
from typing import Any, Callable

from esso_ngs.pipeline.records import read_records

from .helpers import INTENDED, WRONG, replay_file, spec_file

# Four bundled specs, one with two holes (breaker_window: the slowest, ~2.5 s unguided).
FOUR_SPECS = ("breaker_trip", "breaker_window", "credit_single", "fee_bps")


def spec_folder(root: Path, prefixes: tuple[str, ...] = FOUR_SPECS) -> Path:
    d = root / "specs"
    d.mkdir(parents=True)
    for prefix in prefixes:
        for f in spec_file(prefix).parent.glob(f"{prefix}_*"):
            shutil.copy(f, d / f.name)
    return d


def replay_for(root: Path, prefixes: tuple[str, ...] = FOUR_SPECS) -> Path:
    """A replay source: per hole, one wrong term, then the intended one twice."""
    holes: dict[str, list[Any]] = {}
    for prefix in prefixes:
        for hole_id, intended in INTENDED[prefix].items():
            holes[hole_id] = [*WRONG[prefix][hole_id][:1], (intended, 2)]
    return replay_file(root / "replay.json", holes)


def batch_argv(specs: Path, replay: Path, run: Path) -> list[str]:
    return ["batch", str(specs), "--backend", "replay", "--model", str(replay), "--validate", "examples",
            "--example-inputs", "2000", "--output", str(run)]


def _untimed(value: Any) -> Any:
    """`value` without the fields that measure time (they differ between any two runs)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items()
                if not (k.endswith(("_s", "_ms", "_speedup")) or k in ("time", "times", "seconds")
                        or k.startswith("speedup"))}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


def run_dir_contents(run: Path) -> dict[str, Any]:
    """Everything a run directory says, timings removed, records as a sorted multiset."""
    out: dict[str, Any] = {}
    for path in sorted(run.iterdir()):
        if path.name == "records.jsonl":
            lines = [json.dumps(_untimed(r), sort_keys=True) for r in read_records(path)]
            out[path.name] = sorted(lines)
        elif path.name == "run.json":
            out[path.name] = _untimed({k: v for k, v in json.loads(path.read_text()).items() if k != "created"})
        elif path.suffix == ".json":
            out[path.name] = _untimed(json.loads(path.read_text()))
        else:
            out[path.name] = path.stat().st_size > 0
    return out


def processes() -> list[tuple[int, int, bytes, float]]:
    """(pid, parent pid, command line, CPU seconds used) of every process (Linux /proc)."""
    tick = os.sysconf("SC_CLK_TCK")
    out = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
            cmdline = Path(f"/proc/{entry}/cmdline").read_bytes()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2:].split()  # after "pid (name) "
        out.append((int(entry), int(fields[1]), cmdline, (int(fields[11]) + int(fields[12])) / tick))
    return out


def _descendants(procs: list[tuple[int, int, bytes, float]], root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, ppid, _, _ in procs:
        children.setdefault(ppid, []).append(pid)
    out, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in out:
                out.add(child)
                todo.append(child)
    return out


def kill_when_busy(is_worker: Callable[[int, bytes], bool], stop: threading.Event, killed: list[int],
                   window_s: float = 0.3, min_cpu_s: float = 0.02) -> None:
    """SIGKILL the first worker that has computed for a while: a descendant of this process (never
    anyone else's) matched by `is_worker(parent pid, command line)` for `window_s` running, which
    used `min_cpu_s` of CPU in that time (an idle worker uses none: the kill lands mid-task; on a
    loaded machine a busy one may get a tenth of a core, hence the small threshold)."""
    history: dict[int, list[tuple[float, float]]] = {}
    while not stop.is_set():
        now = time.monotonic()
        procs = processes()
        ours = _descendants(procs, os.getpid())
        seen = {pid: cpu for pid, ppid, cmdline, cpu in procs if pid in ours and is_worker(ppid, cmdline)}
        history = {pid: [*history.get(pid, []), (now, cpu)] for pid, cpu in seen.items()}
        for pid, samples in history.items():
            old = [cpu for t, cpu in samples if now - t >= window_s]
            if old and samples[-1][1] - old[-1] >= min_cpu_s:
                os.kill(pid, signal.SIGKILL)
                killed.append(pid)
                return
        time.sleep(0.02)
