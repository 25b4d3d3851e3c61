"""Sweeps (`batch DIR --sweep FILE.toml`): every combination of models, samples, tiers and seeds
is one configuration, run as one batch with its own run directory.

    # sweep.toml (or .json with the same keys); each list is optional: a key left
    # out keeps the value of the command line
    models = ["replay:hints.json", {backend = "openai", model = "qwen", base_url = "http://gpu:8000/v1",
                                    grammar_field = "structured_outputs"}]
    samples = [4, 16]
    tiers = ["cheap", "examples"]
    seeds = [0, 1]            # sampling (and validation) seeds

A model is "backend:model" or a table with the keys of a `--models-config`
stage. The configurations are expanded in a fixed order (models, then samples,
tiers, seeds), each named `NN-<backend>-<model>-n<samples>-<tier>-seed<seed>`;
the sweep directory holds `sweep.json` (the configurations and their run
directories) and one run directory per configuration, so rerunning the same
command resumes every run, and `esso-ngs report SWEEP_DIR` compares them.
"""
from __future__ import annotations

import hashlib
import itertools
import json
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping

from ..errors import UserError
from ..fsutil import atomic_write_text
from ..formats.hashing import canonical_json
from ..verify.candidate import TIERS
from .batch import BatchSettings, check_run_dir
from .two_stage import ModelChoice, ModelPlan, load_config_file, stage_from_mapping

SCHEMA = "esso-ngs-sweep/v1"
FILENAME = "sweep.json"
KEYS = ("models", "samples", "tiers", "seeds")


@dataclass(frozen=True)
class Sweep:
    path: Path
    models: tuple[Any, ...] = ()  # "backend:model" strings or stage tables, as written
    samples: tuple[int, ...] = ()
    tiers: tuple[str, ...] = ()
    seeds: tuple[int, ...] = ()


@dataclass(frozen=True)
class Configuration:
    label: str  # also the name of its run directory in the sweep directory
    settings: BatchSettings


def _list(data: Mapping[str, Any], key: str, where: str, kind: type | tuple[type, ...]) -> tuple[Any, ...]:
    if key not in data:
        return ()
    values = data[key]
    if not isinstance(values, list) or not values:
        raise UserError(f"{where}: {key}: expected a non-empty list")
    for i, v in enumerate(values):
        if isinstance(v, bool) or not isinstance(v, kind):
            raise UserError(f"{where}: {key}[{i}]: expected {_kind_name(kind)}, got {type(v).__name__}")
    return tuple(values)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    names = {"int": "an integer", "str": "a string", "dict": "a table"}
    return " or ".join(names.get(k.__name__, k.__name__) for k in kinds)


def load_sweep(path: str | Path) -> Sweep:
    p = Path(path)
    data = load_config_file(p, "sweep file")
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected a table with {', '.join(KEYS)}")
    unknown = sorted(set(data) - set(KEYS))
    if unknown:
        raise UserError(f"{p}: unknown key(s) {', '.join(unknown)} (known: {', '.join(KEYS)})")
    sweep = Sweep(p, _list(data, "models", str(p), (str, dict)), _list(data, "samples", str(p), int),
                  _list(data, "tiers", str(p), str), _list(data, "seeds", str(p), int))
    for i, n in enumerate(sweep.samples):
        if n < 1:
            raise UserError(f"{p}: samples[{i}]: must be >= 1, got {n}")
    for i, tier in enumerate(sweep.tiers):
        if tier not in TIERS:
            raise UserError(f"{p}: tiers[{i}]: unknown tier {tier!r} (known: {', '.join(TIERS)})")
    for i, model in enumerate(sweep.models):
        if isinstance(model, str) and (":" not in model or not all(model.split(":", 1))):
            raise UserError(f"{p}: models[{i}]: expected \"backend:model\" or a table, got {model!r}")
    if not any((sweep.models, sweep.samples, sweep.tiers, sweep.seeds)):
        raise UserError(f"{p}: nothing to sweep (give at least one of {', '.join(KEYS)})")
    return sweep


def _model(entry: Any, where: str, defaults: ModelChoice) -> ModelChoice:
    if isinstance(entry, str):
        backend, model = entry.split(":", 1)
        entry = {"backend": backend, "model": model}
    return stage_from_mapping(entry, where, defaults)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._]+", "-", text).strip("-")[:40] or "x"


def configurations(sweep: Sweep, base: BatchSettings, defaults: ModelChoice) -> list[Configuration]:
    """Every configuration of `sweep` over `base` (the command line's settings). `defaults`
    holds the command line's sampling options for the sweep's models."""
    models: list[ModelPlan | None] = [
        ModelPlan(_model(m, f"{sweep.path}: models[{i}]", defaults)) for i, m in enumerate(sweep.models)] or [None]
    out = []
    for i, (plan, samples, tier, seed) in enumerate(itertools.product(
            models, sweep.samples or [None], sweep.tiers or [None], sweep.seeds or [None])):
        plan = plan or base.plan
        stages = {"samples": samples, "seed": seed}
        changes = {k: v for k, v in stages.items() if v is not None}
        plan = ModelPlan(replace(plan.small, **changes), replace(plan.large, **changes) if plan.large else None)
        validation = base.generate.validation
        validation = replace(validation, tier=tier or validation.tier,
                             seed=seed if seed is not None else validation.seed)
        settings = replace(base, plan=plan, generate=replace(base.generate, validation=validation))
        model = plan.small
        label = (f"{i + 1:02d}-{_slug(model.backend)}-{_slug(Path(model.model).name)}-n{model.samples}"
                 f"-{validation.tier}-seed{model.seed}")
        out.append(Configuration(label, settings))
    return out


def default_sweep_id(spec_dir: Path, configs: list[Configuration]) -> str:
    """The sweep directory's name under runs/ngs/: from the folder and every configuration,
    so the same command resumes the same sweep."""
    digest = hashlib.sha256(canonical_json({"dir": str(spec_dir.resolve()),
                                            "configurations": [c.settings.to_json() for c in configs]}).encode())
    return f"sweep-{spec_dir.resolve().name}-{digest.hexdigest()[:10]}"


def prepare_sweep_dir(sweep_dir: Path, sweep: Sweep, configs: list[Configuration]) -> Path:
    """Create or reopen a sweep directory and write its `sweep.json` (which run directory holds
    which configuration; report reads it). Each run directory refuses other settings itself."""
    if sweep_dir.exists() and not sweep_dir.is_dir():
        raise UserError(f"{sweep_dir}: not a directory (give --output a directory)")
    if sweep_dir.is_dir() and any(sweep_dir.iterdir()) and not (sweep_dir / FILENAME).is_file():
        raise UserError(f"{sweep_dir}: not empty and not a sweep directory (no {FILENAME})")
    for c in configs:  # a changed sweep file meets an old run here, before anything runs
        check_run_dir(sweep_dir / c.label, c.settings)
    doc = {"schema": SCHEMA, "sweep_file": str(sweep.path),
           "configurations": [{"label": c.label, "run_dir": c.label, "settings": c.settings.to_json()}
                              for c in configs]}
    return atomic_write_text(sweep_dir / FILENAME, json.dumps(doc, indent=2) + "\n")


def sweep_runs(sweep_dir: Path) -> list[tuple[str, Path]] | None:
    """(label, run directory) of every configuration of a sweep directory; None when it is not one."""
    path = sweep_dir / FILENAME
    if not path.is_file():
        return None
    try:
        doc = json.loads(path.read_text())
        return [(c["label"], sweep_dir / c["run_dir"]) for c in doc["configurations"]]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{path}: unreadable sweep file ({exc})") from None

