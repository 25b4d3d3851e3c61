"""Token-level constraint over a compiled grammar's Lark text, for constrained decoding.

The decoding side of a grammar: given the Lark text of a (bounded) grammar and a
model's tokenizer, say at each step which vocabulary tokens may come next. It is
llguidance's Lark matcher underneath (masks cost well under a millisecond a step
over a 49k vocabulary; lark's own interactive parser costs seconds, so lark is
for validating, not masking).

llguidance ships mask helpers for mlx (needs Metal, fails on Linux) and torch
(wrapped in `torch.compile`, ~30 s on first call), so the bitmask is unpacked
here with numpy, which every backend can take.

Nothing here imports a model framework; `llguidance` (and `transformers`, through
`llguidance.hf`) is imported on first use, so the rest of the package works without it.
"""
from __future__ import annotations

import threading
import time
import weakref
from typing import Any, Iterable

import numpy as np

from ..errors import UserError


class DecodingUnavailable(UserError):
    """The constrained-decoding dependency (llguidance) is not installed."""


class GrammarDecodingError(UserError):
    """llguidance refused the grammar (a bug in the Lark text we generated): one line
    for the user, who can still sample unconstrained."""


def _llguidance() -> Any:
    try:
        import llguidance
        import llguidance.hf  # noqa: F401  (bridges Hugging Face tokenizers)
    except ImportError as exc:
        raise DecodingUnavailable(
            f"constrained decoding needs the package 'llguidance' ({exc.name} is missing): "
            "pip install llguidance==1.9.1 (or `pip install esso-ngs[neural]`)") from None
    return llguidance


def hf_tokenizer_of(tokenizer: Any) -> Any:
    """The Hugging Face fast tokenizer behind `tokenizer` (mlx_lm wraps it in `_tokenizer`)."""
    inner = getattr(tokenizer, "_tokenizer", None)
    if inner is not None and hasattr(inner, "backend_tokenizer"):
        return inner
    return tokenizer


def eos_ids_of(tokenizer: Any) -> tuple[int, ...]:
    """All end-of-sequence ids: mlx_lm's wrapper knows several (e.g. <|im_end|> and <|endoftext|>)."""
    ids = getattr(tokenizer, "eos_token_ids", None)
    if isinstance(ids, int):
        return (ids,)
    if ids:
        return tuple(sorted(int(i) for i in ids))
    eos = getattr(hf_tokenizer_of(tokenizer), "eos_token_id", None)
    return (int(eos),) if eos is not None else ()


# Building an LLTokenizer serializes the whole vocabulary (~1 s for 49k tokens):
# cache it per tokenizer object (weakly, so a dropped model frees it) and vocab size.
_LLT_CACHE: "weakref.WeakKeyDictionary[Any, dict[tuple[int | None, tuple[int, ...]], Any]]" = weakref.WeakKeyDictionary()
_LLT_LOCK = threading.Lock()


def llg_tokenizer(tokenizer: Any, vocab_size: int | None = None,
                  eos_token_ids: Iterable[int] | None = None) -> Any:
    """The (cached) llguidance tokenizer for a Hugging Face or mlx_lm tokenizer."""
    llg = _llguidance()
    hf = hf_tokenizer_of(tokenizer)
    eos = tuple(sorted(set(int(i) for i in eos_token_ids))) if eos_token_ids else eos_ids_of(tokenizer)
    key = (vocab_size, eos)
    with _LLT_LOCK:
        per_tok = _LLT_CACHE.setdefault(hf, {})
        if key not in per_tok:
            per_tok[key] = llg.hf.from_tokenizer(
                hf, n_vocab=vocab_size, eos_token=list(eos) if eos else None)
        return per_tok[key]


def validate_lark(lark_text: str, tokenizer: Any | None = None) -> str | None:
    """None when llguidance accepts the Lark text, else its error message."""
    llg = _llguidance()
    llt = llg_tokenizer(tokenizer) if tokenizer is not None else None
    is_error, messages = llg.LLMatcher.validate_grammar_with_warnings(
        llg.LLMatcher.grammar_from_lark(lark_text), llt)
    return messages[0] if is_error else None


class TokenConstraint:
    """One decoding's grammar state: which tokens may come next, and what was consumed.

    Use one per sample (or `reset()` between samples): `allowed_mask()` before a
    step, `consume(token)` after it, stop when `is_stopped()` or when an EOS token
    (allowed only once the text is a complete term) is sampled.
    """

    def __init__(self, lark_text: str, tokenizer: Any, vocab_size: int | None = None,
                 eos_token_ids: Iterable[int] | None = None) -> None:
        llg = _llguidance()
        self.lark_text = lark_text
        self.tokenizer = tokenizer
        self._llt = llg_tokenizer(tokenizer, None, eos_token_ids)
        # The model's logits may be wider than the tokenizer (padded embeddings):
        # the mask is sized to the logits, the extra ids never allowed.
        self.tokenizer_vocab = int(self._llt.vocab_size)
        self.vocab_size = max(int(vocab_size or 0), self.tokenizer_vocab)
        self.eos_token_ids = (tuple(sorted(set(int(i) for i in eos_token_ids))) if eos_token_ids
                              else eos_ids_of(tokenizer))
        self._matcher = llg.LLMatcher(self._llt, llg.LLMatcher.grammar_from_lark(lark_text), log_level=0)
        if self._matcher.is_error():
            first = (self._matcher.get_error().strip().splitlines() or ["unknown error"])[0]
            raise GrammarDecodingError(f"constrained decoding: llguidance rejected the grammar ({first}); "
                                       "sample without it with --no-constrain")
        self._words = (self.tokenizer_vocab + 31) // 32
        self._bitmask = np.zeros((1, self._words), dtype=np.int32)
        self.mask_time_s = 0.0  # time spent computing masks and consuming tokens
        self.steps = 0

    # -- per step ------------------------------------------------------------
    def allowed_mask(self) -> np.ndarray:
        """Boolean array over the model vocabulary: True where the token may come next."""
        t0 = time.perf_counter()
        self._matcher.unsafe_compute_mask_ptr(self._bitmask.ctypes.data, self._bitmask.nbytes)
        # Bit j of 32-bit word i is token 32*i + j; little-endian bytes keep that order.
        bits = np.unpackbits(self._bitmask.view(np.uint8), bitorder="little")
        mask = np.zeros(self.vocab_size, dtype=bool)
        mask[: self.tokenizer_vocab] = bits[: self.tokenizer_vocab].astype(bool)
        self.mask_time_s += time.perf_counter() - t0
        self.steps += 1
        return mask

    def consume(self, token_id: int) -> bool:
        """Advance by one token; False (and an error state) when the token is not allowed."""
        t0 = time.perf_counter()
        ok = bool(self._matcher.consume_token(int(token_id)))
        self.mask_time_s += time.perf_counter() - t0
        return ok

    def is_accepting(self) -> bool:
        """The tokens so far form a complete term (EOS would be allowed)."""
        return bool(self._matcher.is_accepting())

    def is_stopped(self) -> bool:
        """No token but EOS can follow (also true in an error state)."""
        return bool(self._matcher.is_stopped())

    def is_error(self) -> bool:
        return bool(self._matcher.is_error())

    @property
    def error(self) -> str:
        return str(self._matcher.get_error())

    def is_eos(self, token_id: int) -> bool:
        return int(token_id) in self.eos_token_ids

    def reset(self) -> None:
        self._matcher.reset()

    def mask_time_per_step_ms(self) -> float:
        return 1000.0 * self.mask_time_s / self.steps if self.steps else 0.0
