"""`synth SPEC --timeout-ms N` counts from the process start, like `synth FILE.sl`
(`clock`): the search gets what is left of the budget. Library callers of
`synthesize` keep `SynthOptions.timeout_ms` as the search's own budget."""
from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import pytest

from esso_ngs import clock
from esso_ngs.cli import synth_cmd
from esso_ngs.cli.main import main
from esso_ngs.formats import load_spec
from esso_ngs.synth import SynthOptions, synthesize

from benchspecs import spec_path


def _budgets(monkeypatch: pytest.MonkeyPatch, age_s: float, argv: list[str]) -> list[int | None]:
    """The timeout_ms the CLI hands `synthesize` when this process started `age_s` ago."""
    monkeypatch.setattr(clock, "_command_start", None)  # restored after the test
    monkeypatch.setattr(clock, "process_age_s", lambda: age_s)
    monkeypatch.setattr(sys, "argv", ["esso-ngs", "synth", *argv])
    seen: list[int | None] = []

    def recording(spec: Any, hints: Any, options: SynthOptions, *rest: Any) -> Any:
        seen.append(options.timeout_ms)
        return synthesize(spec, hints, options, *rest)

    monkeypatch.setattr(synth_cmd, "synthesize", recording)
    main()
    return seen


def test_the_cli_budget_is_reduced_by_the_time_already_spent(tmp_path: Path, monkeypatch, capsys) -> None:
    spec = str(spec_path("fee_bps"))
    common = ["--max-candidates", "200", "-o", str(tmp_path), "--json"]
    # Started 4 s ago: of 10 s, at most 6 s are left for the search.
    [left] = _budgets(monkeypatch, 4.0, [spec, "--timeout-ms", "10000", *common])
    assert left is not None and 1 <= left <= 6000
    # No --timeout-ms: the spec's backend.timeout_ms, counted the same way.
    spec_ms = load_spec(spec).synth.timeout_ms
    assert spec_ms is not None and spec_ms > 4000
    [left] = _budgets(monkeypatch, 4.0, [spec, *common])
    assert left is not None and 1 <= left <= spec_ms - 4000
    # A budget spent before the search starts leaves it the 1 ms floor, never a negative or 0 (= default).
    assert _budgets(monkeypatch, 1000.0, [spec, "--timeout-ms", "10000", *common]) == [1]
    capsys.readouterr()


def test_library_callers_keep_their_own_budget(monkeypatch) -> None:
    # A process that started long ago: synthesize's timeout_ms still counts from its call.
    monkeypatch.setattr(clock, "_command_start", None)
    monkeypatch.setattr(clock, "process_age_s", lambda: 1000.0)
    clock.mark_command_start(from_process_start=True)
    result = synthesize(load_spec(spec_path("fee_bps")), None, SynthOptions(timeout_ms=60_000))
    assert result.solved and result.holes[0].status == "solved"


AGE = "from esso_ngs import clock; print(clock.process_age_s())"
BUSY = "import time\nt = time.process_time()\nwhile time.process_time() - t < 1.0: pass"


@pytest.mark.skipif(not Path("/proc/self/stat").is_file(), reason="no /proc here")
def test_a_shell_that_worked_before_it_exec_d_us_is_not_our_start() -> None:
    """`sh -c 'setup && esso-ngs synth ...'` (and a Docker RUN line) execs its last command:
    the process then started with the setup, which once took the whole 30 s budget
    (`TIMEOUT after 6 terms, 0.00 s`). Counted from the entry point instead."""
    import shlex
    import subprocess
    py = shlex.quote(sys.executable)
    after_work = subprocess.run(["bash", "-c", f"{py} -c {shlex.quote(BUSY)}; exec {py} -c {shlex.quote(AGE)}"],
                                capture_output=True, text=True, check=True).stdout.strip()
    assert after_work == "None"
    alone = subprocess.run([sys.executable, "-c", AGE], capture_output=True, text=True, check=True).stdout.strip()
    assert alone != "None" and 0.0 <= float(alone) < 60.0  # a process of its own: its start-up counts
