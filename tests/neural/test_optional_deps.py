"""Without the optional packages, esso-ngs still runs and names what is missing in one line."""
from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.neural.backend import Message, Prompt
from esso_ngs.neural.chat import encode_prompt, render_prompt

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"


def test_cli_imports_no_model_framework() -> None:
    code = ("import sys, esso_ngs.cli.main, esso_ngs.neural; "
            "print(sorted(m for m in ('mlx', 'mlx_lm', 'torch', 'transformers', 'llguidance') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_missing_mlx_is_one_line(capsys, monkeypatch, tiny_model_dir: Path, tmp_path: Path) -> None:
    model = tmp_path / "fresh"  # a path not loaded yet in this process
    shutil.copytree(tiny_model_dir, model)
    for name in ("mlx", "mlx.core", "mlx_lm"):
        monkeypatch.setitem(sys.modules, name, None)
    assert main(["hints", str(FEE), "--model", str(model), "--samples", "1", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'mlx'" in err and "pip install" in err


def test_missing_llguidance_is_one_line(monkeypatch, tiny_model_dir: Path) -> None:
    from esso_ngs.errors import UserError
    from esso_ngs.neural.token_mask import TokenConstraint
    monkeypatch.setitem(sys.modules, "llguidance", None)
    with pytest.raises(UserError, match="llguidance"):
        TokenConstraint('start: "a"', object())


class _NoTemplate:
    """A tokenizer double without a chat template (a base model)."""

    chat_template = None
    bos_token = "<s>"

    def encode(self, text: str, add_special_tokens: bool = True) -> list[int]:
        return ([1] if add_special_tokens else []) + [ord(c) for c in text]


def test_plain_rendering_without_chat_template() -> None:
    p = Prompt((Message("system", "Be brief."), Message("user", "Term?"), Message("assistant", "x"),
                Message("user", "Next?")))
    text = render_prompt(p, _NoTemplate())
    assert text == "Be brief.\n\nQuestion:\nTerm?\n\nAnswer: x\n\nQuestion:\nNext?\n\nAnswer: "
    ids = encode_prompt(p, _NoTemplate())
    assert ids[0] == 1 and len(ids) == len(text) + 1  # BOS added: the text does not start with it
