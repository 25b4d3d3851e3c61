"""Local models: the cache directory, the alias registry, and path validation.

A model is a local directory (Hugging Face layout: config.json, tokenizer files,
*.safetensors) named by its path or by an alias registered in
`$ESSO_NGS_CACHE/models.json` (default `~/.cache/esso-ngs/`). Nothing is ever
fetched from a hub: `offline()` sets the Hugging Face offline switches before any
loader is imported, and a name that is neither a model directory nor an alias is
a one-line error rather than a download attempt.
"""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..errors import UserError

REGISTRY_SCHEMA = "esso-ngs-models/v1"
_OFFLINE_VARS = {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "HF_DATASETS_OFFLINE": "1",
                 "HF_HUB_DISABLE_TELEMETRY": "1", "TOKENIZERS_PARALLELISM": "false"}


def offline() -> None:
    """Forbid hub downloads in this process (call before importing transformers/mlx_lm)."""
    for key, value in _OFFLINE_VARS.items():
        os.environ.setdefault(key, value)


def cache_dir() -> Path:
    """`$ESSO_NGS_CACHE` or `~/.cache/esso-ngs` (not created until written to)."""
    env = os.environ.get("ESSO_NGS_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "esso-ngs"


def models_dir() -> Path:
    return cache_dir() / "models"


def registry_path() -> Path:
    return cache_dir() / "models.json"


def load_registry() -> dict[str, dict[str, Any]]:
    path = registry_path()
    if not path.is_file():
        return {}
    # Same shape as the replay backend's hints-file read: a different file, message and key; a shared reader would only move the two messages into arguments.
    try:
        data = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: not a readable model registry ({exc})") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise UserError(f"{path}: not a model registry (no 'models' object)")
    return {str(k): dict(v) for k, v in models.items() if isinstance(v, dict)}


def register_alias(alias: str, path: Path, **info: Any) -> None:
    models = load_registry()
    models[alias] = {"path": str(Path(path).resolve()), **info}
    target = registry_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(json.dumps({"schema": REGISTRY_SCHEMA, "models": models}, indent=2, sort_keys=True) + "\n")
    tmp.replace(target)


@dataclass(frozen=True, slots=True)
class LocalModel:
    name: str  # what the user typed
    path: Path  # resolved model directory
    alias: str | None

    @property
    def model_id(self) -> str:
        """Short human name: the alias, else the directory name."""
        return self.alias or self.path.name


def model_problem(path: Path) -> str | None:
    """Why `path` is not a usable model directory, or None when it is."""
    if not path.exists():
        return "no such file or directory"
    if not path.is_dir():
        return "not a directory (a model is a directory with config.json, tokenizer and *.safetensors)"
    if not (path / "config.json").is_file():
        return "not a model directory (no config.json)"
    if not any(path.glob("*.safetensors")):
        return "not a model directory (no *.safetensors weights)"
    if not any((path / f).is_file() for f in ("tokenizer.json", "tokenizer.model", "vocab.json")):
        return "not a model directory (no tokenizer.json)"
    try:
        json.loads((path / "config.json").read_text())
    except (OSError, ValueError) as exc:
        return f"config.json is not valid JSON ({exc})"
    return None


def resolve_model(name: str) -> LocalModel:
    """A local path or a registered alias -> a validated model directory (UserError else)."""
    if not name:
        raise UserError("no model given: pass --model PATH_OR_ALIAS (see `esso-ngs models list`)")
    registry = load_registry()
    as_path = Path(name).expanduser()
    if name in registry and not as_path.exists():
        path = Path(registry[name]["path"])
        problem = model_problem(path)
        if problem:
            raise UserError(f"model alias {name!r} -> {path}: {problem} "
                            f"(rebuild it with `esso-ngs models prepare {name}`)")
        return LocalModel(name, path.resolve(), name)
    problem = model_problem(as_path)
    if problem:
        if problem == "no such file or directory":
            known = ", ".join(sorted(registry)) or "none"
            raise UserError(f"model {name!r}: no such directory and not a registered alias "
                            f"(aliases: {known}; see `esso-ngs models list`)")
        raise UserError(f"model {name!r}: {problem}")
    resolved = as_path.resolve()
    alias = next((a for a, info in sorted(registry.items()) if Path(info["path"]) == resolved), None)
    return LocalModel(name, resolved, alias)


# Files that define a model's behaviour. Hashing weights takes ~0.5 s/GB, so the
# digest is memoized per (path, size, mtime) in the cache dir.
_IDENTITY_FILES = ("config.json", "tokenizer.json", "tokenizer_config.json", "tokenizer.model",
                   "chat_template.jinja", "chat_template.json", "special_tokens_map.json",
                   "generation_config.json")


def _file_digest(path: Path, memo: dict[str, str]) -> str:
    st = path.stat()
    key = f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}"
    if key not in memo:
        h = hashlib.sha256()
        with path.open("rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 22), b""):
                h.update(chunk)
        memo[key] = h.hexdigest()
    return memo[key]


def model_dir_hash(path: Path) -> str:
    """sha256 over the model's identity files and weights (content, not names or dates)."""
    memo_path = cache_dir() / "file-hashes.json"
    try:
        memo: dict[str, str] = json.loads(memo_path.read_text()) if memo_path.is_file() else {}
    except (OSError, ValueError):
        memo = {}
    before = len(memo)
    h = hashlib.sha256()
    files = [path / f for f in _IDENTITY_FILES if (path / f).is_file()]
    files += sorted(path.glob("*.safetensors"))
    for f in files:
        h.update(f.name.encode() + b"\0" + _file_digest(f, memo).encode() + b"\n")
    if len(memo) != before:
        try:
            memo_path.parent.mkdir(parents=True, exist_ok=True)
            memo_path.write_text(json.dumps(memo, indent=0, sort_keys=True))
        except OSError:
            pass  # a read-only cache only costs re-hashing next time
    return "sha256:" + h.hexdigest()
