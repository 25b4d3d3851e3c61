"""The primary backend: an in-process model through mlx_lm, with the grammar mask applied per token.

Works with `pip install "mlx[cpu]"` on Linux and plain `mlx` on Apple Silicon.

Where the time goes, and what we do about it:
- loading: once per process, cached by path (`load_mlx_model`);
- the prompt: prefilled once per call, and its KV cache kept in an LRU keyed by
  token prefix, so the next hole (same system prompt and examples, often the
  same kernel context) prefills only what differs;
- decoding: the N samples of one prompt run as one batch (all rows have the same
  length, so a plain KVCache with a batch dimension serves them): on a CPU a
  one-row step is a matrix-vector product bound by memory bandwidth, and ten rows
  cost little more than one. Finished rows are dropped from the batch.

The decoding loop (decode.py, shared with the transformers backend) is ours
rather than `mlx_lm.generate_step`: generate_step evaluates step t+1 before
yielding token t, which with a mask that must consume token t first forces a sync
anyway and wastes a forward pass per sample, and it decodes one sequence.
"""
from __future__ import annotations

import copy
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from ..errors import UserError
from .token_mask import TokenConstraint, hf_tokenizer_of
from .backend import (PREFILL_STEP, BackendStats, InProcessBackend, PrefillStopped, Prompt, Sample,
                      SampleSettings, StopCheck, require)
from .chat import encode_prompt, static_prefix_len
from .decode import decode_batch, fastest_step_s, sample_events
from .models import LocalModel, model_dir_hash, offline
from .prepare import resolve_or_prepare
from .prefix import PrefixStore, cached_prefix, prefix_cache_enabled, runtime_label
from .progress import Progress, emit

_MODELS: dict[Path, tuple[Any, Any, float]] = {}  # path -> (model, tokenizer wrapper, load seconds)
_LOAD_LOCK = threading.Lock()
_SHARED_OK: dict[int, bool] = {}  # id(model) -> False once it could not decode over a shared prompt cache
T = TypeVar("T")


def import_mlx_lm() -> Any:
    """mlx_lm (and mlx), or a one-line BackendUnavailable naming the package to install."""
    require("mlx.core", "mlx", 'on Linux: pip install "mlx[cpu]"')
    return require("mlx_lm", "mlx-lm")


def load_mlx_model(path: Path) -> tuple[Any, Any, float]:
    """(model, tokenizer, load seconds), loaded once per process per path."""
    with _LOAD_LOCK:
        if path not in _MODELS:
            offline()
            mlx_lm = import_mlx_lm()
            t0 = time.perf_counter()
            try:
                model, tokenizer = mlx_lm.load(str(path))
            except Exception as exc:  # mlx_lm raises ValueError/FileNotFoundError/KeyError...
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise UserError(f"model {path}: mlx_lm could not load it: {first}") from None
            _MODELS[path] = (model, tokenizer, time.perf_counter() - t0)
        return _MODELS[path]


def _vocab_size(model: Any) -> int | None:
    size = getattr(getattr(model, "args", None), "vocab_size", None)
    return int(size) if size else None


def _batchable(cache: list[Any]) -> bool:
    """Plain KV caches can be widened to a batch; rotating/recurrent ones we leave alone."""
    from mlx_lm.models.cache import KVCache
    return all(type(c) is KVCache for c in cache)


def _widen(cache: list[Any], rows: int) -> list[Any]:
    """A fresh cache holding `rows` copies of a one-row prompt cache."""
    import mlx.core as mx
    from mlx_lm.models.cache import KVCache
    out = []
    for c in cache:
        new = KVCache()
        if c.offset:
            k, v = c.keys_and_values()
            new.state = (mx.repeat(k, rows, axis=0), mx.repeat(v, rows, axis=0), c.offset)
        out.append(new)
    return out


def _keep_rows(cache: list[Any], rows: list[int]) -> None:
    import mlx.core as mx
    idx = mx.array(rows)
    for c in cache:
        if hasattr(c, "prompt_keys"):  # shared_prompt_mlx.SharedPromptKV
            c.keep(idx)
            continue
        k, v = c.keys_and_values()
        c.state = (mx.take(k, idx, axis=0), mx.take(v, idx, axis=0), c.offset)


