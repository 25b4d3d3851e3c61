"""Content-addressed cache of model samples: a rerun costs nothing and gives the same hints.

The key is the sha256 of everything that determines the samples: backend, model
identity (a hash of its files, computed without loading it), the prompt, the
sampling settings and the exact grammar text used as the constraint. One JSON
file per key under `$ESSO_NGS_CACHE/samples/`; writes are atomic, and a corrupt
entry is treated as a miss.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .backend import Prompt, Sample, SampleSettings
from .models import cache_dir

# v2: a constrained sample's logprob is taken under the grammar mask (decode.py); v1
# entries hold the model's unmasked one, which ranks candidates differently.
SCHEMA = "esso-ngs-samples/v2"


def text_sha(text: str | None) -> str | None:
    return None if text is None else "sha256:" + hashlib.sha256(text.encode()).hexdigest()


def sample_key(*, backend: str, model_hash: str, prompt: Prompt, settings: SampleSettings,
               constraint_text: str | None, options: dict[str, Any] | None = None) -> str:
    material = {
        "schema": SCHEMA,
        "backend": backend,
        "model": model_hash,
        "prompt": prompt.to_json(),
        "settings": settings.to_json(),
        "grammar": text_sha(constraint_text),
        "options": options or {},
    }
    return hashlib.sha256(json.dumps(material, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


class SampleCache:
    def __init__(self, root: str | Path | None = None) -> None:
        self.root = Path(root) if root is not None else cache_dir() / "samples"

    def path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> list[Sample] | None:
        path = self.path(key)
        try:
            data = json.loads(path.read_text())
            if data.get("schema") != SCHEMA or data.get("key") != key:
                return None
            return [Sample.from_json(s) for s in data["samples"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put(self, key: str, samples: list[Sample], meta: dict[str, Any], prompt: Prompt) -> Path:
        path = self.path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        doc = {"schema": SCHEMA, "key": key, "meta": meta, "prompt": prompt.to_json(),
               "samples": [s.to_json() for s in samples]}
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w") as fh:
            json.dump(doc, fh, indent=1, sort_keys=True)
        os.replace(tmp, path)
        return path

    def find_by_prompt(self, prompt: Prompt) -> list[Sample] | None:
        """Samples recorded for exactly this prompt, whatever the model (for replay).

        Several entries may match (other models or settings): the newest wins.
        """
        if not self.root.is_dir():
            return None
        want = prompt.to_json()
        best: tuple[float, list[Sample]] | None = None
        for path in self.root.glob("*/*.json"):
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            if data.get("schema") == SCHEMA and data.get("prompt") == want:
                mtime = path.stat().st_mtime
                if best is None or mtime > best[0]:
                    best = (mtime, [Sample.from_json(s) for s in data.get("samples", [])])
        return best[1] if best else None
