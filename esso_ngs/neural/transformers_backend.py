"""Backend over Hugging Face transformers + torch (CPU, CUDA or MPS), with the same grammar mask.

torch is imported only when this backend is used. Pin it (`torch==2.13.0`): an
unpinned `pip install torch` on Linux pulls the multi-GB CUDA build.

Same decoding as the mlx backend (decode.py): the prompt is prefilled once, its
cache repeated across a batch of samples, finished rows dropped, each row
sampled in numpy with its own seeded generator; with the same weights the two
backends give the same samples up to floating-point noise.
"""
from __future__ import annotations

import copy
import functools
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence, TypeVar

import numpy as np

from ..cpu import model_threads
from ..errors import UserError
from ..extras import require_extra
from .token_mask import TokenConstraint
from .backend import (PREFILL_STEP, BackendStats, InProcessBackend, PrefillStopped, Prompt, Sample,
                      SampleSettings, StopCheck, require)
from .chat import encode_prompt, static_prefix_len
from .decode import decode_batch, fastest_step_s, sample_events
from .models import LocalModel, model_dir_hash, offline
from .prepare import resolve_or_prepare
from .prefix import PrefixStore, cached_prefix, prefix_cache_enabled, runtime_label
from .progress import Progress, emit

_MODELS: dict[tuple[Path, str], tuple[Any, Any, float]] = {}
_LOAD_LOCK = threading.Lock()
_SHARED_OK: dict[int, bool] = {}  # id(model) -> False once its attention could not share the prompt's KV
T = TypeVar("T")


def _pick_device(torch: Any, device: str) -> str:
    if device != "auto":
        return device
    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    return "mps" if mps is not None and mps.is_available() else "cpu"


def load_transformers_model(path: Path, device: str) -> tuple[Any, Any, float]:
    with _LOAD_LOCK:
        if (path, device) not in _MODELS:
            offline()
            torch = require("torch", "torch==2.13.0", "pin the version: an unpinned torch pulls CUDA")
            transformers = require("transformers", "transformers")
            transformers.utils.logging.disable_progress_bar()
            t0 = time.perf_counter()
            try:
                tok = transformers.AutoTokenizer.from_pretrained(str(path), local_files_only=True)
                dtype = torch.float32 if device == "cpu" else torch.float16
                model = transformers.AutoModelForCausalLM.from_pretrained(
                    str(path), local_files_only=True, dtype=dtype).to(device)
            except Exception as exc:
                first = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
                raise UserError(f"model {path}: transformers could not load it: {first}") from None
            model.eval()
            _MODELS[(path, device)] = (model, tok, time.perf_counter() - t0)
        return _MODELS[(path, device)]


@functools.lru_cache(maxsize=None)
def _parameter_names(forward: Callable[..., Any]) -> frozenset[str]:
    import inspect
    return frozenset(inspect.signature(forward).parameters)


def _parameters(model: Any) -> frozenset[str]:
    """The names `model.forward` takes, read once per forward function (every decoding
    step asks: `inspect.signature` would cost each step tens of microseconds)."""
    forward = model.forward
    return _parameter_names(getattr(forward, "__func__", forward))


def _cache_kwarg(model: Any) -> str:
    """transformers 5.2x renamed the forward's `past_key_values` to `cache`; accept both."""
    return "cache" if "cache" in _parameters(model) else "past_key_values"


def _out_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


_SPLIT: dict[int, tuple[Any, Any] | None] = {}  # id(model) -> (decoder, output head), or None: run it whole
_NO_COLUMNS = np.zeros(0, dtype=np.int64)


def _check_split(model: Any) -> tuple[Any, Any] | None:
    import torch
    body, head = model.base_model, model.get_output_embeddings()
    if body is model or not isinstance(head, torch.nn.Linear):
        return None
    x = torch.arange(1, 9, device=model.device)[None]
    try:
        with torch.no_grad():
            whole = model(x).logits[0, -1].float()
            part = head(body(x).last_hidden_state[:, -1])[0].float()
    except Exception:  # a decoder that does not take input ids alone
        return None
    return (body, head) if torch.allclose(whole, part, atol=1e-4, rtol=1e-4) else None


