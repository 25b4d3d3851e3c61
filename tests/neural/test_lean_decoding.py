"""Constrained decoding uses the lean grammar: through the real token masks, a sample
never holds an operation over constants only, such as `(safe_div 1 1)`."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("llguidance")

from esso_ngs.formats.model import GrammarSpec
from esso_ngs.grammar import bounded_lark_text, check_term, compile_grammar, in_language
from esso_ngs.grammar.lean import lean_grammar
from esso_ngs.lang.expr import Const, Op, free_vars, walk
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.neural.backend import Message, Prompt, SampleSettings
from esso_ngs.neural.sampling import sample_hole
from esso_ngs.neural.token_mask import TokenConstraint, hf_tokenizer_of
from esso_ngs.formats.model import StyleProfile

GENERIC = GrammarSpec("G", "E", (
    ("E", ("V", "C", "(+ E E)", "(* E E)", "(safe_div E E)")),
    ("V", ("amount", "bps")),
    ("C", ("0", "1", "100")),
))
STYLE = StyleProfile(max_ast_nodes=5)


def _grammar():
    return compile_grammar(GENERIC, STYLE, {"amount": "Int", "bps": "Int"})


# Argument constants that make an operation an identity or a constant (by position).
REFUSED = {("+", 0): {0}, ("+", 1): {0}, ("*", 0): {0, 1}, ("*", 1): {0, 1}, ("safe_div", 0): {0},
           ("safe_div", 1): {0, 1}}


def _constant_operation(text: str) -> bool:
    """An operation over constants only, or an identity or constant-making argument."""
    return any(isinstance(n, Op) and (not free_vars(n) or any(
        isinstance(a, Const) and a.value in REFUSED.get((n.op, i), ()) for i, a in enumerate(n.args)))
        for _, n in walk(parse_term(text)))


@pytest.fixture(scope="module")
def tokenizer(tiny_model_dir: Path):
    import mlx_lm
    _, tok = mlx_lm.load(str(tiny_model_dir))
    return tok


def _walks(lark: str, tokenizer, n: int) -> list[str]:
    c = TokenConstraint(lark, tokenizer, vocab_size=1000)
    rng = np.random.default_rng(0)
    out = []
    for _ in range(n):
        c.reset()
        tokens: list[int] = []
        for _ in range(100):
            allowed = np.flatnonzero(c.allowed_mask())
            t = int(rng.choice(allowed))
            if c.is_eos(t):
                break
            assert c.consume(t)
            tokens.append(t)
            if c.is_stopped():
                break
        out.append(hf_tokenizer_of(tokenizer).decode(tokens))
    return out


def test_masks_of_the_lean_grammar_never_write_a_constant_operation(tokenizer) -> None:
    g = _grammar()
    full = _walks(bounded_lark_text(g), tokenizer, 80)
    assert any(_constant_operation(t) for t in full)  # the full grammar lets the walks waste
    lean = _walks(bounded_lark_text(lean_grammar(g)), tokenizer, 80)
    assert len(set(lean)) >= 10
    for text in lean:
        assert check_term(g, text).ok and not _constant_operation(text), text


def test_sample_hole_decodes_with_the_lean_grammar(mlx_backend) -> None:
    g = _grammar()
    prompt = Prompt((Message("system", "Write one term."), Message("user", "the fee")), hole_id="fee")
    hot = SampleSettings(n=12, temperature=1.5, seed=3, max_tokens=48)
    got = sample_hole(mlx_backend, prompt, hot, g)
    assert got.grammar_sha is not None and got.candidates
    lean = lean_grammar(g)
    for c in got.candidates:
        assert c.in_grammar and in_language(lean, c.expr) and not _constant_operation(c.term), c.term
