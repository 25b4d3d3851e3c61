"""When a command started: its wall-clock budget counts from the start of the process.

`--timeout-ms` is the user's budget for the whole command, so the seconds spent
starting the interpreter, importing modules (several under load) and reading the
input are inside it: `synth FILE.sl` counts its deadlines from `command_start()`, and
`synth SPEC` hands the search what is left (`left_ms`).
On Linux the process start comes from /proc; elsewhere, for commands run in-process
(tests, `main([...])`), and in a process that ran other programs before it exec'd this
one (a shell's last command), from the moment the command line was entered.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

_command_start: float | None = None  # time.perf_counter() value


# A process that has waited for this much CPU time of children before it became
# esso-ngs was a shell or script that exec'd it after other work (`sh -c 'setup && esso-ngs
# ...'` execs its last command; so do Docker RUN lines): its start is not ours. A launcher's
# own helpers (pyenv's shim) take milliseconds.
PRIOR_WORK_CPU_S = 0.5


def process_age_s() -> float | None:
    """Seconds since this process started, or None where /proc cannot say or where the
    process ran other programs before it exec'd this one (PRIOR_WORK_CPU_S)."""
    try:
        fields = Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()
        tick = os.sysconf("SC_CLK_TCK")
        # fields[0] is stat's 3rd field: cutime and cstime are its 16th and 17th, starttime its 22nd.
        if (int(fields[13]) + int(fields[14])) / tick > PRIOR_WORK_CPU_S:
            return None
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        return max(0.0, uptime - int(fields[19]) / tick)
    except (OSError, ValueError, IndexError):
        return None


def mark_command_start(from_process_start: bool) -> None:
    """Called at CLI entry: the budget counts from the process start when the process
    was started for this command, else from now."""
    global _command_start
    now = time.perf_counter()
    age = process_age_s() if from_process_start else None
    _command_start = now - age if age is not None else now


def command_start() -> float:
    """The `time.perf_counter()` value at which the running command's budget began
    (now, when no command line was entered: a library call)."""
    return _command_start if _command_start is not None else time.perf_counter()



def left_ms(budget_ms: int) -> int:
    """What is left now of a budget of `budget_ms` counted from the command's start
    (at least 1 ms: a spent budget still lets the search look once)."""
    return max(1, round(budget_ms - (time.perf_counter() - command_start()) * 1000))