class MLXBackend(InProcessBackend):
    name = "mlx"
    supports_constraints = True

    def __init__(self, model: str, batch_size: int = 16, prefill_step: int = PREFILL_STEP,
                 prompt_cache_entries: int = 4, prefix_cache: bool = True) -> None:
        self.local: LocalModel = resolve_or_prepare(model)
        self.model_id = self.local.model_id
        self.batch_size = max(1, batch_size)
        self.prefill_step = prefill_step
        self.prompt_cache_entries = prompt_cache_entries
        self.prefix_store = PrefixStore() if prefix_cache and prefix_cache_enabled() else None
        self.stats = BackendStats()
        self._hash: str | None = None
        self._prompt_cache: Any = None
        self._lock = threading.Lock()  # one sampling call at a time per backend (thread-safe use)

    def model_hash(self) -> str:
        if self._hash is None:
            self._hash = model_dir_hash(self.local.path)
        return self._hash

    def load(self, on_event: Progress | None = None) -> tuple[Any, Any]:
        model, tokenizer, load_s = self._announce_load(on_event, self.local.path not in _MODELS,
                                                       lambda: load_mlx_model(self.local.path))
        self.stats.load_s = load_s
        return model, tokenizer

    # ------------------------------------------------------------------ prefill
    def _run(self, model: Any, cache: list[Any], ids: Sequence[int], stop: StopCheck | None = None) -> None:
        """Prefill `ids` chunk by chunk; `stop` is asked before each chunk (PrefillStopped)."""
        import mlx.core as mx
        for start in range(0, len(ids), self.prefill_step):
            if stop is not None and stop():
                raise PrefillStopped
            chunk = mx.array(list(ids[start: start + self.prefill_step]), dtype=mx.uint32)
            model(chunk[None], cache=cache)
            mx.eval([c.state for c in cache])

    def _head(self, model: Any, head: list[int], stop: StopCheck | None = None) -> tuple[list[Any], bool]:
        """The KV cache after the static head: from disk, or prefilled and saved (a
        prefill stopped half-way raises PrefillStopped before anything is saved)."""
        from mlx_lm.models.cache import load_prompt_cache, make_prompt_cache, save_prompt_cache

        def compute() -> list[Any]:
            cache = make_prompt_cache(model)
            self._run(model, cache, head, stop)
            return cache

        if not head:
            return compute(), False
        path = (self.prefix_store.path(runtime_label("mlx"), self.model_hash(), head, ".safetensors")
                if self.prefix_store is not None else None)
        return cached_prefix(self.prefix_store, path, lambda p: load_prompt_cache(str(p)), compute,
                             lambda p, cache: save_prompt_cache(str(p), cache))

    def _prefill(self, model: Any, ids: list[int], head_len: int, stop: StopCheck | None = None) -> list[Any]:
        """The KV cache after `ids`: the longest prefix cached in this process, else
        the static head (`ids[:head_len]`) from disk, then the rest."""
        from mlx_lm.models.cache import LRUPromptCache

        if self._prompt_cache is None:
            self._prompt_cache = LRUPromptCache(max_size=self.prompt_cache_entries)
        cache, rest = self._prompt_cache.fetch_nearest_cache(self.local.path, ids)
        reused, from_disk = len(ids) - len(rest), False
        if cache is None or reused < head_len:
            cache, from_disk = self._head(model, ids[:head_len], stop)
            rest = ids[head_len:]
            reused = head_len if from_disk else 0
        self.stats.extra.update(prefill_reused_tokens=reused, prefix_from_disk=from_disk)
        self._run(model, cache, rest, stop)  # stopped: nothing half-filled goes into the LRU
        self._prompt_cache.insert_cache(self.local.path, list(ids), copy.deepcopy(cache))
        return cache

    # ------------------------------------------------------------------ sampling
    def _sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None,
                on_event: Progress | None, should_stop: StopCheck) -> list[Sample]:
        if self.local.path not in _MODELS:
            import_mlx_lm()  # the import takes a while: asked again after it
            if should_stop():
                raise PrefillStopped
        model, tokenizer = self.load(on_event)
        hf = hf_tokenizer_of(tokenizer)
        ids = encode_prompt(prompt, hf)
        stats = self.stats
        stats.extra = {}
        stats.prompt_tokens = len(ids)

        # Prefill all but the last prompt token; decoding starts by feeding it.
        emit(on_event, "prefill_start", prompt.hole_id, prompt_tokens=len(ids))
        t0 = time.perf_counter()
        base = self._prefill(model, ids[:-1], static_prefix_len(prompt, hf, ids), should_stop)
        stats.prefill_s = time.perf_counter() - t0
        emit(on_event, "prefill", prompt.hole_id, prompt_tokens=len(ids),
             reused_tokens=stats.extra.get("prefill_reused_tokens", 0), seconds=stats.prefill_s)

        eos = set(int(i) for i in (getattr(tokenizer, "eos_token_ids", ()) or ()))
        batch = self.batch_size if _batchable(base) else 1
        out: list[Sample] = []
        t0 = time.perf_counter()
        for first in range(0, settings.n, batch):
            if should_stop():
                break
            rows = list(range(first, min(settings.n, first + batch)))

            def decode(stepper: Any) -> list[Sample]:
                constraints = (TokenConstraint(constraint_text, tokenizer, _vocab_size(model)).copies(len(rows))
                               if constraint_text is not None else None)
                return decode_batch(stepper, ids[-1], [settings.seed_for(i) for i in rows], settings,
                                    constraints, eos, lambda toks: hf.decode(toks, skip_special_tokens=True),
                                    sample_events(on_event, prompt.hole_id, first), should_stop)

            out.extend(self._decode_rows(model, base, len(rows), decode))
        stats.extra["shared_prompt_kv"] = _SHARED_OK.get(id(model), True) and batch > 1
        stats.record_decoding(out, t0)
        return out

    def _decode_rows(self, model: Any, base: list[Any], rows: int, decode: Callable[[Any], T]) -> T:
        """`decode(stepper)` over `rows` rows continuing the one-row prompt cache `base`:
        with the prompt's KV shared by the rows where the model allows it
        (shared_prompt_mlx.py), else widened to a copy per row. A decode is
        deterministic given its seeds, so a batch that finds sharing unsupported is redone."""
        if rows > 1 and _SHARED_OK.get(id(model), True):
            from . import shared_prompt_mlx as shared
            try:
                shared.install(model)
                caches = shared.shared_caches(base)
                stepper = _MLXStepper(model, caches)
                result = decode(stepper)
                if stepper.steps and any(c.calls == 0 for c in caches):  # (a decode stopped at once made no step)
                    raise shared.SharedPromptUnsupported("attention did not read the shared cache")
                return result
            except shared.SharedPromptUnsupported:
                _SHARED_OK[id(model)] = False
        return decode(_MLXStepper(model, _widen(base, rows) if rows > 1 else copy.deepcopy(base)))

    def speed_probe(self, prompt_tokens: int = 128, rows: int = 8, steps: int = 8) -> dict[str, float]:
        """Prompt tokens/s and seconds per batched decoding step on this machine (for `--backend auto`)."""
        import mlx.core as mx
        from mlx_lm.models.cache import make_prompt_cache
        model, _ = self.load()
        ids = [(7 * i) % 500 + 10 for i in range(prompt_tokens)]
        cache = make_prompt_cache(model)
        t0 = time.perf_counter()
        self._run(model, cache, ids)
        prefill_s = time.perf_counter() - t0
        step_s = self._decode_rows(model, cache, rows, lambda stepper: fastest_step_s(stepper, rows, steps))
        del mx
        return {"load_s": self.stats.load_s, "prompt_tok_s": prompt_tokens / prefill_s, "step_s": step_s}