def split_head(model: Any) -> tuple[Any, Any] | None:
    """(the decoder, the output head) of a model whose logits are exactly its head
    applied to its decoder's output, checked once per model on a few tokens; None
    for a model that does more (scales or caps its logits), which then runs whole.
    Split, a step computes the head for the tokens asked for only (decode.py)."""
    if id(model) not in _SPLIT:
        _SPLIT[id(model)] = _check_split(model)
    return _SPLIT[id(model)]


def model_step(model: Any, tokens: Any, cache: Any, columns: np.ndarray | None,
               **kwargs: Any) -> tuple[Any, np.ndarray]:
    """One forward pass of `tokens` ([rows, k]) after `cache` (None: from scratch):
    (the cache after it, the [rows, len(columns)] logits of the last position for
    the token ids `columns`, or for the whole vocabulary when None)."""
    import torch
    split = split_head(model)
    with torch.no_grad():
        if split is None:
            runner = model
            if "logits_to_keep" in _parameters(model):  # only the last position's are used
                kwargs["logits_to_keep"] = 1
        else:
            runner, head = split
        if cache is not None:
            kwargs[_cache_kwarg(runner)] = cache
        out = runner(tokens, use_cache=True, **kwargs)
        if split is None:
            logits = out.logits[:, -1]
            if columns is not None:
                logits = logits[:, torch.from_numpy(columns).to(logits.device)]
        else:
            hidden = out.last_hidden_state[:, -1]
            if columns is None:
                logits = head(hidden)
            else:
                ids = torch.from_numpy(columns).to(hidden.device)
                logits = torch.nn.functional.linear(hidden, head.weight[ids],
                                                    None if head.bias is None else head.bias[ids])
    return _out_cache(out), logits.float().cpu().numpy()


def logits_width(model: Any) -> int:
    head = model.get_output_embeddings()
    return int(head.weight.shape[0]) if head is not None else int(model.config.vocab_size)


def _eos_ids(model: Any, tok: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tok):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids


