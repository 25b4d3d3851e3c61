"""Fixtures for the neural tests: a tiny random model built offline, and a private cache dir."""
from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def private_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Every test gets its own ESSO_NGS_CACHE: nothing touches ~/.cache."""
    cache = tmp_path / "esso-cache"
    monkeypatch.setenv("ESSO_NGS_CACHE", str(cache))
    return cache


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny Qwen2 model (random weights, S-expression BPE tokenizer, ChatML), ~1 s to build."""
    pytest.importorskip("mlx.core", reason="the mlx backend needs mlx (pip install 'mlx[cpu]')")
    pytest.importorskip("mlx_lm", reason="the mlx backend needs mlx-lm")
    pytest.importorskip("tokenizers")
    from esso_ngs.testing.tiny_model import build_tiny_model
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture(scope="session")
def mlx_backend(tiny_model_dir: Path):
    """The mlx backend over the tiny model, loaded through the real `mlx_lm.load` path."""
    pytest.importorskip("llguidance", reason="constrained decoding needs llguidance")
    from esso_ngs.neural.backend import make_backend
    return make_backend("mlx", str(tiny_model_dir), batch_size=8)
