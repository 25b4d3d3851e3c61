"""TokenConstraint: llguidance masks over a real tokenizer, unpacked with numpy."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("llguidance")

from esso_ngs.neural.token_mask import (GrammarDecodingError, TokenConstraint, hf_tokenizer_of,
                                       validate_lark)

LARK = r'''
start: expr
expr: term | "(safe_div " term " " const ")"
term: "amount" | "bps" | "(* amount bps)"
const: "1" | "100" | "10000"
'''
LANGUAGE = {"amount", "bps", "(* amount bps)"} | {
    f"(safe_div {t} {c})" for t in ("amount", "bps", "(* amount bps)") for c in ("1", "100", "10000")}


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    import mlx_lm
    _, tok = mlx_lm.load(str(tiny_model_dir))
    return tok


def _walk(c: TokenConstraint, tok, rng: np.random.Generator) -> str:
    """Follow random allowed tokens until EOS or the matcher stops."""
    out: list[int] = []
    for _ in range(200):
        allowed = np.flatnonzero(c.allowed_mask())
        assert allowed.size, "a live matcher always allows something"
        t = int(rng.choice(allowed))
        if c.is_eos(t):
            assert c.is_accepting(), "EOS is allowed only after a complete term"
            break
        assert c.consume(t)
        out.append(t)
        if c.is_stopped():
            break
    return hf_tokenizer_of(tok).decode(out)


def test_random_walks_stay_in_language(tokenizer) -> None:
    c = TokenConstraint(LARK, tokenizer, vocab_size=1000)
    rng = np.random.default_rng(0)
    seen = set()
    for _ in range(60):
        c.reset()
        text = _walk(c, tokenizer, rng)
        assert text in LANGUAGE
        seen.add(text)
    assert len(seen) >= 4  # the walks explore the language
    assert c.steps > 0 and c.mask_time_s > 0 and c.mask_time_per_step_ms() < 50


def test_mask_is_sized_to_the_model_and_pads_with_false(tokenizer) -> None:
    c = TokenConstraint(LARK, tokenizer, vocab_size=1000)
    mask = c.allowed_mask()
    assert mask.dtype == np.bool_ and mask.shape == (1000,)
    assert not mask[c.tokenizer_vocab:].any()
    # at the start, nothing ending the text is allowed and every allowed token starts a term
    assert not any(mask[i] for i in c.eos_token_ids)
    hf = hf_tokenizer_of(tokenizer)
    for t in np.flatnonzero(mask):
        piece = hf.decode([int(t)])
        assert any(w.startswith(piece) for w in LANGUAGE), piece


def test_a_disallowed_token_puts_the_matcher_in_error(tokenizer) -> None:
    c = TokenConstraint(LARK, tokenizer)
    bad = int(np.flatnonzero(~c.allowed_mask()[: c.tokenizer_vocab])[5])
    assert not c.consume(bad)
    assert c.is_error() and c.error


def test_bad_grammar_is_refused(tokenizer) -> None:
    assert validate_lark("start: undefined_rule", tokenizer)
    assert validate_lark(LARK, tokenizer) is None
    with pytest.raises(Exception) as info:
        TokenConstraint("start: undefined_rule", tokenizer)
    assert isinstance(info.value, (GrammarDecodingError, ValueError, RuntimeError))
