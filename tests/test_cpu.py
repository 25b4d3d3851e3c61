"""Model threads follow the idle cores (esso_ngs/cpu.py)."""
from __future__ import annotations

import pytest

from esso_ngs import cpu


@pytest.mark.parametrize("load, cores, searching, expected", [
    (0.3, 2, False, 2),   # idle: both cores
    (0.3, 2, True, 1),    # a search in this process keeps one busy (the load average lags)
    (1.0, 2, False, 1),
    (5.0, 2, False, 1),   # busy: never fewer than one
    (1.5, 8, False, 7),
    (0.0, 1, False, 1),
])
def test_threads_follow_the_idle_cores(monkeypatch: pytest.MonkeyPatch, load: float, cores: int,
                                       searching: bool, expected: int) -> None:
    monkeypatch.delenv(cpu.THREADS_ENV, raising=False)
    monkeypatch.setattr(cpu.os, "getloadavg", lambda: (load, load, load))
    monkeypatch.setattr(cpu.os, "cpu_count", lambda: cores)
    if searching:
        with cpu.search_running():
            assert cpu.model_threads() == expected
        assert cpu.model_threads() >= expected  # the search is over
    else:
        assert cpu.model_threads() == expected


def test_the_environment_fixes_the_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(cpu.THREADS_ENV, "3")
    monkeypatch.setattr(cpu.os, "getloadavg", lambda: (9.0, 9.0, 9.0))
    assert cpu.model_threads() == 3


def test_synthesize_holds_the_search_flag(monkeypatch: pytest.MonkeyPatch) -> None:
    from pathlib import Path
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
