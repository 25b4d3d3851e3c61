"""Model threads follow the idle cores (esso_ngs/cpu.py)."""
from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from esso_ngs import cpu


@pytest.mark.parametrize("others, cores, searching, expected", [
    (0, 2, False, 2),     # idle: both cores
    (0, 2, True, 1),      # a search in this process keeps one busy
    (1, 2, False, 1),
    (5, 2, False, 1),     # busy: never fewer than one
    (1, 8, False, 7),
    (0, 1, False, 1),
])
def test_threads_follow_the_idle_cores(monkeypatch: pytest.MonkeyPatch, others: int, cores: int,
                                       searching: bool, expected: int) -> None:
    monkeypatch.delenv(cpu.THREADS_ENV, raising=False)
    monkeypatch.setattr(cpu, "runnable_others", lambda: others)
    monkeypatch.setattr(cpu.os, "getloadavg", lambda: (1.9, 1.9, 1.9))  # lags: what ran a minute ago
    monkeypatch.setattr(cpu.os, "cpu_count", lambda: cores)
    if searching:
        with cpu.search_running():
            assert cpu.model_threads() == expected
        assert cpu.model_threads() >= expected  # the search is over
    else:
        assert cpu.model_threads() == expected


@pytest.mark.parametrize("load, expected", [(0.3, 2), (1.0, 1), (5.0, 1)])
def test_without_proc_the_load_average_decides(monkeypatch: pytest.MonkeyPatch, load: float, expected: int) -> None:
    monkeypatch.delenv(cpu.THREADS_ENV, raising=False)
    monkeypatch.setattr(cpu, "LOADAVG", "/nonexistent/loadavg")
    monkeypatch.setattr(cpu.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(cpu.os, "cpu_count", lambda: 2)
    assert cpu.runnable_others() is None and cpu.model_threads() == expected


def test_runnable_others_counts_what_stays_runnable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reads = iter(["0.9 1.0 1.0 4/80 1\n", "0.9 1.0 1.0 2/80 1\n", "0.9 1.0 1.0 5/80 1\n"])
    real_open = open

    def loadavg(path: str, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        f = tmp_path / "loadavg"
        f.write_text(next(reads))
        return real_open(f, *args, **kwargs)
    monkeypatch.setattr("builtins.open", loadavg)
    assert cpu.runnable_others(reads=3, gap_s=0.0) == 1  # the fewest seen (2), less the reader


def test_a_busy_process_is_counted() -> None:
    if not Path(cpu.LOADAVG).is_file():
        pytest.skip("no /proc/loadavg here")
    spinning = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)
        assert (cpu.runnable_others() or 0) >= 1
    finally:
        spinning.kill()
        spinning.wait()


def test_the_environment_fixes_the_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cpu.THREADS_ENV, "3")
    monkeypatch.setattr(cpu.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert cpu.model_threads() == 3


def test_synthesize_holds_the_search_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from esso_ngs.formats import load_spec
    from esso_ngs.synth import SynthOptions, synthesize
    from esso_ngs.synth import cegis

    seen: list[int] = []
    solve = cegis.solve_hole

    def spy(*args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(cpu._searches)
        return solve(*args, **kwargs)

    monkeypatch.setattr("esso_ngs.synth.solve_hole", spy)
    spec = load_spec(Path(__file__).resolve().parents[1] / "benchmarks" / "specs" / "fee_bps_hole.yaml")
    assert synthesize(spec, None, SynthOptions(timeout_ms=20_000)).solved
    assert seen and all(n >= 1 for n in seen) and cpu._searches == 0
