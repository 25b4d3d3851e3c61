"""The Ray executor (`batch --executor ray`): one task per spec on a Ray cluster.

Ray is imported here only, when this executor runs (`pip install esso-ngs[ray]`).
Hints come from model-holding actors: each loads its model once (the
process-wide backend cache of two_stage.backend_for) and serves every spec sent
to it; the spec's task (synthesis without and with the hints, and the records)
takes the actor's answer as an argument, so Ray hands it over without the
driver. Each task asks for one CPU per hole (at most a node's CPUs) and
`memory_mb` of memory, which also caps its synthesizer (max_memory_bytes).
Results stream back through `ray.wait`; the shared policy of
executor.stream_outcomes retries a failed attempt (a worker lost mid-task, an
actor lost: Ray restarts actors) once and records a spec that fails twice.

Every node needs esso-ngs installed and the spec files at the same path (a
shared file system); point `$ESSO_NGS_CACHE` at a shared directory to share the
sample cache across nodes (on one machine it is shared already).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..errors import UserError
from ..formats.load import synth_path_for
from .batch import BatchSettings, SpecHints, SpecOutcome, SpecTask, finish_spec, generate_spec_hints
from .executor import MAX_ATTEMPTS, TaskEvent, TaskFailed, stream_outcomes

# Backends that only talk to a server or read a file: their actors need no CPU of their own.
_REMOTE_BACKENDS = ("openai", "replay")


def import_ray() -> Any:
    try:
        import ray
    except ImportError:
        raise UserError("--executor ray needs Ray: pip install 'esso-ngs[ray]'") from None
    return ray


class HintWorker:
    """A Ray actor's state: the batch settings, and through them a model loaded once per actor."""

    def __init__(self, settings: BatchSettings) -> None:
        self.settings = settings

    def generate(self, spec_path: Path) -> SpecHints:
        return generate_spec_hints(spec_path, self.settings)


def spec_task(spec_path: Path, run_id: str, settings: BatchSettings, hints: SpecHints,
              max_memory_bytes: int) -> SpecOutcome:
    """One spec's synthesis and records on a Ray worker (nothing written there); the search
    stops at the memory the task asked Ray for."""
    return finish_spec(spec_path, run_id, settings, hints, max_memory_bytes)


def hole_count(spec_path: Path) -> int:
    """Holes of a spec, from its synth JSON alone (cheap for the driver; 1 when unreadable:
    the task itself reports a bad spec)."""
    try:
        holes = json.loads(synth_path_for(spec_path).read_text()).get("holes")
    except (OSError, ValueError, AttributeError):
        return 1
    return max(1, len(holes)) if isinstance(holes, list) else 1


def _alive_nodes(ray: Any) -> list[dict[str, float]]:
    return [n["Resources"] for n in ray.nodes() if n.get("Alive")]


class _RayRunner:
    def __init__(self, ray: Any, run_id: str, settings: BatchSettings, hint_actors: int, memory_mb: int,
                 window: int | None) -> None:
        settings = settings.for_workers()
        self.ray, self.run_id, self.settings, self.memory_mb = ray, run_id, settings, memory_mb
        total = int(ray.cluster_resources().get("CPU", 1))
        node_cpus = max(1, int(max((n.get("CPU", 0) for n in _alive_nodes(ray)), default=1)))
        self.window = window or max(2, 2 * total)
        local_model = settings.plan.small.backend not in _REMOTE_BACKENDS or (
            settings.plan.large is not None and settings.plan.large.backend not in _REMOTE_BACKENDS)
        # An actor running a local model holds a CPU, unless that would leave none for the specs.
        actor_cpus = 1 if local_model and total > hint_actors else 0
        # A task never asks for more than a node has, nor for CPUs the actors hold for good.
        self.max_cpus = max(1, min(node_cpus, total - actor_cpus * hint_actors))
        actor = ray.remote(HintWorker).options(num_cpus=actor_cpus, max_restarts=-1, max_task_retries=0)
        self.actors = [actor.remote(settings) for _ in range(hint_actors)]
        self.task = ray.remote(spec_task)
        self.sent = 0

    def submit(self, task: SpecTask) -> Any:
        actor = self.actors[self.sent % len(self.actors)]
        self.sent += 1
        hints = actor.generate.remote(task.path)
        cpus = min(hole_count(task.path), self.max_cpus)
        # Ray retries nothing itself: the one retry policy is stream_outcomes'.
        memory = self.memory_mb * 2 ** 20
        return self.task.options(num_cpus=cpus, memory=memory, max_retries=0).remote(
            task.path, self.run_id, self.settings, hints, memory)

    def wait(self, handles: list[Any]) -> list[Any]:
        ready, _ = self.ray.wait(handles, num_returns=1)
        more, _ = self.ray.wait(handles, num_returns=len(handles), timeout=0)
        return [h for h in handles if h in set(ready) | set(more)]

    def result(self, handle: Any) -> SpecOutcome:
        try:
            return self.ray.get(handle)
        except self.ray.exceptions.RayError as exc:
            cause = getattr(exc, "cause", None)
            if isinstance(cause, UserError):
                raise cause from None
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
            raise TaskFailed(f"{type(exc).__name__}: {first}"[:300]) from None


@dataclass
class RayExecutor:
    address: str | None = None  # None: the running Ray instance, or a new local one
    hint_actors: int = 1
    memory_mb: int = 1024
    window: int | None = None  # tasks in flight (default twice the cluster's CPUs)
    max_attempts: int = MAX_ATTEMPTS
    _connected: bool = field(default=False, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.hint_actors < 1:
            raise UserError(f"--hint-actors must be >= 1, got {self.hint_actors}")
        if self.memory_mb < 1:
            raise UserError(f"--task-memory-mb must be >= 1, got {self.memory_mb}")

    def run(self, tasks: Sequence[SpecTask], run_id: str, settings: BatchSettings,
            event: TaskEvent) -> Iterator[tuple[SpecTask, SpecOutcome]]:
        if not tasks:
            return
        ray = self.connect()
        runner = _RayRunner(ray, run_id, settings, self.hint_actors, self.memory_mb, self.window)
        try:
            yield from stream_outcomes(runner, tasks, run_id, event, self.max_attempts)
        finally:
            for actor in runner.actors:  # they hold this run's settings (and maybe a model)
                ray.kill(actor)

    def connect(self) -> Any:
        """Join (or start) Ray and check that the cluster can run a task at all; the `ray` module.
        The CLI calls it before the run directory is made, so these are one-line errors that
        leave nothing behind."""
        ray = import_ray()
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False)
            except (ConnectionError, RuntimeError, ValueError) as exc:
                raise UserError(f"--ray-address {self.address or '(local)'}: cannot connect to Ray ({exc})") \
                    from None
            self._connected = True
        node_memory = max((n.get("memory", 0) for n in _alive_nodes(ray)), default=0)
        if node_memory and self.memory_mb * 2 ** 20 > node_memory:  # no task could ever be placed
            raise UserError(f"--task-memory-mb {self.memory_mb}: no Ray node has that much memory "
                            f"(the largest has {int(node_memory) // 2 ** 20} MB for tasks)")
        return ray

    def close(self) -> None:
        """Disconnect from (or stop) the Ray instance this executor started; one that was
        running before is left alone. Runs in between (a sweep's) share the connection."""
        if self._connected:
            import_ray().shutdown()
            self._connected = False
