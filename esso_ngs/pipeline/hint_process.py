"""The hint generator in a process of its own, beside the search.

Why a process: in the synthesizer's own process the model starves. The search holds
the GIL through long numpy calls on Python-int arrays, and measured on specs_hard
(benchmarks/bench_beside_search.py, vault_shares, 10 samples) the model decoded only
2 of its 10 samples within a 30 s search from a thread of synth's process, against
all 10 in 9.8 s from a process of its own (9.4 s alone). A spawned child has its
own interpreter, so the two share the cores but never the GIL.

Protocol (two one-way pipes; plain picklable messages):
- parent -> child: `("cancel", hole_id)` when a hole's stream is cancelled (solved
  and proven minimal, or out of budget), `("cancel", None)` for all; the pipe
  closing (the parent ended) cancels everything as well;
- child -> parent: `("event", Event)` progress, `("sample", hole_id, Candidate)` each
  sample the moment it is complete (its cheap tier recorded), `("hole", hole_id,
  HoleRanking, hints, rounds, time_s)` when a hole is done, `("error", is_user_error,
  message)`, and `("done", time_s)` last.
The parent's relay thread puts what arrives on the hint streams exactly as the
in-thread generator does (host.py), so the synthesizer cannot tell them apart.
"""
from __future__ import annotations

import multiprocessing
import os
import signal
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .. import cpu
from ..errors import UserError
from ..formats.model import Spec
from ..neural.blas import preload_env
from ..neural.progress import Event, Progress
from .two_stage import GenerateOptions, ModelPlan

# After the search ends, the child has this long to finish its decoding step and send
# its rankings (records: neural_hints.json); a child still loading a model (not
# interruptible) is terminated instead of waited for.
STOP_GRACE_S = 2.0
_POLL_S = 0.02

# host.py's generation as the child runs it: (spec, plan, options, rounds, wanted(hole_id),
# on_hole(hole_id, ranking, hints, rounds, time_s), on_sample(hole_id, candidate)) -> None.
# A module-level function: the child receives it by reference.
Generate = Callable[..., None]


@dataclass
class ChildOutput:
    """What the relay thread hands on: callbacks into the parent's streams and records."""

    on_sample: Any  # (hole_id, Candidate) -> None
    on_hole: Any  # (hole_id, HoleRanking, hints, rounds, time_s) -> None
    progress: Progress  # every event: the parent records the generator's stage from them
    errors: list[BaseException]


class HintProcess:
    """The spawned generator and the parent's ends of its pipes."""

    def __init__(self, generate: Generate, spec: Spec, plan: ModelPlan, options: GenerateOptions, rounds: int,
                 head_start_s: float, preload: Path | None = None) -> None:
        """Spawn the child now. Called from the main thread, it is spawned with SIGINT
        ignored (a disposition a child inherits): Ctrl-C at the terminal reaches the whole
        process group, and the child must not die of it mid-import with a traceback;
        the parent ends it. `preload`: a library the child starts with (mlx's OpenBLAS,
        neural/blas.py); only a process's start can preload one."""
        context = multiprocessing.get_context("spawn")
        self.spec = spec
        self.hurry = threading.Event()  # set: end the child now, without waiting for its rankings
        self._from_child, child_out = context.Pipe(duplex=False)
        child_in, self._to_child = context.Pipe(duplex=False)
        self.process = context.Process(target=child_main, name="esso-ngs-hints", daemon=True,
                                       args=(child_in, child_out, generate, spec, plan,
                                             replace(options, progress=None), rounds, head_start_s))
        in_main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if in_main else None
        try:
            with _environment(preload_env(preload) if preload is not None else {}):
                self.process.start()
        finally:
            if in_main:
                signal.signal(signal.SIGINT, previous)
        child_out.close()
        child_in.close()

    def relay(self, cancelled: Callable[[str], bool], out: ChildOutput) -> None:
        """Relay the child's messages until it is done. `cancelled(hole_id)` is polled
        and forwarded; once every hole is cancelled the child gets `STOP_GRACE_S` to send
        what it has (none once `hurry` is set), then it is ended."""
        holes = [h.hole_id for h in self.spec.synth.holes]
        told: set[str] = set()
        all_cancelled_at: float | None = None
        heard = False  # the child has reported work: its rankings are worth a short wait
        try:
            while not self.hurry.is_set():
                for hole_id in holes:
                    if hole_id not in told and cancelled(hole_id):
                        told.add(hole_id)
                        _send(self._to_child, ("cancel", hole_id))
                if len(told) == len(holes) and all_cancelled_at is None:
                    all_cancelled_at = time.monotonic()
                if all_cancelled_at is not None and (not heard or time.monotonic() - all_cancelled_at > STOP_GRACE_S):
                    break  # (a child still in its head start or imports has nothing to send)
                try:
                    if not self._from_child.poll(_POLL_S):
                        if not self.process.is_alive() and not self._from_child.poll(0):
                            out.errors.append(self._died())
                            break
                        continue
                    message = self._from_child.recv()
                except (EOFError, OSError):  # the pipe closed before "done": the child died
                    self.process.join(1.0)  # (its exit status is known once it is reaped)
                    out.errors.append(self._died())
                    break
                if message[0] == "done":
                    break
                heard = True
                _dispatch(message, out)
        finally:
            self._end()

    def _died(self) -> RuntimeError:
        return RuntimeError(f"the hint process ended unexpectedly (exit status {self.process.exitcode})")

    def _end(self) -> None:
        self._to_child.close()
        # Everything of use has arrived (or the grace is over): the child's own exit (the
        # model's teardown, ~0.7 s) is no reason to keep the user waiting.
        self.process.join(0.1)
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(2.0)
            if self.process.is_alive():
                self.process.kill()
                self.process.join()
        self._from_child.close()