class TransformersBackend(InProcessBackend):
    name = "transformers"
    supports_constraints = True

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 16, prefix_cache: bool = True,
                 prefill_step: int = PREFILL_STEP) -> None:
        require_extra("torch", "--backend transformers")  # before anything else: the first thing to fix
        self.local: LocalModel = resolve_or_prepare(model)
        self.model_id = self.local.model_id
        self.device_request = device
        self.batch_size = max(1, batch_size)
        self.prefill_step = max(1, prefill_step)
        self.prefix_store = PrefixStore() if prefix_cache and prefix_cache_enabled() else None
        self.stats = BackendStats()
        self._hash: str | None = None
        self._heads: dict[tuple[int, ...], Any] = {}  # static head ids -> its DynamicCache (this process)
        self._lock = threading.Lock()  # one sampling call at a time per backend (thread-safe use)

    def model_hash(self) -> str:
        if self._hash is None:
            self._hash = model_dir_hash(self.local.path)
        return self._hash

    def load(self, on_event: Progress | None = None) -> tuple[Any, Any, str]:
        torch = require("torch", "torch==2.13.0", "pin the version: an unpinned torch pulls CUDA")
        device = _pick_device(torch, self.device_request)
        model, tok, load_s = self._announce_load(on_event, (self.local.path, device) not in _MODELS,
                                                 lambda: load_transformers_model(self.local.path, device))
        self.stats.load_s = load_s
        return model, tok, device

    def _forward(self, model: Any, ids: Sequence[int], cache: Any, device: str) -> Any:
        """The cache after feeding `ids` (no logits: a prefill needs none)."""
        import torch
        cache, _ = model_step(model, torch.tensor([list(ids)], device=device), cache, _NO_COLUMNS)
        return cache

    def _prefill_chunks(self, model: Any, ids: Sequence[int], cache: Any, device: str,
                        stop: StopCheck | None) -> Any:
        """The cache after feeding `ids` to `cache` (None: from scratch) chunk by chunk;
        `stop` is asked before each chunk (PrefillStopped)."""
        for start in range(0, len(ids), self.prefill_step):
            if stop is not None and stop():
                raise PrefillStopped
            cache = self._forward(model, ids[start: start + self.prefill_step], cache, device)
        return cache

    def _head(self, model: Any, head: list[int], device: str, stop: StopCheck | None = None) -> tuple[Any, bool]:
        """The DynamicCache after the static head: this process's, from disk, or prefilled and saved."""
        import torch
        from transformers import DynamicCache

        key = tuple(head)
        if key in self._heads:
            return self._heads[key], False

        def read(p: Path) -> Any:
            layers = torch.load(p, map_location=device, weights_only=True)
            return DynamicCache(ddp_cache_data=[(k, v) for k, v in layers], config=model.config)

        def write(p: Path, cache: Any) -> None:
            torch.save([(layer.keys, layer.values) for layer in cache.layers], p)

        path = (self.prefix_store.path(runtime_label("torch", device, str(model.dtype)), self.model_hash(),
                                       head, ".pt")
                if self.prefix_store is not None else None)
        cache, from_disk = cached_prefix(self.prefix_store, path, read,
                                         lambda: self._prefill_chunks(model, head, None, device, stop), write)
        self._heads = {key: cache}  # one head per process is the common case; keep memory flat
        return cache, from_disk

    def _prefill(self, model: Any, ids: list[int], head_len: int, device: str,
                 stop: StopCheck | None = None) -> Any:
        """The cache after `ids`: the static head (`ids[:head_len]`) reused, then the rest."""
        if head_len == 0:
            self.stats.extra.update(prefill_reused_tokens=0, prefix_from_disk=False)
            return self._prefill_chunks(model, ids, None, device, stop)
        known = tuple(ids[:head_len]) in self._heads
        head, from_disk = self._head(model, ids[:head_len], device, stop)
        self.stats.extra.update(prefill_reused_tokens=head_len if known or from_disk else 0,
                                prefix_from_disk=from_disk)
        cache = copy.deepcopy(head)
        rest = ids[head_len:]
        return self._prefill_chunks(model, rest, cache, device, stop) if rest else cache

    def _sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None,
                on_event: Progress | None, should_stop: StopCheck) -> list[Sample]:
        if (self.local.path, self.device_request) not in _MODELS:
            # Importing torch and transformers takes seconds on a busy CPU: asked again after it.
            require("transformers", "transformers")
            if should_stop():
                raise PrefillStopped
        model, tok, device = self.load(on_event)
        ids = encode_prompt(prompt, tok)
        stats = self.stats
        stats.extra = {}
        stats.prompt_tokens = len(ids)
        if device == "cpu":  # as many as there are idle cores now (cpu.py)
            import torch
            torch.set_num_threads(model_threads())
            stats.extra["threads"] = torch.get_num_threads()
        emit(on_event, "prefill_start", prompt.hole_id, prompt_tokens=len(ids))
        t0 = time.perf_counter()
        base = self._prefill(model, ids[:-1], static_prefix_len(prompt, tok, ids), device, should_stop)
        stats.prefill_s = time.perf_counter() - t0
        emit(on_event, "prefill", prompt.hole_id, prompt_tokens=len(ids),
             reused_tokens=stats.extra.get("prefill_reused_tokens", 0), seconds=stats.prefill_s)
        vocab = int(model.config.vocab_size)
        eos = _eos_ids(model, tok)
        samples: list[Sample] = []
        t0 = time.perf_counter()
        for first in range(0, settings.n, self.batch_size):
            if should_stop():
                break
            rows = list(range(first, min(settings.n, first + self.batch_size)))

            def decode(stepper: Any) -> list[Sample]:
                constraints = (TokenConstraint(constraint_text, tok, vocab, eos).copies(len(rows))
                               if constraint_text is not None else None)
                return decode_batch(stepper, ids[-1], [settings.seed_for(i) for i in rows], settings,
                                    constraints, eos, lambda toks: tok.decode(toks, skip_special_tokens=True),
                                    sample_events(on_event, prompt.hole_id, first), should_stop)

            samples.extend(self._decode_rows(model, base, len(ids) - 1, len(rows), device, decode))
        stats.extra["shared_prompt_kv"] = _SHARED_OK.get(id(model), True) and min(settings.n, self.batch_size) > 1
        stats.record_decoding(samples, t0)
        return samples

    def _decode_rows(self, model: Any, base: Any, prompt_len: int, rows: int, device: str,
                     decode: Callable[[Any], T]) -> T:
        """`decode(stepper)` over `rows` rows continuing the prompt cache `base` (batch 1):
        with the prompt's KV shared by the rows where the model allows it (see
        shared_prompt_torch.py), else over a copy of it per row. A decode is deterministic
        given its seeds, so a batch that finds sharing unsupported is simply redone."""
        if rows > 1 and _SHARED_OK.get(id(model), True):
            from .shared_prompt_torch import SharedPromptUnsupported
            try:
                return decode(_SharedPromptStepper(model, base, prompt_len, device))
            except SharedPromptUnsupported:
                _SHARED_OK[id(model)] = False
        cache = copy.deepcopy(base)
        if rows > 1:
            cache.batch_repeat_interleave(rows)
        return decode(_TorchStepper(model, cache, device))

    def speed_probe(self, prompt_tokens: int = 128, rows: int = 8, steps: int = 8) -> dict[str, float]:
        """Prompt tokens/s and seconds per batched decoding step on this machine (for `--backend auto`)."""
        model, _, device = self.load()
        ids = [(7 * i) % 500 + 10 for i in range(prompt_tokens)]
        t0 = time.perf_counter()
        cache = self._forward(model, ids, None, device)
        prefill_s = time.perf_counter() - t0
        step_s = self._decode_rows(model, cache, len(ids), rows, device,
                                   lambda stepper: fastest_step_s(stepper, rows, steps))
        return {"load_s": self.stats.load_s, "prompt_tok_s": prompt_tokens / prefill_s, "step_s": step_s}


