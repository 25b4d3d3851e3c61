"""Fixtures for the pipeline tests: a tiny random model (real mlx_lm path), replay files, a private cache."""
from __future__ import annotations

from pathlib import Path
import pytest


@pytest.fixture(scope="session")
def session_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("esso-cache")


@pytest.fixture(autouse=True)
def private_cache(session_cache: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Nothing touches ~/.cache; one cache for the session, so repeated prompts cost nothing."""
    monkeypatch.setenv("ESSO_NGS_CACHE", str(session_cache))
    return session_cache


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("mlx.core", reason="the mlx backend needs mlx (pip install 'mlx[cpu]')")
    pytest.importorskip("mlx_lm", reason="the mlx backend needs mlx-lm")
    pytest.importorskip("llguidance", reason="constrained decoding needs llguidance")
    pytest.importorskip("tokenizers")
    from esso_ngs.testing.tiny_model import build_tiny_model
    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))
