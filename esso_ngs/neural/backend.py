"""The one small interface every model backend implements, and the backend registry.

A backend turns a prompt and sampling settings into N sampled completions,
optionally constrained by the Lark text of a grammar. Backends live one per
module and are imported only when asked for by name, so `esso-ngs` runs without
mlx, torch or llguidance installed and says in one line which package is missing.
"""
from __future__ import annotations

import hashlib
import importlib
import json
import threading
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Protocol, TypeVar, runtime_checkable

from ..errors import UserError

T = TypeVar("T")

# Asked between units of model work (decoding steps, prefill chunks, batches, rounds):
# True when the caller no longer needs the rest (the hole was solved meanwhile).
StopCheck = Callable[[], bool]

# Prompt tokens per forward pass of the in-process backends: a stop is honoured between
# chunks (a 1,100-token prompt in one pass held a stopped generation for seconds on a
# busy CPU), at a negligible cost in speed.
PREFILL_STEP = 128


class BackendUnavailable(UserError):
    """A backend whose package is not installed (the message names the package)."""


def require(module: str, package: str, hint: str = "") -> Any:
    """Import `module` or raise a one-line BackendUnavailable naming the pip package."""
    try:
        return importlib.import_module(module)
    except ImportError:
        extra = f" ({hint})" if hint else ""
        raise BackendUnavailable(f"this needs the Python package '{package}', which is not installed: "
                                 f"pip install {package}{extra}") from None


# ---------------------------------------------------------------- data types
@dataclass(frozen=True, slots=True)
class Message:
    role: str  # "system", "user" or "assistant"
    content: str


@dataclass(frozen=True, slots=True)
class Prompt:
    """A chat-shaped prompt, rendered by each backend its own way (chat template or plain).

    `mode` says what a completion is: "term" (exactly one term, as constrained
    decoding produces) or "list" (free text listing several terms, unconstrained).
    """

    messages: tuple[Message, ...]
    mode: str = "term"
    hole_id: str = ""
    spec_name: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"mode": self.mode, "hole_id": self.hole_id, "spec": self.spec_name,
                "messages": [{"role": m.role, "content": m.content} for m in self.messages]}

    def chat(self) -> list[dict[str, str]]:
        return [{"role": m.role, "content": m.content} for m in self.messages]

    def plain_text(self) -> str:
        """For models without a chat template: the turns as labelled paragraphs."""
        labels = {"system": "", "user": "Question:\n", "assistant": "Answer: "}
        parts = [labels.get(m.role, m.role + ": ") + m.content for m in self.messages]
        return "\n\n".join(parts) + "\n\nAnswer: "

    def sha256(self) -> str:
        return hashlib.sha256(json.dumps(self.to_json(), sort_keys=True).encode()).hexdigest()


# Field lists of plain settings records (also BackendStats below, sygus.common.SolveOptions): same shape, different data.
@dataclass(frozen=True, slots=True)
class SampleSettings:
    n: int = 10
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0
    max_tokens: int = 96
    # Constrained decoding: a row ends once its term has more nodes than this (it could
    # only fail the style profile's max_ast_nodes); None: no such bound.
    max_nodes: int | None = None

    def __post_init__(self) -> None:
        if self.n < 0:
            raise UserError(f"--samples must be >= 0, got {self.n}")
        if self.temperature < 0:
            raise UserError(f"--temp must be >= 0, got {self.temperature}")
        if not 0 < self.top_p <= 1:
            raise UserError(f"--top-p must be in (0, 1], got {self.top_p}")
        if self.max_tokens < 1:
            raise UserError(f"--max-tokens must be >= 1, got {self.max_tokens}")

    def seed_for(self, index: int) -> int:
        """Per-sample seed derived from (seed, index) only: sample i is the same whatever n is."""
        digest = hashlib.sha256(f"esso-ngs/sample/{self.seed}/{index}".encode()).digest()
        return int.from_bytes(digest[:4], "little")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class Sample:
    """One completion. `hit_token_limit` samples are incomplete and never become candidates."""

    text: str
    # Log-probability of the tokens: under the grammar mask when decoding was constrained
    # (the distribution drawn from: decode.py), else the model's own.
    logprob: float | None = None
    tokens: int = 0
    hit_token_limit: bool = False
    finish: str = "eos"  # eos | stopped (grammar complete) | length | size (past max_nodes) | error | replay
    mask_time_s: float = 0.0  # grammar mask + consume time for this sample
    gen_time_s: float = 0.0
    seed: int | None = None
    error: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Sample":
        known = {k: data[k] for k in cls.__dataclass_fields__ if k in data}
        return cls(**known)