class _SharedPromptStepper:
    """Rows continuing one prompt whose KV cache is shared, not copied (shared_prompt_torch.py)."""

    def __init__(self, model: Any, prompt_cache: Any, prompt_len: int, device: str) -> None:
        from transformers import DynamicCache
        split_head(model)  # checked outside the shared-prompt attention
        self.model = model
        self.vocab = logits_width(model)
        self.prompt_cache = prompt_cache
        self.prompt_len = prompt_len
        self.generated = 0
        self.cache = DynamicCache(config=model.config)  # the rows' own tokens only
        self.device = device

    def forward(self, tokens: Sequence[Sequence[int]], columns: np.ndarray | None) -> Callable[[], np.ndarray]:
        import torch
        from . import shared_prompt_torch
        y = torch.tensor([list(t) for t in tokens], device=self.device)
        rows, k = y.shape
        position_ids = shared_prompt_torch.positions(self.prompt_len, self.generated, rows, k, self.device)
        with shared_prompt_torch.shared_prompt(self.model, self.prompt_cache):
            self.cache, logits = model_step(self.model, y, self.cache, columns, position_ids=position_ids)
            if shared_prompt_torch.calls() == 0:  # the model never asked the attention interface: its
                raise shared_prompt_torch.SharedPromptUnsupported("attention not dispatched")  # output is wrong
        self.generated += k
        return lambda: logits

    def keep(self, positions: Sequence[int]) -> None:
        import torch
        self.cache.batch_select_indices(torch.tensor(list(positions), device=self.device))


class _TorchStepper:
    def __init__(self, model: Any, cache: Any, device: str) -> None:
        self.model = model
        self.vocab = logits_width(model)
        self.cache = cache
        self.device = device

    def forward(self, tokens: Sequence[Sequence[int]], columns: np.ndarray | None) -> Callable[[], np.ndarray]:
        import torch
        y = torch.tensor([list(t) for t in tokens], device=self.device)
        self.cache, logits = model_step(self.model, y, self.cache, columns)
        return lambda: logits

    def keep(self, positions: Sequence[int]) -> None:
        import torch
        self.cache.batch_select_indices(torch.tensor(list(positions), device=self.device))
