"""`--backend auto` (the default): the fastest local backend on this machine, measured once.

- Apple Silicon: mlx (Metal), no measuring.
- Linux and others: the candidates are transformers (torch's CPU kernels) and
  mlx with a system OpenBLAS preloaded (blas.py); each runs a small probe (a
  384-token prefill, then 6 decoding steps of 10 rows over that context, in a
  child process so the OpenBLAS preload applies to it alone) and the one with
  the lower estimated time for a typical hole wins. The decoding steps see a
  real context, as both backends' rows share the prompt's KV cache
  (shared_prompt_*.py). mlx with its bundled BLAS is a candidate only when
  nothing else is installed (its prefill is 30-100x slower). On a machine shared
  with other work the probe is noisy (measured at load 4: it chose mlx, which was
  then 1.4x slower end to end than transformers), so a choice measured on a busy
  machine is measured again once the load has halved; `ESSO_NGS_AUTO_BACKEND` pins it.

The choice is remembered in `$ESSO_NGS_CACHE/backend-choice.json`, keyed by the
machine (CPU model, core count, OpenBLAS path, framework versions) and the
model's hash, so it is measured once per machine and model. Where it is measured:
`synth --neural-hints` settles it in the model's own process (`settle_auto`, after
the search's head start; `preload_for` says what that process starts with), never
in the synthesizer's, whose budget counts from the process start; `hints` and
`batch` settle it before any work (`prepare_process`, which may re-execute).
`python -m esso_ngs.neural.auto BACKEND MODEL_DIR` is the probe itself.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import platform
import subprocess
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from ..cpu import load_average
from ..errors import UserError
from .blas import GUARD_ENV, find_openblas, preload_env, preloaded, reexec_with_preload
from .models import LocalModel, cache_dir, model_dir_hash
from .prepare import resolve_or_prepare
from .progress import Progress

CHOICE_SCHEMA = "esso-ngs-backend-choice/v1"
FORCE_ENV = "ESSO_NGS_AUTO_BACKEND"  # "mlx" or "transformers": what auto means, without measuring
# What a typical hole costs: the part of the prompt not cached (~500 tokens) and
# ~40 batched decoding steps. The estimate only ranks the candidates.
TYPICAL_PROMPT_TOKENS = 500
TYPICAL_STEPS = 40
PROBE_TIMEOUT_S = 240
BUSY_LOAD_PER_CORE = 0.75  # a choice measured above this load is measured again once the load halves

Probe = Callable[[str, Path, "Path | None"], "dict[str, float] | str | None"]  # measures, or why not


@dataclass(frozen=True)
class BackendChoice:
    backend: str  # "mlx" or "transformers"
    openblas: str | None = None  # the library mlx runs with (preloaded), None: Metal or bundled BLAS
    reason: str = ""
    measured: dict[str, dict[str, float]] = field(default_factory=dict)  # candidate -> probe result
    load: float | None = None  # the 1-minute load average when measured (None: not measured)

    def label(self) -> str:
        """Short name for records and `-v`: `auto=mlx+openblas`, `auto=transformers`, ..."""
        extra = "+openblas" if self.openblas else ""
        return f"auto={self.backend}{extra}"

    def describe(self) -> str:
        parts = [f"backend auto: {self.backend}" + (f" with OpenBLAS ({self.openblas})" if self.openblas else "")]
        if self.measured:
            parts.append("; ".join(f"{name} {m['prompt_tok_s']:.0f} prompt tok/s, {m['step_s'] * 1000:.0f} ms/step"
                                   for name, m in sorted(self.measured.items())))
        if self.reason:
            parts.append(self.reason)
        return " (".join(parts[:1]) + (" (" + "; ".join(parts[1:]) + ")" if len(parts) > 1 else "")

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "BackendChoice":
        load = data.get("load")
        return cls(str(data["backend"]), data.get("openblas"), str(data.get("reason", "")),
                   {str(k): dict(v) for k, v in dict(data.get("measured", {})).items()},
                   float(load) if load is not None else None)

    def measured_busy(self, now_load: float, cores: int) -> bool:
        """Measured while other work kept the cores busy, and the machine is much quieter
        now: the probe then ranked the backends by how they share a busy CPU (measured at
        load 4 on 2 cores it chose the one that was 1.45x slower on the quiet machine)."""
        return (self.load is not None and self.load >= BUSY_LOAD_PER_CORE * cores
                and now_load <= self.load / 2)


def _installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def _version(dist: str) -> str:
    from importlib.metadata import PackageNotFoundError, version
    try:
        return version(dist)
    except PackageNotFoundError:
        return "-"


# Bumped when the decoding path changes what the probe would measure (2: rows share
# the prompt's KV cache), so that a choice remembered from the old path is measured again.
PROBE_VERSION = 2


def machine_key(model_hash: str, openblas: Path | None) -> str:
    material = {"probe": PROBE_VERSION, "machine": platform.machine(), "system": platform.system(), "cpu": _cpu_model(),
                "cores": os.cpu_count(), "openblas": str(openblas) if openblas else None,
                "mlx": _version("mlx"), "torch": _version("torch"), "model": model_hash}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:24]


def choices_path() -> Path:
    return cache_dir() / "backend-choice.json"


def _read_choices() -> dict[str, Any]:
    try:
        data = json.loads(choices_path().read_text())
        return dict(data["choices"]) if data.get("schema") == CHOICE_SCHEMA else {}
    except (OSError, ValueError, KeyError, TypeError):
        return {}


def _write_choice(key: str, choice: BackendChoice) -> None:
    from ..fsutil import atomic_write_text
    choices = _read_choices()
    choices[key] = choice.to_json()
    try:
        atomic_write_text(choices_path(), json.dumps({"schema": CHOICE_SCHEMA, "choices": choices},
                                                     indent=2, sort_keys=True) + "\n")
    except OSError:
        pass  # a read-only cache only costs measuring again


def probe_in_child(backend: str, model_dir: Path, openblas: Path | None) -> dict[str, float] | str:
    """Run the speed probe in a child process (with `openblas` preloaded): its measures, or
    why it failed (the last line the child printed)."""
    env = dict(os.environ)
    env[GUARD_ENV] = "probe"
    if openblas is not None:
        env.update(preload_env(openblas))
    try:
        proc = subprocess.run([sys.executable, "-m", "esso_ngs.neural.auto", backend, str(model_dir)],
                              capture_output=True, text=True, timeout=PROBE_TIMEOUT_S, env=env, check=False)
    except subprocess.TimeoutExpired:
        return f"no result within {PROBE_TIMEOUT_S} s"
    except (OSError, subprocess.SubprocessError) as exc:
        return str(exc)
    lines = proc.stdout.strip().splitlines()
    if proc.returncode != 0 or not lines:
        said = proc.stderr.strip().splitlines()
        return said[-1][:300] if said else f"exit status {proc.returncode}"
    try:
        result = json.loads(lines[-1])
        return {k: float(v) for k, v in result.items()}
    except (ValueError, TypeError, AttributeError):
        return f"unreadable result: {lines[-1][:200]}"


def estimated_s(measure: dict[str, float]) -> float:
    return TYPICAL_PROMPT_TOKENS / max(measure["prompt_tok_s"], 1e-9) + TYPICAL_STEPS * measure["step_s"]


# Choices not remembered on disk (the probes failed, or the cache is read-only), settled
# once per process: the probes must not run again for every backend this process makes.
_SETTLED: dict[str, BackendChoice] = {}


def _without_measuring(model: LocalModel) -> tuple[BackendChoice | None, str, Path | None]:
    """(the choice known without measuring or None, its cache key, the system OpenBLAS)."""
    forced = os.environ.get(FORCE_ENV, "")
    if forced:
        if forced not in ("mlx", "transformers"):
            raise UserError(f"${FORCE_ENV} must be mlx or transformers, got {forced!r}")
        lib = find_openblas() if forced == "mlx" else None
        return BackendChoice(forced, str(lib) if lib else None, f"set by ${FORCE_ENV}"), "", lib
    if sys.platform == "darwin" and platform.machine() == "arm64":
        return BackendChoice("mlx", None, "Apple Silicon: Metal"), "", None
    openblas = find_openblas()
    key = machine_key(model_dir_hash(model.path), openblas)
    if key in _SETTLED:
        return _SETTLED[key], key, openblas
    known = _read_choices().get(key)
    if known is not None:
        try:
            remembered = BackendChoice.from_json(known)
            if not remembered.measured_busy(load_average() or 0.0, os.cpu_count() or 1):
                return remembered, key, openblas
        except (KeyError, TypeError, ValueError):
            pass
    return None, key, openblas


def preload_for(backend: str, model: str) -> Path | None:
    """The OpenBLAS a fresh process that will run `backend` for `model` should start with
    preloaded, decided without measuring (hint_process.py spawns the model's process with
    it): mlx's choice when it is known; when `auto` has not measured this model yet, the
    library mlx would run with, so that the process can measure and then use either."""
    if backend == "mlx":
        return find_openblas()
    if backend != "auto":
        return None
    known, _, openblas = _without_measuring(resolve_or_prepare(model))
    if known is not None:
        return Path(known.openblas) if known.openblas else None
    return openblas if _installed("mlx") and _installed("mlx_lm") else None


def choose_backend(model: LocalModel, probe: Probe = probe_in_child,
                   log: Callable[[str], None] | None = None) -> BackendChoice:
    """The backend `auto` means for `model` on this machine (remembered after the first time)."""
    known, key, openblas = _without_measuring(model)
    if known is not None:
        return known
    now_load = load_average() or 0.0
    remembered = _read_choices().get(key)
    if remembered is not None and log is not None:
        log(f"backend auto: measured at load {remembered.get('load') or 0.0:.1f}, the load is {now_load:.1f} now: "
            "measuring again")
    choice = _measure(model, key, openblas, now_load, probe, log)
    if _read_choices().get(key) != choice.to_json():  # not remembered (failed probes, a read-only cache)
        _SETTLED[key] = choice
    return choice


def _measure(model: LocalModel, key: str, openblas: Path | None, now_load: float, probe: Probe,
             log: Callable[[str], None] | None) -> BackendChoice:
    candidates: list[tuple[str, Path | None]] = []
    if _installed("torch") and _installed("transformers"):
        candidates.append(("transformers", None))
    if _installed("mlx") and _installed("mlx_lm") and openblas is not None:
        candidates.append(("mlx", openblas))
    if not candidates:
        if _installed("mlx") and _installed("mlx_lm"):
            choice = BackendChoice("mlx", None, "the only backend installed; no system OpenBLAS found "
                                                "(prompts are slow: install Debian's libopenblas0)")
            _write_choice(key, choice)
            return choice
        raise UserError("no local model backend is installed: pip install 'mlx[cpu]' mlx-lm, "
                        "or torch==2.13.0 transformers")
    if len(candidates) == 1:
        name, lib = candidates[0]
        choice = BackendChoice(name, str(lib) if lib else None, "the only fast backend installed")
        _write_choice(key, choice)
        return choice
    if log is not None:
        log(f"backend auto: measuring {' and '.join(n for n, _ in candidates)} on this machine once "
            f"(remembered in {choices_path()})")
    measured: dict[str, dict[str, float]] = {}
    for name, lib in candidates:
        result = probe(name, model.path, lib)
        if isinstance(result, dict):
            measured[name] = result
        elif log is not None:
            log(f"backend auto: the {name} speed probe failed: {result or 'no result'}")
    if not measured:
        name, lib = candidates[0]
        return BackendChoice(name, str(lib) if lib else None, "the speed probes failed; not remembered")
    best = min(measured, key=lambda n: estimated_s(measured[n]))
    lib = dict(candidates)[best]
    choice = BackendChoice(best, str(lib) if lib else None, "measured", measured, round(now_load, 2))
    _write_choice(key, choice)
    return choice


def prepare_process(backend: str, model: str, log: Callable[[str], None] | None = None) -> BackendChoice | None:
    """Before any work: settle `auto`, and when mlx runs with an OpenBLAS this process
    has not preloaded, re-execute the process with it (blas.py; at most once).

    Returns the auto choice (None for an explicit backend).
    """
    if backend not in ("auto", "mlx"):
        return None
    if backend == "mlx":
        lib = find_openblas()
        if lib is not None and not preloaded(lib):
            if log is not None:
                log(f"backend mlx: re-executing with OpenBLAS preloaded ({lib})")
            reexec_with_preload(lib, "mlx")
        return None
    choice = choose_backend(resolve_or_prepare(model), log=log)
    if choice.openblas and not preloaded(Path(choice.openblas)) and Path(choice.openblas).is_file():
        if log is not None:
            log(f"{choice.describe()}: re-executing with it preloaded")
        reexec_with_preload(Path(choice.openblas), "auto")
    return choice


def make_auto_backend(model: str, log: Callable[[str], None] | None = None, **options: Any) -> Any:
    """The backend `auto` chose for `model`, built with the options it accepts; it
    carries the choice (`.choice`, `.choice_label`) for progress lines and records.
    `log` hears about measuring (the first time for a model on this machine)."""
    import inspect

    from .backend import BACKENDS, make_backend
    choice = runnable(choose_backend(resolve_or_prepare(model), log=log), log)
    module_name, cls_name = BACKENDS[choice.backend].split(":")
    import importlib
    cls = getattr(importlib.import_module(module_name), cls_name)
    accepted = inspect.signature(cls).parameters
    backend = make_backend(choice.backend, model, **{k: v for k, v in options.items() if k in accepted})
    backend.choice = choice  # type: ignore[attr-defined]
    backend.choice_label = choice.label()  # type: ignore[attr-defined]
    return backend


def settle_auto(model: str, progress: Progress | None = None) -> BackendChoice:
    """Settle what `auto` means for `model` in this process, measuring it the first time,
    with `backend` events: what is measured and what was chosen (the backends made
    afterwards reuse the choice)."""
    from .progress import emit
    choice = runnable(choose_backend(resolve_or_prepare(model),
                                     log=lambda m: emit(progress, "backend", message=m, measuring=True)),
                      lambda m: emit(progress, "backend", message=m))
    emit(progress, "backend", message=choice.describe(), backend=choice.label())
    return choice


def runnable(choice: BackendChoice, log: Callable[[str], None] | None = None) -> BackendChoice:
    """`choice`, or what this process can run in its place: mlx measured with an OpenBLAS
    this process did not start with would prefill 30-100x slower than measured, so
    transformers (when installed) runs here instead. The CLI and the hint process start
    with the library preloaded; a library caller's process may not have."""
    lib = Path(choice.openblas) if choice.openblas else None
    if lib is None or preloaded(lib) or not (_installed("torch") and _installed("transformers")):
        return choice
    if log is not None:
        log(f"backend auto: mlx was measured fastest with OpenBLAS ({lib}), which this process did not "
            "start with: transformers here")
    return BackendChoice("transformers", None, "mlx's OpenBLAS is not preloaded in this process",
                         choice.measured, choice.load)


def _probe_main(argv: list[str]) -> int:
    from .backend import make_backend
    name, model_dir = argv
    backend = make_backend(name, model_dir, prefix_cache=False)
    print(json.dumps(backend.speed_probe(prompt_tokens=384, rows=10, steps=6)))  # type: ignore[attr-defined]
    return 0


if __name__ == "__main__":
    sys.exit(_probe_main(sys.argv[1:]))
