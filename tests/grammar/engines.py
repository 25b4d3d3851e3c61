"""Test helpers: the two engines that read our Lark text, behind small functions.

- `lark` (a dependency): an Earley parser over the text, for pre-filtering and for
  tests that the text means what `check` means.
- llguidance (optional, `pip install llguidance==1.9.1`): the token-level
  constrained decoder. `llguidance_errors` validates a grammar; `llguidance_accepts`
  drives its matcher over a term's bytes with a byte-level tokenizer (one token per
  byte), which checks that a decoder constrained by the text can emit exactly the
  canonical term. Model-tokenizer decoding itself lives in `neural/token_mask.py`.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Any


@lru_cache(maxsize=64)
def lark_parser(text: str) -> Any:
    from lark import Lark
    return Lark(text, parser="earley", start="start")


def lark_accepts(text: str, term_text: str) -> bool:
    from lark.exceptions import LarkError
    try:
        lark_parser(text).parse(term_text)
        return True
    except LarkError:
        return False


class _ByteTokenizer:
    """A tokenizer whose tokens are the 256 bytes plus an end-of-sequence token."""

    eos_token_id = 256
    bos_token_id = None
    tokens: tuple[bytes, ...] = (*(bytes([i]) for i in range(256)), b"<eos>")
    special_token_ids: tuple[int, ...] = (256,)

    def __call__(self, s: str | bytes) -> list[int]:
        return list(s if isinstance(s, bytes) else s.encode("utf-8"))


@lru_cache(maxsize=1)
def _byte_tokenizer() -> Any:
    import llguidance
    return llguidance.LLTokenizer(llguidance.TokenizerWrapper(_ByteTokenizer()))


def llguidance_errors(text: str) -> list[str]:
    """Errors llguidance finds in the Lark text ([] when it accepts it); warnings
    are returned too, prefixed 'warning: '."""
    import llguidance
    grammar = llguidance.grammar_from("lark", text)
    is_error, messages = llguidance.LLMatcher.validate_grammar_with_warnings(grammar, _byte_tokenizer())
    if is_error:
        return list(messages)
    return [f"warning: {m}" for m in messages]


@lru_cache(maxsize=64)
def _llg_grammar(text: str) -> str:
    import llguidance
    return llguidance.grammar_from("lark", text)


def llguidance_accepts(text: str, term_text: str) -> bool:
    """Whether a matcher over the grammar consumes the term's bytes and then may stop."""
    import llguidance
    tok = _byte_tokenizer()
    matcher = llguidance.LLMatcher(tok, _llg_grammar(text), log_level=0)
    if matcher.is_error():
        raise ValueError(matcher.get_error())
    ok = matcher.consume_tokens(tok.tokenize_str(term_text))
    return bool(ok) and not matcher.is_error() and matcher.is_accepting()
