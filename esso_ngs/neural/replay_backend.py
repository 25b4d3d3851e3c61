"""Backend that replays recorded candidates: reproducible runs and tests without a model.

The "model" is a source of recorded terms:
- a hints file (`esso-llm-hints/v1`): each hole's ranked `candidates` (or its
  single `term`), a candidate with a recorded `count` replayed that many times;
- a sample-cache directory (`$ESSO_NGS_CACHE/samples` or a copy of one): the
  samples recorded for exactly the same prompt, whatever model produced them.

Replay returns at most `settings.n` samples, in recorded order; it ignores the
constraint (recorded terms are checked against the grammar like any others).
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from ..errors import UserError
from .backend import BackendStats, Prompt, Sample, SampleSettings
from .cache import SampleCache


class ReplayBackend:
    name = "replay"
    supports_constraints = False

    def __init__(self, model: str) -> None:
        path = Path(model).expanduser()
        if not path.exists():
            raise UserError(f"replay source {model!r}: no such file or directory "
                            "(give a hints file or a sample-cache directory)")
        self.path = path
        self.model_id = path.name
        self.stats = BackendStats()
        self._hints: dict[str, Any] | None = None
        if path.is_file():
            # Same shape as the model registry's read (neural/models.py): different file and message, kept apart on purpose.
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                raise UserError(f"{path}: not a JSON hints file ({exc})") from None
            holes = data.get("holes") if isinstance(data, dict) else None
            if not isinstance(holes, dict):
                raise UserError(f"{path}: not a hints file (no `holes` object keyed by hole id)")
            self._hints = holes

    def model_hash(self) -> str:
        h = hashlib.sha256()
        if self.path.is_file():
            h.update(self.path.read_bytes())
        else:
            h.update(str(self.path.resolve()).encode())
        return "replay:" + h.hexdigest()

    def sample(self, prompt: Prompt, settings: SampleSettings,
               constraint_text: str | None) -> list[Sample]:
        if self._hints is not None:
            samples = self._from_hints(prompt.hole_id)
        else:
            found = SampleCache(self.path).find_by_prompt(prompt)
            if found is None:
                raise UserError(f"{self.path}: no recorded samples for this prompt (hole "
                                f"{prompt.hole_id!r} of {prompt.spec_name or 'the spec'})")
            samples = found
        return samples[: settings.n]

    def _from_hints(self, hole_id: str) -> list[Sample]:
        assert self._hints is not None
        entry = self._hints.get(hole_id)
        if not isinstance(entry, dict):
            raise UserError(f"{self.path}: no hints for hole {hole_id!r}")
        out: list[Sample] = []
        cands = entry.get("candidates")
        if isinstance(cands, list) and cands:
            for c in cands:
                if not isinstance(c, dict) or not isinstance(c.get("term"), str):
                    continue
                count = c.get("count") if isinstance(c.get("count"), int) and c.get("count") > 0 else 1
                lp = c.get("logprob") if isinstance(c.get("logprob"), (int, float)) else None
                out.extend(Sample(text=c["term"], logprob=lp, finish="replay") for _ in range(count))
        elif isinstance(entry.get("term"), str):
            out.append(Sample(text=entry["term"], finish="replay"))
        return out