@contextmanager
def _environment(changes: Mapping[str, str]) -> Iterator[None]:
    """`os.environ` with `changes` while a child is spawned (it inherits the environment)."""
    before = {k: os.environ.get(k) for k in changes}
    os.environ.update(changes)
    try:
        yield
    finally:
        for k, v in before.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _dispatch(message: tuple[Any, ...], out: ChildOutput) -> None:
    kind = message[0]
    if kind == "event":
        if out.progress is not None:
            out.progress(message[1])
    elif kind == "sample":
        out.on_sample(message[1], message[2])
    elif kind == "hole":
        out.on_hole(*message[1:])
    elif kind == "error":
        _, is_user_error, text = message
        out.errors.append(UserError(text) if is_user_error else RuntimeError(text))


def _send(conn: Connection, message: tuple[Any, ...]) -> None:
    try:
        conn.send(message)
    except (OSError, ValueError):  # the other side is gone: nothing left to tell it
        pass


# ------------------------------------------------------------------ the child
def child_main(inbox: Connection, outbox: Connection, generate: Generate, spec: Spec, plan: ModelPlan,
               options: GenerateOptions, rounds: int, head_start_s: float) -> None:
    """The spawned process: wait out the search's head start, then `generate` every hole's
    hints (host.py's in-thread generation, passed by reference) and stream them back."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle: it ends us
    cancelled: set[str] = set()
    everything = threading.Event()
    send_lock = threading.Lock()

    def send(message: tuple[Any, ...]) -> None:
        with send_lock:
            try:
                outbox.send(message)
            except (OSError, ValueError):  # the parent is gone
                everything.set()
            except Exception:  # an event whose data does not pickle: send it without
                if message[0] != "event":
                    raise
                ev: Event = message[1]
                outbox.send(("event", Event(ev.kind, ev.hole_id, {k: v for k, v in ev.data.items()
                                                                  if k != "candidate"})))

    def listen() -> None:
        while True:
            try:
                _, hole_id = inbox.recv()
            except (EOFError, OSError):
                everything.set()
                return
            if hole_id is None:
                everything.set()
            else:
                cancelled.add(hole_id)

    threading.Thread(target=listen, name="hint-cancels", daemon=True).start()
    wanted = lambda h: not everything.is_set() and h not in cancelled  # noqa: E731
    deadline = time.monotonic() + head_start_s
    while time.monotonic() < deadline and any(wanted(h.hole_id) for h in spec.synth.holes):
        time.sleep(0.01)
    if any(wanted(h.hole_id) for h in spec.synth.holes):
        send(("event", Event("start")))
    t0 = time.perf_counter()
    try:
        # The parent's search keeps a core busy beside us: the model's threads count it.
        with cpu.search_running():
            generate(spec, plan, replace(options, progress=lambda e: send(("event", e))), rounds, wanted,
                     lambda *hole: send(("hole", *hole)), lambda h, c: send(("sample", h, c)))
    except BaseException as exc:  # reported by the parent: its search goes on without hints
        send(("error", isinstance(exc, UserError), str(exc) or type(exc).__name__))
    send(("done", time.perf_counter() - t0))
    outbox.close()
