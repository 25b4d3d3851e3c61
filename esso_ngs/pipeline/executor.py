"""Executors: where a batch's per-spec tasks run. The driver (batch.run_batch) alone writes.

An executor takes the unfinished specs and yields `(task, SpecOutcome)` as each
finishes, in any order. Every executor shares one policy (`stream_outcomes`):
at most `window` tasks in flight (so the driver's memory does not grow with the
run), a failed attempt (an exception, a lost worker) is run once more, and a spec
that fails every attempt yields a failed outcome: it is recorded, never lost.

- `LocalExecutor(workers=1)`: in this process, one spec at a time (the default,
  what `batch` always did); `workers=N` runs N worker processes.
- `RayExecutor` (ray_executor.py, `pip install esso-ngs[ray]`): a Ray cluster.
"""
from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Protocol, Sequence

from ..errors import UserError
from .batch import BatchSettings, SpecOutcome, SpecTask, compute_spec, failed_outcome

MAX_ATTEMPTS = 2


# (event, task): "start" when a task is handed to a worker, "retry" when a failed attempt runs again.
TaskEvent = Callable[[str, SpecTask], None]


class Executor(Protocol):
    def run(self, tasks: Sequence[SpecTask], run_id: str, settings: BatchSettings,
            event: TaskEvent) -> Iterator[tuple[SpecTask, SpecOutcome]]:
        """Every task's outcome, as each finishes."""
        ...

    def close(self) -> None:
        """Release what outlives one run (a cluster connection); runs may follow until then."""
        ...


class TaskFailed(Exception):
    """One attempt of a task failed (the message says how)."""


class Runner(Protocol):
    """What `stream_outcomes` needs of a place that runs tasks."""

    window: int  # tasks in flight at most

    def submit(self, task: SpecTask) -> Any:
        """Start one attempt; returns a handle."""
        ...

    def wait(self, handles: list[Any]) -> list[Any]:
        """Block until at least one handle has finished; the finished ones."""
        ...

    def result(self, handle: Any) -> SpecOutcome:
        """The outcome of a finished handle, or TaskFailed."""
        ...


def stream_outcomes(runner: Runner, tasks: Sequence[SpecTask], run_id: str, event: TaskEvent,
                    max_attempts: int = MAX_ATTEMPTS) -> Iterator[tuple[SpecTask, SpecOutcome]]:
    """Run `tasks` on `runner` with the shared window and retry policy (module docstring)."""
    queue = list(reversed(tasks))
    attempts: dict[str, int] = {}
    in_flight: dict[Any, SpecTask] = {}
    retry: list[SpecTask] = []
    while queue or retry or in_flight:
        while (retry or queue) and len(in_flight) < max(1, runner.window):
            task = retry.pop() if retry else queue.pop()
            attempts[task.name] = attempts.get(task.name, 0) + 1
            event("start" if attempts[task.name] == 1 else "retry", task)
            in_flight[runner.submit(task)] = task
        for handle in runner.wait(list(in_flight)):
            task = in_flight.pop(handle)
            try:
                outcome = runner.result(handle)
            except TaskFailed as failure:
                if attempts[task.name] < max_attempts:
                    retry.append(task)
                    continue
                outcome = failed_outcome(task.path, run_id, str(failure), attempts[task.name])
            yield task, outcome


# ---------------------------------------------------------------- local: this process, or a pool
@dataclass(eq=False)  # a handle: hashed by identity
class _Done:
    """A handle of a task that already ran in this process."""

    outcome: SpecOutcome | None
    error: str = ""


class _InProcess:
    window = 1

    def __init__(self, run_id: str, settings: BatchSettings) -> None:
        self.run_id, self.settings = run_id, settings

    def submit(self, task: SpecTask) -> _Done:
        try:
            return _Done(compute_spec(task.path, self.run_id, self.settings))
        except UserError:
            raise
        except Exception as exc:  # a bug in one spec's task: recorded after its retry, not fatal to the run
            return _Done(None, _describe(exc))

    def wait(self, handles: list[Any]) -> list[Any]:
        return handles

    def result(self, handle: _Done) -> SpecOutcome:
        if handle.outcome is None:
            raise TaskFailed(handle.error)
        return handle.outcome


class _Pool:
    """N worker processes (spawned: no state inherited from a driver that may hold threads)."""

    def __init__(self, workers: int, run_id: str, settings: BatchSettings) -> None:
        self.window = workers
        self.run_id, self.settings = run_id, settings.for_workers()
        self.pool = self._new_pool()

    def _new_pool(self) -> cf.ProcessPoolExecutor:
        return cf.ProcessPoolExecutor(self.window, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, task: SpecTask) -> cf.Future:
        try:
            return self.pool.submit(compute_spec, task.path, self.run_id, self.settings)
        except cf.process.BrokenProcessPool:  # a worker died: the pool is unusable, start another
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()
            return self.pool.submit(compute_spec, task.path, self.run_id, self.settings)

    def wait(self, handles: list[Any]) -> list[Any]:
        done, _ = cf.wait(handles, return_when=cf.FIRST_COMPLETED)
        return sorted(done, key=handles.index)

    def result(self, handle: cf.Future) -> SpecOutcome:
        try:
            return handle.result()
        except UserError:
            raise
        except cf.process.BrokenProcessPool as exc:
            raise TaskFailed(f"worker process lost ({exc})") from None
        except Exception as exc:
            raise TaskFailed(_describe(exc)) from None

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _describe(exc: BaseException) -> str:
    """One line for a failed attempt: the exception and where it was raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else ""
    return f"{type(exc).__name__}: {exc}{where}"


@dataclass
class LocalExecutor:
    workers: int = 1
    max_attempts: int = MAX_ATTEMPTS

    def __post_init__(self) -> None:
        if self.workers < 1:
            raise UserError(f"--workers must be >= 1, got {self.workers}")

    def run(self, tasks: Sequence[SpecTask], run_id: str, settings: BatchSettings,
            event: TaskEvent) -> Iterator[tuple[SpecTask, SpecOutcome]]:
        if self.workers == 1 or len(tasks) <= 1:
            yield from stream_outcomes(_InProcess(run_id, settings), tasks, run_id, event, self.max_attempts)
            return
        pool = _Pool(min(self.workers, len(tasks)), run_id, settings)
        try:
            yield from stream_outcomes(pool, tasks, run_id, event, self.max_attempts)
        finally:
            pool.close()

    def close(self) -> None:
        pass
