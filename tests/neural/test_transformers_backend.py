"""The transformers backend gives the same greedy terms as mlx on the same weights."""
from __future__ import annotations

from pathlib import Path

import pytest

from esso_ngs.grammar import bounded_lark_text, check_term, grammar_for_hole
from esso_ngs.neural.backend import Message, Prompt, SampleSettings, make_backend
from esso_ngs.formats import load_spec

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"


def test_transformers_matches_mlx_greedy(tiny_model_dir: Path, mlx_backend) -> None:
    pytest.importorskip("torch", reason="the transformers backend needs torch (pip install torch==2.13.0)")
    pytest.importorskip("transformers")
    tb = make_backend("transformers", str(tiny_model_dir), batch_size=3)
    lark = bounded_lark_text(grammar_for_hole(load_spec(FEE), "fee_expr"))
    prompt = Prompt((Message("system", "Write one term."), Message("user", "the fee")), hole_id="fee_expr")
    greedy = SampleSettings(n=2, temperature=0.0, max_tokens=48)
    a = [s.text for s in tb.sample(prompt, greedy, lark)]
    b = [s.text for s in mlx_backend.sample(prompt, greedy, lark)]
    assert a == b
    hot = SampleSettings(n=5, temperature=1.3, seed=4, max_tokens=48)
    g = grammar_for_hole(load_spec(FEE), "fee_expr")
    first = tb.sample(prompt, hot, lark)
    assert [s.text for s in first] == [s.text for s in tb.sample(prompt, hot, lark)]
    # sampling is done in numpy with per-sample seeds: the frameworks agree (up to float noise)
    same = sum(a.text == b.text for a, b in zip(first, mlx_backend.sample(prompt, hot, lark)))
    assert same >= 4
    for s in first:
        assert s.hit_token_limit or check_term(g, s.text).ok
