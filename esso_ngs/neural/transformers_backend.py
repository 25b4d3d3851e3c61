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
import os
import threading
import time
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import UserError
from .token_mask import TokenConstraint
from .backend import BackendStats, Prompt, Sample, SampleSettings, require
from .chat import encode_prompt
from .decode import decode_batch
from .models import LocalModel, model_dir_hash, offline, resolve_model

_MODELS: dict[tuple[Path, str], tuple[Any, Any, float]] = {}
_LOAD_LOCK = threading.Lock()


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
            # Many threads on a small, busy CPU make torch collapse; one is the safe default.
            torch.set_num_threads(int(os.environ.get("ESSO_NGS_TORCH_THREADS", "1")))
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


def _cache_kwarg(model: Any) -> str:
    """transformers 5.2x renamed the forward's `past_key_values` to `cache`; accept both."""
    import inspect
    return "cache" if "cache" in inspect.signature(model.forward).parameters else "past_key_values"


def _out_cache(out: Any) -> Any:
    cache = getattr(out, "cache", None)
    return cache if cache is not None else out.past_key_values


def _eos_ids(model: Any, tok: Any) -> set[int]:
    ids: set[int] = set()
    for source in (getattr(model, "generation_config", None), model.config, tok):
        value = getattr(source, "eos_token_id", None)
        if isinstance(value, int):
            ids.add(value)
        elif isinstance(value, (list, tuple)):
            ids.update(int(v) for v in value)
    return ids


class TransformersBackend:
    name = "transformers"
    supports_constraints = True

    def __init__(self, model: str, device: str = "cpu", batch_size: int = 16) -> None:
        self.local: LocalModel = resolve_model(model)
        self.model_id = self.local.model_id
        self.device_request = device
        self.batch_size = max(1, batch_size)
        self.stats = BackendStats()
        self._hash: str | None = None

    def model_hash(self) -> str:
        if self._hash is None:
            self._hash = model_dir_hash(self.local.path)
        return self._hash

    def load(self) -> tuple[Any, Any, str]:
        torch = require("torch", "torch==2.13.0", "pin the version: an unpinned torch pulls CUDA")
        device = _pick_device(torch, self.device_request)
        model, tok, load_s = load_transformers_model(self.local.path, device)
        self.stats.load_s = load_s
        return model, tok, device

    def sample(self, prompt: Prompt, settings: SampleSettings,
               constraint_text: str | None) -> list[Sample]:
        import torch

        model, tok, device = self.load()
        ids = encode_prompt(prompt, tok)
        stats = self.stats
        stats.prompt_tokens = len(ids)
        t0 = time.perf_counter()
        with torch.no_grad():
            out = model(torch.tensor([ids[:-1]], device=device), use_cache=True)
        base = _out_cache(out)
        stats.prefill_s = time.perf_counter() - t0
        vocab = int(model.config.vocab_size)
        eos = _eos_ids(model, tok)
        samples: list[Sample] = []
        t0 = time.perf_counter()
        for first in range(0, settings.n, self.batch_size):
            rows = list(range(first, min(settings.n, first + self.batch_size)))
            cache = copy.deepcopy(base)
            if len(rows) > 1:
                cache.batch_repeat_interleave(len(rows))
            constraints = ([TokenConstraint(constraint_text, tok, vocab, eos) for _ in rows]
                           if constraint_text is not None else None)
            samples.extend(decode_batch(_TorchStepper(model, cache, device), ids[-1],
                                        [settings.seed_for(i) for i in rows], settings, constraints, eos,
                                        lambda toks: tok.decode(toks, skip_special_tokens=True)))
        stats.gen_s = time.perf_counter() - t0
        stats.gen_tokens = sum(s.tokens for s in samples)
        stats.mask_time_s = sum(s.mask_time_s for s in samples)
        return samples


class _TorchStepper:
    def __init__(self, model: Any, cache: Any, device: str) -> None:
        self.model = model
        self.cache = cache
        self.device = device
        self.cache_kw = _cache_kwarg(model)

    def forward(self, tokens: Sequence[int]) -> Callable[[], np.ndarray]:
        import torch
        y = torch.tensor([[t] for t in tokens], device=self.device)
        with torch.no_grad():
            out = self.model(y, use_cache=True, **{self.cache_kw: self.cache})
        self.cache = _out_cache(out)
        logits = out.logits[:, -1, :].float().cpu().numpy()
        return lambda: logits

    def keep(self, positions: Sequence[int]) -> None:
        import torch
        self.cache.batch_select_indices(torch.tensor(list(positions), device=self.device))
