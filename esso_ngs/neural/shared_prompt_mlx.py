"""MLX: batched decoding over one shared prompt without a copy of its KV cache per row.

The same idea as shared_prompt_torch.py (read its docstring for why): the prompt's
keys and values are kept once, each row's cache holds only its generated tokens,
and attention is computed against both parts and merged exactly.

mlx_lm's attention layers call `scaled_dot_product_attention(..., cache=cache)`,
a function each model module imports from `mlx_lm.models.base`. The model's own
module gets a wrapper that takes the two-part path for a `SharedPromptKV` cache
and calls the original for any other cache, so nothing else changes. A model
module without that function, or a layer that asks for something the merge does
not do (sliding windows, attention sinks, quantized caches), raises
`SharedPromptUnsupported` and the backend goes back to copies.
"""
from __future__ import annotations

import sys
from typing import Any, Callable, Sequence

import mlx.core as mx

_ORIGINAL = "_esso_original_sdpa"


class SharedPromptUnsupported(RuntimeError):
    """The model cannot decode over a shared prompt cache: widen it per row instead."""


class SharedPromptKV:
    """One layer's cache: the prompt's keys/values (batch 1) and the rows' own tokens."""

    def __init__(self, prompt_keys: mx.array, prompt_values: mx.array) -> None:
        self.calls = 0  # attention calls that read this cache (0 after a step: the model bypassed us)
        self.prompt_keys = prompt_keys  # [1, kv_heads, P, d]
        self.prompt_values = prompt_values
        self.keys: mx.array | None = None  # [rows, kv_heads, generated, d]
        self.values: mx.array | None = None

    @property
    def offset(self) -> int:  # positions for RoPE: the rows advance together
        return self.prompt_keys.shape[2] + (0 if self.keys is None else self.keys.shape[2])

    def update_and_fetch(self, keys: mx.array, values: mx.array) -> tuple[mx.array, mx.array]:
        if self.keys is None or self.values is None:
            self.keys, self.values = keys, values
        else:
            self.keys = mx.concatenate([self.keys, keys], axis=2)
            self.values = mx.concatenate([self.values, values], axis=2)
        return self.keys, self.values

    def make_mask(self, n: int, return_array: bool = False, window_size: int | None = None) -> None:
        if window_size:
            raise SharedPromptUnsupported("sliding-window attention")
        return None  # the two-part attention builds its own causal mask

    @property
    def state(self) -> list[mx.array]:
        return [a for a in (self.keys, self.values) if a is not None]

    def keep(self, rows: mx.array) -> None:
        if self.keys is not None and self.values is not None:
            self.keys = mx.take(self.keys, rows, axis=0)
            self.values = mx.take(self.values, rows, axis=0)


def _attention(queries: mx.array, keys: mx.array, values: mx.array, cache: SharedPromptKV, scale: float,
               sinks: Any) -> mx.array:
    if sinks is not None:
        raise SharedPromptUnsupported("attention sinks")
    cache.calls += 1
    rows, heads, q_len, dim = queries.shape
    kv_heads = keys.shape[1]
    group = heads // kv_heads
    q = queries.astype(mx.float32).reshape(rows, kv_heads, group * q_len, dim) * scale

    qp = q.transpose(1, 0, 2, 3).reshape(kv_heads, rows * group * q_len, dim)
    sp = qp @ cache.prompt_keys[0].astype(mx.float32).transpose(0, 2, 1)
    mp = mx.max(sp, axis=-1, keepdims=True)
    ep = mx.exp(sp - mp)
    lp = mx.sum(ep, axis=-1, keepdims=True)
    op = ep @ cache.prompt_values[0].astype(mx.float32)

    def per_row(t: mx.array) -> mx.array:
        return t.reshape(kv_heads, rows, group * q_len, t.shape[-1]).transpose(1, 0, 2, 3)

    mp, lp, op = per_row(mp), per_row(lp), per_row(op)

    gen = keys.shape[2]
    ss = q @ keys.astype(mx.float32).transpose(0, 1, 3, 2)
    position = mx.arange(group * q_len) % q_len + (gen - q_len)
    hidden = mx.arange(gen)[None, :] > position[:, None]
    ss = mx.where(hidden, -mx.inf, ss)
    ms = mx.max(ss, axis=-1, keepdims=True)
    es = mx.exp(ss - ms)
    ls = mx.sum(es, axis=-1, keepdims=True)
    os_ = es @ values.astype(mx.float32)

    m = mx.maximum(mp, ms)
    wp, ws = mx.exp(mp - m), mx.exp(ms - m)
    out = (op * wp + os_ * ws) / (lp * wp + ls * ws)
    return out.reshape(rows, heads, q_len, dim).astype(queries.dtype)


def install(model: Any) -> None:
    """Route the model module's attention through the shared-prompt path for our caches."""
    module = sys.modules.get(type(model).__module__)
    original: Callable[..., Any] | None = getattr(module, "scaled_dot_product_attention", None)
    if module is None or original is None:
        raise SharedPromptUnsupported(f"{type(model).__module__} has no scaled_dot_product_attention")
    if getattr(module, _ORIGINAL, None) is not None:
        return

    def dispatch(queries: mx.array, keys: mx.array, values: mx.array, cache: Any, scale: float,
                 mask: Any, sinks: Any = None) -> mx.array:
        if isinstance(cache, SharedPromptKV):
            return _attention(queries, keys, values, cache, scale, sinks)
        return original(queries, keys, values, cache=cache, scale=scale, mask=mask, sinks=sinks)

    setattr(module, _ORIGINAL, original)
    module.scaled_dot_product_attention = dispatch


def shared_caches(prompt_cache: Sequence[Any]) -> list[SharedPromptKV]:
    """Per layer, a shared-prompt cache over a one-row prompt cache (plain KVCaches only)."""
    from mlx_lm.models.cache import KVCache
    out = []
    for c in prompt_cache:
        if type(c) is not KVCache or not c.offset:
            raise SharedPromptUnsupported(f"prompt cache of type {type(c).__name__}")
        k, v = c.keys_and_values()
        out.append(SharedPromptKV(k, v))
    return out