@dataclass(slots=True)
class BackendStats:
    """Timings of the last `sample` call, for reports and the benchmark."""

    load_s: float = 0.0
    prompt_tokens: int = 0
    prefill_s: float = 0.0
    gen_tokens: int = 0
    gen_s: float = 0.0
    mask_time_s: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)

    def record_decoding(self, samples: list[Sample], started: float) -> None:
        """Decoding time, tokens and mask time of the samples one `sample` call produced."""
        self.gen_s = time.perf_counter() - started
        self.gen_tokens = sum(s.tokens for s in samples)
        self.mask_time_s = sum(s.mask_time_s for s in samples)


@runtime_checkable
class Backend(Protocol):
    name: str  # registry name: "mlx", "transformers", "openai", "replay" (auto makes one of the first two)
    model_id: str  # human name of the model, used as the hints' `source`
    supports_constraints: bool  # whether constraint_text is enforced while decoding
    stats: BackendStats

    def model_hash(self) -> str:
        """Identity of the model for the cache, computed without loading it."""
        ...

    def sample(self, prompt: Prompt, settings: SampleSettings,
               constraint_text: str | None) -> list[Sample]:
        """`settings.n` completions; sample i uses seed `settings.seed_for(i)`.

        Local backends (`streams_samples = True`) also take `on_event`, a
        neural.progress callback: load, prefill, and each sample as it finishes;
        and `should_stop` (a StopCheck): asked between prefill chunks, batches and
        decoding steps, after which only the samples finished so far come back.
        """
        ...


class PrefillStopped(Exception):
    """Raised between prefill chunks when the caller asked to stop: no partial prompt
    cache is kept (nor saved to disk), and `sample` returns no samples."""


def _never() -> bool:
    return False


class InProcessBackend:
    """What the in-process backends (mlx, transformers) share: one sampling call at
    a time per backend object, so a background thread (the anytime search's
    generator) and the main thread can use one backend safely; and the load
    announced as progress events. Subclasses set `_lock` and define `_sample`."""

    name: str
    model_id: str
    streams_samples = True  # calls on_event per sample as each finishes
    _lock: threading.Lock

    def sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None,
               on_event: Any = None, should_stop: StopCheck | None = None) -> list[Sample]:
        stop = should_stop or _never
        with self._lock:
            if stop():  # asked while another call held the backend
                return []
            try:
                return self._sample(prompt, settings, constraint_text, on_event, stop)
            except PrefillStopped:
                return []

    def _sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None,
                on_event: Any, should_stop: StopCheck) -> list[Sample]:
        raise NotImplementedError

    def _announce_load(self, on_event: Any, fresh: bool, load: Callable[[], T]) -> T:
        """`load()`, between `load_start` and `load` events when it really loads (`fresh`)."""
        from .progress import emit
        label = getattr(self, "choice_label", self.name)
        if fresh:
            emit(on_event, "load_start", model=self.model_id, backend=label)
        t0 = time.perf_counter()
        value = load()
        if fresh:
            emit(on_event, "load", model=self.model_id, backend=label, seconds=time.perf_counter() - t0)
        return value


# ---------------------------------------------------------------- registry
BACKENDS: dict[str, str] = {
    "auto": "esso_ngs.neural.auto:make_auto_backend",  # the fastest local one here (auto.py)
    "mlx": "esso_ngs.neural.mlx_backend:MLXBackend",
    "transformers": "esso_ngs.neural.transformers_backend:TransformersBackend",
    "openai": "esso_ngs.neural.openai_backend:OpenAIBackend",
    "replay": "esso_ngs.neural.replay_backend:ReplayBackend",
}


def make_backend(name: str, model: str, **options: Any) -> Backend:
    """Instantiate backend `name` for `model` (a path, alias, server model or hints file).

    Construction is cheap: local backends load the model on the first `sample`
    call, so a fully cached run never loads it.
    """
    if name not in BACKENDS:
        raise UserError(f"unknown backend {name!r} (choose from {', '.join(sorted(BACKENDS))})")
    module_name, cls_name = BACKENDS[name].split(":")
    cls = getattr(importlib.import_module(module_name), cls_name)
    return cls(model, **options)
