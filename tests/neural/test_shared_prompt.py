"""Rows decoding one prompt share its KV cache (shared_prompt_torch.py): same logits and the
same samples as with a copy of the cache per row, and a clean fallback."""
from __future__ import annotations

import copy
from pathlib import Path

import numpy as np
import pytest

from esso_ngs.formats import load_spec
from esso_ngs.grammar import bounded_lark_text, grammar_for_hole
from esso_ngs.neural.backend import Message, Prompt, SampleSettings, make_backend

pytest.importorskip("torch", reason="the transformers backend needs torch (pip install torch==2.13.0)")
pytest.importorskip("transformers")

from esso_ngs.neural import shared_prompt_torch, transformers_backend  # noqa: E402
from esso_ngs.neural.transformers_backend import _SharedPromptStepper, _TorchStepper  # noqa: E402

FEE = Path(__file__).resolve().parents[2] / "benchmarks" / "specs" / "fee_bps_hole.yaml"
PROMPT = Prompt((Message("system", "Write one term."), Message("user", "the fee, please")), hole_id="fee_expr")


@pytest.fixture()
def backend(tiny_model_dir: Path):
    tb = make_backend("transformers", str(tiny_model_dir), batch_size=4)
    model, _, _ = tb.load()
    yield tb
    transformers_backend._SHARED_OK.pop(id(model), None)


def test_shared_prompt_steps_match_copied_caches(backend) -> None:
    model, _, device = backend.load()
    prompt = list(range(5, 40))
    base = backend._forward(model, prompt, None, device)
    copied = copy.deepcopy(base)
    copied.batch_repeat_interleave(4)
    a = _TorchStepper(model, copied, device)
    b = _SharedPromptStepper(model, base, len(prompt), device)
    rng = np.random.default_rng(1)
    rows = 4
    for step, k in enumerate([1, 3, 1, 2, 1]):  # several tokens per pass, as forced tokens go
        tokens = [list(map(int, rng.integers(3, 60, k))) for _ in range(rows)]
        cols = np.sort(rng.choice(a.vocab, 40, replace=False))  # a grammar step's head: these ids only
        la, lb = a.forward(tokens, None)(), b.forward(tokens, cols)()
        assert la.shape == (rows, a.vocab) and lb.shape == (rows, cols.size)
        np.testing.assert_allclose(la[:, cols], lb, atol=1e-4, rtol=1e-4)
        if step == 2:  # rows finish: both drop them
            a.keep([0, 3])
            b.keep([0, 3])
            rows = 2
    assert b.generated == 8


def test_samples_are_the_same_with_and_without_sharing(backend) -> None:
    lark = bounded_lark_text(grammar_for_hole(load_spec(FEE), "fee_expr"))
    settings = SampleSettings(n=4, temperature=1.2, seed=3, max_tokens=40)
    model, _, _ = backend.load()
    shared = backend.sample(PROMPT, settings, lark)
    assert backend.stats.extra["shared_prompt_kv"] is True
    transformers_backend._SHARED_OK[id(model)] = False
    copied = backend.sample(PROMPT, settings, lark)
    assert backend.stats.extra["shared_prompt_kv"] is False
    assert [s.text for s in shared] == [s.text for s in copied]
    for s, c in zip(shared, copied):
        assert s.logprob == pytest.approx(c.logprob, abs=1e-3)


def test_a_model_that_cannot_share_falls_back_to_copies(backend, monkeypatch: pytest.MonkeyPatch) -> None:
    lark = bounded_lark_text(grammar_for_hole(load_spec(FEE), "fee_expr"))
    settings = SampleSettings(n=3, temperature=1.0, seed=5, max_tokens=40)
    model, _, _ = backend.load()
    transformers_backend._SHARED_OK[id(model)] = False
    expected = [s.text for s in backend.sample(PROMPT, settings, lark)]
    transformers_backend._SHARED_OK.pop(id(model))
    # A model whose attention never reaches the interface (its output would be wrong):
    monkeypatch.setattr(shared_prompt_torch, "calls", lambda: 0)
    assert [s.text for s in backend.sample(PROMPT, settings, lark)] == expected
    assert transformers_backend._SHARED_OK[id(model)] is False
    assert model.config._attn_implementation != shared_prompt_torch.IMPLEMENTATION  # restored


def test_attention_variants_it_cannot_merge_are_refused() -> None:
    import torch
    module = type("M", (), {"layer_idx": 0})()
    q = torch.zeros(2, 4, 1, 8)
    kv = torch.zeros(2, 2, 1, 8)
    prefix = [(torch.zeros(1, 2, 3, 8), torch.zeros(1, 2, 3, 8))]
    shared_prompt_torch._active.prefix, shared_prompt_torch._active.calls = prefix, 0
    try:
        out, _ = shared_prompt_torch._attention(module, q, kv, kv, None, scaling=0.3)
        assert out.shape == (2, 1, 4, 8) and shared_prompt_torch.calls() == 1
        for kwargs in ({"sliding_window": 4}, {"softcap": 30.0}, {"s_aux": torch.zeros(4)}):
            with pytest.raises(shared_prompt_torch.SharedPromptUnsupported):
                shared_prompt_torch._attention(module, q, kv, kv, None, scaling=0.3, **kwargs)
    finally:
        shared_prompt_torch._active.prefix = None


def test_mlx_shared_prompt_matches_widened_caches(tiny_model_dir: Path) -> None:
    pytest.importorskip("mlx.core")
    from esso_ngs.neural import mlx_backend
    from esso_ngs.neural.mlx_backend import _MLXStepper, _widen
    from esso_ngs.neural import shared_prompt_mlx

    mb = make_backend("mlx", str(tiny_model_dir), batch_size=4)
    model, _ = mb.load()
    base = mb._prefill(model, list(range(5, 40)), 0)
    a = _MLXStepper(model, _widen(base, 4))
    shared_prompt_mlx.install(model)
    caches = shared_prompt_mlx.shared_caches(base)
    b = _MLXStepper(model, caches)
    rng = np.random.default_rng(2)
    rows = 4
    for step, k in enumerate([1, 3, 1, 2]):
        tokens = [list(map(int, rng.integers(3, 60, k))) for _ in range(rows)]
        cols = np.sort(rng.choice(a.vocab, 40, replace=False))  # a grammar step's head: these ids only
        la, lb = a.forward(tokens, None)(), b.forward(tokens, cols)()
        assert la.shape == (rows, a.vocab) and lb.shape == (rows, cols.size)
        np.testing.assert_allclose(la[:, cols], lb, atol=1e-4, rtol=1e-4)
        if step == 1:
            a.keep([1, 2])
            b.keep([1, 2])
            rows = 2
    assert all(c.calls == 4 for c in caches)

    lark = bounded_lark_text(grammar_for_hole(load_spec(FEE), "fee_expr"))
    settings = SampleSettings(n=4, temperature=1.2, seed=3, max_tokens=40)
    shared = mb.sample(PROMPT, settings, lark)
    assert mb.stats.extra["shared_prompt_kv"] is True
    mlx_backend._SHARED_OK[id(model)] = False
    try:
        copied = mb.sample(PROMPT, settings, lark)
    finally:
        mlx_backend._SHARED_OK.pop(id(model), None)
    assert [s.text for s in shared] == [s.text for s in copied]
