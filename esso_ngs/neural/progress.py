"""What the neural side reports while it works, as plain events, for people and programs.

Backends and sampling call a `Progress` callback with an `Event`; the CLI turns
events into lines on stderr (or JSON lines), the anytime synthesizer consumes
the `sample` events as candidates, a test records them. Kinds, in order:

- `start`: a generator running beside a search begins, after the search's head start
  (before its backend is chosen and its model loaded);
- `backend`: what `--backend auto` measures (`measuring`: true) and chose (message; backend:
  its label), the first time a model runs on a machine;
- `load_start` / `load`: the model is being loaded / was loaded (seconds; once per process);
- `prefill_start` / `prefill`: the prompt is going / went through the model (tokens, how many came from a cache, seconds);
- `sample`: one sample finished (index, done: k of `of`, term or None, in_grammar, tokens,
  finish; `candidate`: the term as a candidate record, left out of JSON);
- `generated`: the samples of a hole are done (samples of `of`, stopped early or not,
  tokens, seconds, tokens/s);
- `validating`: the new candidates of a hole go through the validation tiers (candidates, tier);
- `validated`: a candidate's validation tier result (term, tier, passed, reason);
- `searching`: a host's synthesizer runs (label, e.g. "without hints"; batch);
- `spec`: batch --json only: a spec starts or ends (spec, status, index of total).

`stream(work)` runs `work(progress)` in a background thread and yields its
events as they happen, then one `done` event holding the result.
"""
from __future__ import annotations

import queue
import threading
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class Event:
    kind: str
    hole_id: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"event": self.kind}
        if self.hole_id:
            out["hole"] = self.hole_id
        out.update({k: v for k, v in self.data.items() if _jsonable(v)})
        return out


def _jsonable(v: Any) -> bool:
    return v is None or isinstance(v, (str, int, float, bool, list, dict))


Progress = Callable[[Event], None]


def emit(progress: Progress | None, kind: str, hole_id: str = "", **data: Any) -> None:
    if progress is not None:
        progress(Event(kind, hole_id, data))


def stream(work: Callable[[Progress], T]) -> Iterator[Event]:
    """Run `work(progress)` in a thread; yield its events as they come, then
    `Event("done", data={"result": ...})` (or re-raise what `work` raised).

    Closing the iterator early does not stop the thread: the work finishes in
    the background (a model call cannot be interrupted mid-step).
    """
    events: "queue.Queue[tuple[str, Any]]" = queue.Queue()

    def run() -> None:
        try:
            events.put(("done", work(lambda e: events.put(("event", e)))))
        except BaseException as exc:  # handed to the consumer, raised there
            events.put(("error", exc))

    threading.Thread(target=run, name="esso-ngs-neural", daemon=True).start()
    while True:
        tag, value = events.get()
        if tag == "event":
            yield value
        elif tag == "done":
            yield Event("done", data={"result": value})
            return
        else:
            raise value
