"""Ctrl-C and crashes: exit 130 with one line, nothing partial, nothing lost or doubled on resume.

The signal tests run the real `esso-ngs` in a subprocess and send SIGINT at a seeded
random moment: inside a Z3 query, during enumeration, during a batch and during the
start-up imports. The waits are hang guards, not timing goals (bench_fuzz.py measures
how fast the exit is).
"""
from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.fsutil import LOCK_NAME, locked_output_dir
from esso_ngs.pipeline.records import read_records, record_key

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "benchmarks" / "specs"
HARD = ROOT / "benchmarks" / "specs_hard"
BATCH_SPECS = ("fee_bps", "breaker_trip", "credit_single")
HANG_GUARD_S = 30
CUBES = """(set-logic NIA)
(synth-fun f ((x Int)) Int)
(declare-var x Int)
(declare-var y Int)
(declare-var z Int)
(constraint (not (= (+ (* x x x) (* y y y) (* z z z)) (f x))))
(check-synth)
"""


RETURNED = "main returned"


def cli_argv(*args: str) -> list[str]:
    """The CLI in a subprocess; it prints `ready` on stderr once the entry point runs,
    so the signal never lands in the interpreter's own start-up (seconds on a loaded machine),
    and `main returned RC` once the command is over, so a signal that lands in the interpreter's
    shut-down after a finished command (the process then dies by SIGINT, as any Python program
    does) is told apart from one that interrupted the command."""
    return [sys.executable, "-c", "import sys; from esso_ngs.cli.main import main; "
                                  "print('ready', file=sys.stderr, flush=True); rc = main(); "
                                  f"print({RETURNED!r}, rc, file=sys.stderr, flush=True); sys.exit(rc)", *args]