_HEADS: dict[int, tuple[tuple[Any, Any] | None, int]] = {}  # id(model) -> (split_head, logits width)


def _check_split(model: Any) -> tuple[tuple[Any, Any] | None, int]:
    import mlx.core as mx
    x = mx.arange(1, 9)[None]
    whole = model(x)[0, -1].astype(mx.float32)
    width = int(whole.shape[-1])
    body = getattr(model, "model", None)
    tied = getattr(getattr(model, "args", None), "tie_word_embeddings", False) or not hasattr(model, "lm_head")
    owner = getattr(body, "embed_tokens", None) if tied else model.lm_head
    if body is None or owner is None or hasattr(owner, "scales"):  # quantized rows: the model's own head
        return None, width
    weight = owner.weight
    try:
        part = (body(x, cache=None)[0, -1] @ weight.T).astype(mx.float32)
        same = part.shape == whole.shape and bool(mx.allclose(whole, part, atol=1e-4, rtol=1e-4))
    except Exception:  # a decoder called otherwise
        return None, width
    return ((body, weight) if same else None), width


def split_head(model: Any) -> tuple[tuple[Any, Any] | None, int]:
    """((the decoder, the output head's weight), the number of logits) of a model
    whose logits are exactly that weight applied to its decoder's output, checked
    once per model on a few tokens; (None, width) for a quantized head or a model
    that does more (scales or caps its logits), which then runs whole. Split, a
    step computes the head for the tokens asked for only (decode.py)."""
    if id(model) not in _HEADS:
        _HEADS[id(model)] = _check_split(model)
    return _HEADS[id(model)]


class _MLXStepper:
    """One forward step over the live rows of a batched KV cache."""

    def __init__(self, model: Any, cache: list[Any]) -> None:
        self.model = model
        self.cache = cache
        self.steps = 0
        self.split, self.vocab = split_head(model)

    def forward(self, tokens: Sequence[Sequence[int]], columns: np.ndarray | None) -> Callable[[], np.ndarray]:
        import mlx.core as mx
        self.steps += 1
        y = mx.array([list(t) for t in tokens], dtype=mx.uint32)
        if self.split is None:
            logits = self.model(y, cache=self.cache)[:, -1]
            if columns is not None:
                logits = logits[:, mx.array(columns)]
        else:
            body, weight = self.split
            hidden = body(y, cache=self.cache)[:, -1]
            logits = hidden @ (weight if columns is None else weight[mx.array(columns)]).T
        logits = logits.astype(mx.float32)
        mx.async_eval(logits)
        return lambda: np.asarray(logits)

    def keep(self, positions: Sequence[int]) -> None:
        _keep_rows(self.cache, list(positions))