def interrupt(argv: list[str], delay_s: float, cwd: Path, after: str = "ready") -> tuple[int, str, float]:
    """Start `argv`, wait for a stderr line holding `after`, then `delay_s`, then Ctrl-C:
    (exit status, stderr, seconds from the signal to the exit)."""
    proc = subprocess.Popen(argv, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    assert proc.stderr is not None
    seen = []
    for line in proc.stderr:
        seen.append(line)
        if after in line:
            break
    time.sleep(delay_s)
    start = time.perf_counter()
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=HANG_GUARD_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        _, err = proc.communicate()
        pytest.fail(f"still running {HANG_GUARD_S} s after Ctrl-C: {err[-500:]}")
    return proc.returncode, "".join(seen) + err, time.perf_counter() - start


def _no_partial_files(root: Path) -> None:
    for p in root.rglob("*"):
        assert not p.name.endswith(".tmp") and p.name != LOCK_NAME, f"left behind: {p}"
        if p.is_file() and p.suffix == ".json":
            json.loads(p.read_text())  # whole, or not there at all


def _returned(err: str) -> int | None:
    """The status `main` returned, or None when the process ended before it returned."""
    ends = [line for line in err.splitlines() if line.startswith(RETURNED)]
    return int(ends[-1].split()[-1]) if ends else None


def _assert_interrupted(rc: int, err: str) -> None:
    assert rc == 130, err
    assert "Traceback" not in err
    assert [line for line in err.strip().splitlines() if not line.startswith(RETURNED)][-1] == "esso-ngs: interrupted"


def _finished_first(rc: int, err: str) -> bool:
    """The command was over before the signal (a fast machine): `main` returned 0, and the
    process exited 0, or died by SIGINT when the signal landed in the interpreter's shut-down."""
    if _returned(err) != 0:
        return False
    assert rc in (0, -signal.SIGINT), err
    return True


def test_ctrl_c_inside_z3(tmp_path: Path) -> None:
    """x^3 + y^3 + z^3 = 33 keeps Z3 busy for far longer than the test: Ctrl-C must
    end the query (Z3 used to catch SIGINT itself, answer `unknown` and go on)."""
    (tmp_path / "cubes.sl").write_text(CUBES)
    (tmp_path / "sol.txt").write_text("(define-fun f ((x Int)) Int 33)\n")
    delay = random.Random(11).uniform(1.0, 3.0)  # z3 is imported and the query under way by then
    rc, err, _ = interrupt(cli_argv("sygus", "check", "cubes.sl", "sol.txt", "--timeout-ms", "600000"), delay, tmp_path)
    _assert_interrupted(rc, err)


def test_ctrl_c_during_enumeration(tmp_path: Path) -> None:
    """dyn_fee takes minutes unguided: interrupted, it leaves no partial file. Its notes
    state the formula, a hint verified before the search: that answer, written at once
    (anytime, `minimal: false`), stays; nothing else is written."""
    delay = random.Random(12).uniform(0.0, 1.0)
    out = tmp_path / "out"
    rc, err, _ = interrupt(cli_argv("synth", str(HARD / "dyn_fee_hole.yaml"), "--output", str(out), "-v"), delay, tmp_path,
                         after="] level ")  # the enumerator's trace: it is enumerating now
    _assert_interrupted(rc, err)
    if out.exists():
        result = json.loads((out / "result.json").read_text())
        assert all(h["status"] == "solved" and h["minimal"] is False for h in result["holes"].values())
    _no_partial_files(tmp_path)


def test_ctrl_c_during_imports(tmp_path: Path) -> None:
    """Once the entry point runs, the command's heavy imports (z3, numpy, lark) follow:
    Ctrl-C among them is exit 130 and one line, not a traceback (Python may wrap the
    KeyboardInterrupt in a RuntimeError when it lands in class creation)."""
    rng = random.Random(13)
    for k in range(5):
        out = tmp_path / f"o{k}"
        argv = [sys.executable, "-c", "import sys; from esso_ngs.cli.main import main; print('ready', flush=True); "
                                      f"rc = main(); print({RETURNED!r}, rc, file=sys.stderr, flush=True); sys.exit(rc)",
                "synth", str(SPECS / "fee_bps_hole.yaml"), "--output", str(out)]
        proc = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(rng.uniform(0.0, 0.4))
        proc.send_signal(signal.SIGINT)
        try:
            _, err = proc.communicate(timeout=HANG_GUARD_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            pytest.fail("still running after Ctrl-C")
        if not _finished_first(proc.returncode, err):
            _assert_interrupted(proc.returncode, err)
            assert not out.exists()
    _no_partial_files(tmp_path)


def _batch_dir(tmp_path: Path) -> tuple[Path, Path]:
    specs = tmp_path / "specs"
    specs.mkdir()
    manifest = json.loads((SPECS / "manifest.json").read_text())["specs"]
    holes = {}
    for prefix in BATCH_SPECS:
        for f in SPECS.glob(f"{prefix}_*"):
            shutil.copy(f, specs / f.name)
        entry = next(s for s in manifest if s["prefix"] == prefix)
        for hole_id, e in entry["holes"].items():
            holes[hole_id] = {"term": e["intended"], "source": "test", "rank": 0,
                              "candidates": [{"term": e["intended"], "count": 2}, {"term": "0", "count": 1}]}
    replay = tmp_path / "replay.json"
    replay.write_text(json.dumps({"holes": holes}))
    return specs, replay


def _batch_argv(specs: Path, replay: Path, run: Path) -> list[str]:
    return ["batch", str(specs), "--backend", "replay", "--model", str(replay), "--validate", "cheap",
            "--output", str(run)]


def _assert_records_once(run: Path) -> list[dict]:
    records = read_records(run / "records.jsonl")
    keys = [r["key"] for r in records]
    assert len(keys) == len(set(keys)), "a record was written twice"
    assert all(r["key"] == record_key(r) for r in records)
    solutions = [(r["spec"], r["hole_id"]) for r in records if r["kind"] == "solution"]
    assert sorted(solutions) == sorted(set(solutions))
    done = {json.loads(p.read_text())["spec"] for p in run.glob("*.result.json")}
    assert {s for s, _ in solutions} == done  # every finished spec's solution is there, once
    assert (run / "records.jsonl").read_bytes().endswith(b"\n")
    return records


def test_ctrl_c_during_batch_then_resume(tmp_path: Path, capsys) -> None:
    specs, replay = _batch_dir(tmp_path)
    run = tmp_path / "run"
    delay = random.Random(14).uniform(0.5, 3.0)
    rc, err, _ = interrupt(cli_argv(*_batch_argv(specs, replay, run)), delay, tmp_path)
    if not _finished_first(rc, err):  # finished before the signal on a fast machine: still a valid run
        _assert_interrupted(rc, err)
    _no_partial_files(run)
    assert main(_batch_argv(specs, replay, run)) == 0
    capsys.readouterr()
    _no_partial_files(run)
    _assert_records_once(run)
    assert len(list(run.glob("*.result.json"))) == len(BATCH_SPECS)


def test_batch_killed_between_records_and_result_then_resumed(tmp_path: Path, capsys) -> None:
    """A spec's records are written before its result (the "finished" mark): a kill in
    between reruns the spec on resume; the records are not doubled. A torn last line
    (a kill mid-append) is cut, not glued to the next record."""
    specs, replay = _batch_dir(tmp_path)
    run = tmp_path / "run"
    assert main(_batch_argv(specs, replay, run)) == 0
    first = _assert_records_once(run)
    # The state a kill between records and result leaves: records in, result missing.
    (run / "fee_bps.result.json").unlink()
    with open(run / "records.jsonl", "ab") as fh:  # and a torn line from a kill mid-append
        fh.write(b'{"schema": "esso-ngs-record/v1", "kind": "solu')
    assert main(_batch_argv(specs, replay, run)) == 0
    assert "1 now, 2 earlier" in capsys.readouterr().out
    again = _assert_records_once(run)
    assert sorted(r["key"] for r in again) == sorted(r["key"] for r in first)


def test_second_run_into_a_locked_output_dir_fails_fast(tmp_path: Path, capsys) -> None:
    out = tmp_path / "out"
    with locked_output_dir(out):
        assert main(["synth", str(SPECS / "fee_bps_hole.yaml"), "--output", str(out)]) == 2
        err = capsys.readouterr().err
        assert f"another esso-ngs run (pid {os.getpid()})" in err and len(err.strip().splitlines()) == 1
        assert not (out / "result.json").exists()
    assert main(["synth", str(SPECS / "fee_bps_hole.yaml"), "--output", str(out)]) == 0
    assert (out / "result.json").is_file() and not (out / LOCK_NAME).exists()


STUCK = """
import signal, sys, tempfile, time
from esso_ngs import fsutil, interrupts
interrupts.install()
# The main thread stuck where Python cannot raise (as in a long call into C code): it
# never sees SIGINT, so the watcher thread must end the process, removing the temp
# file of the write in flight.
signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
fd, tmp = tempfile.mkstemp(dir=sys.argv[1], prefix=".result.json.", suffix=".tmp")
fsutil._IN_FLIGHT.add(tmp)
print("ready", file=sys.stderr, flush=True)
time.sleep(120)
"""


def test_ctrl_c_when_the_main_thread_cannot_raise(tmp_path: Path) -> None:
    rc, err, _ = interrupt([sys.executable, "-c", STUCK, str(tmp_path)], random.Random(15).uniform(0.0, 0.5), tmp_path)
    _assert_interrupted(rc, err)
    assert list(tmp_path.iterdir()) == []  # the temp file of the unfinished write is gone


def test_ctrl_c_dropped_by_python_is_delivered_again() -> None:
    """A KeyboardInterrupt raised where Python can only print and drop it (a callback
    of the import machinery, a __del__) comes back in ordinary code: no traceback, no hang."""
    code = ("import sys, time, types\n"
            "from esso_ngs import interrupts\n"
            "interrupts.install()\n"
            "try:\n"
            "    sys.unraisablehook(types.SimpleNamespace(exc_value=KeyboardInterrupt(), exc_type=KeyboardInterrupt,\n"
            "                                             exc_traceback=None, err_msg=None, object=None))\n"
            "    time.sleep(20)\n"
            "    print('lost')\n"
            "except KeyboardInterrupt:\n"
            "    print('delivered')\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert proc.stdout.strip() == "delivered", proc.stderr
    assert "Traceback" not in proc.stderr
