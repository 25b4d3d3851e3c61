"""Model choice and the generate -> validate -> rank loop, with two-stage escalation.

One stage: sample every requested hole with one model, merge the distinct
candidates into the hole's ranking, validate the new ones up to the chosen tier,
rank. Two stages (`--two-stage`): a small model first; only the holes where no
candidate passes the chosen tier go to the large model. Each candidate records
the stage (and model) that first produced it.

The model pair comes from options (`--model`, `--large-model`, ...) or from a
config file, JSON or TOML:

    [small]                      {"small": {"backend": "mlx", "model": "smollm2-135m",
    backend = "mlx"                         "samples": 20},
    model = "smollm2-135m"        "large": {"backend": "openai", "model": "qwen2.5-7b",
    samples = 20                            "base_url": "http://127.0.0.1:8080/v1"}}
    [large]
    backend = "openai"
    model = "qwen2.5-7b"
    base_url = "http://127.0.0.1:8080/v1"

Keys of a stage: backend, model, samples, temperature, top_p, seed, max_tokens,
constrained, and backend options (base_url, grammar_field, concurrency, max_retries, device,
batch_size).
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from ..errors import UserError
from ..neural.backend import Backend, SampleSettings, StopCheck, make_backend
from ..neural.cache import SampleCache
from ..neural.hints import hints_for_spec
from ..neural.progress import Progress, emit
from ..neural.sampling import HoleSamples
from ..formats.model import Spec
from ..verify.candidate import rank, tier_level
from ..verify.tiers import ValidationSettings, validate
from ..wording import noun
from .aggregate import HoleRanking, add_samples

STAGE_KEYS = ("backend", "model", "samples", "temperature", "top_p", "seed", "max_tokens", "constrained")
BACKEND_OPTION_KEYS = ("base_url", "grammar_field", "concurrency", "max_retries", "device", "batch_size")


@dataclass(frozen=True)
class ModelChoice:
    backend: str
    model: str
    samples: int = 10
    temperature: float = 0.8
    top_p: float = 0.95
    seed: int = 0
    max_tokens: int = 96
    constrained: bool = True
    options: tuple[tuple[str, Any], ...] = ()  # backend options, sorted

    def settings(self) -> SampleSettings:
        return SampleSettings(n=self.samples, temperature=self.temperature, top_p=self.top_p, seed=self.seed,
                              max_tokens=self.max_tokens)

    def label(self) -> str:
        return f"{self.backend}:{self.model}"

    def to_json(self) -> dict[str, Any]:
        out = {k: getattr(self, k) for k in STAGE_KEYS}
        out.update(dict(self.options))
        return out


@dataclass(frozen=True)
class ModelPlan:
    small: ModelChoice  # the only model when `large` is None
    large: ModelChoice | None = None

    @property
    def two_stage(self) -> bool:
        return self.large is not None

    def choices(self) -> list[ModelChoice]:
        return [self.small] + ([self.large] if self.large is not None else [])

    def to_json(self) -> dict[str, Any]:
        return {"small": self.small.to_json(), "large": self.large.to_json() if self.large else None}


# ---------------------------------------------------------------- config files
def stage_from_mapping(data: Any, where: str, defaults: ModelChoice | None) -> ModelChoice:
    if not isinstance(data, Mapping):
        raise UserError(f"{where}: expected a table/object with backend and model")
    unknown = sorted(set(data) - set(STAGE_KEYS) - set(BACKEND_OPTION_KEYS))
    if unknown:
        raise UserError(f"{where}: unknown {noun(len(unknown), 'key')} {', '.join(unknown)} "
                        f"(known: {', '.join(STAGE_KEYS + BACKEND_OPTION_KEYS)})")
    base = defaults or ModelChoice(backend="mlx", model="")
    values: dict[str, Any] = {}
    types = {"backend": str, "model": str, "samples": int, "temperature": (int, float), "top_p": (int, float),
             "seed": int, "max_tokens": int, "constrained": bool}
    for key in STAGE_KEYS:
        if key in data:
            v = data[key]
            if isinstance(v, bool) and key != "constrained" or not isinstance(v, types[key]):
                raise UserError(f"{where}.{key}: expected {getattr(types[key], '__name__', 'a number')}, "
                                f"got {type(v).__name__}")
            values[key] = v
    options = dict(base.options) if defaults is None else {}
    options.update({k: data[k] for k in BACKEND_OPTION_KEYS if k in data})
    choice = replace(base, **values, options=tuple(sorted(options.items())))
    if not choice.model:
        raise UserError(f"{where}.model: missing (a model path or alias)")
    return choice


def load_config_file(path: str | Path, what: str) -> Any:
    """The data of a JSON or TOML (by suffix) config file; UserError naming the file otherwise."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as exc:
        raise UserError(f"{p}: cannot read the {what} ({exc.strerror or exc})") from None
    if p.suffix.lower() == ".toml":
        try:
            import tomllib
        except ImportError:  # Python 3.10
            try:
                import tomli as tomllib  # type: ignore[no-redef]
            except ImportError:
                raise UserError(f"{p}: reading TOML needs Python 3.11+ or the package 'tomli'") from None
        try:
            return tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise UserError(f"{p}: not valid TOML ({exc})") from None
    try:
        return json.loads(text)
    except ValueError as exc:
        raise UserError(f"{p}: not valid JSON ({exc})") from None


def plan_from_config(path: str | Path, defaults: ModelChoice | None = None) -> ModelPlan:
    """A ModelPlan from a JSON or TOML file with a `small` (or `model`) and optional `large` table."""
    p = Path(path)
    data = load_config_file(p, "model config")
    if not isinstance(data, dict):
        raise UserError(f"{p}: expected an object with `small` and optional `large`")
    unknown = sorted(set(data) - {"small", "large", "model"})
    if unknown:
        raise UserError(f"{p}: unknown top-level {noun(len(unknown), 'key')} {', '.join(unknown)} (known: small, large)")
    first = data.get("small", data.get("model"))
    if first is None:
        raise UserError(f"{p}: no `small` table (the first-stage model)")
    small = stage_from_mapping(first, f"{p}: small", defaults)
    large = stage_from_mapping(data["large"], f"{p}: large", small) if "large" in data else None
    return ModelPlan(small, large)


# ---------------------------------------------------------------- backends, once per process
_BACKENDS: dict[tuple[str, str, tuple[tuple[str, Any], ...]], Backend] = {}


def backend_for(choice: ModelChoice) -> Backend:
    """One backend object per (backend, model, options): local models load once per process."""
    key = (choice.backend, choice.model, choice.options)
    if key not in _BACKENDS:
        options = {k: v for k, v in choice.options if v is not None}
        backend = make_backend(choice.backend, choice.model, **options)
        if choice.backend == "replay":  # cheap to make, and its file may have changed since
            return backend
        _BACKENDS[key] = backend
    return _BACKENDS[key]


# ---------------------------------------------------------------- generate, validate, rank
@dataclass
class GenerateOptions:
    validation: ValidationSettings = field(default_factory=ValidationSettings)
    cache: SampleCache | None = None
    examples_in_prompt: bool = True
    progress: Progress | None = None  # neural progress events, and each candidate's tier result


def report_validation(progress: Progress | None, ranking: HoleRanking, terms: Sequence[str], tier: str) -> None:
    """One `validated` event per candidate in `terms` (the new ones of a stage)."""
    if progress is None or tier == "none":
        return
    by_term = {c.term: c for c in ranking.candidates}
    for term in terms:
        c = by_term.get(term)
        if c is None:
            continue
        failure = c.checks.failure()
        emit(progress, "validated", ranking.hole_id, term=term, tier=tier, passed=c.checks.passes(tier),
             reason=(failure or {}).get("reason", ""))


def rank_samples(spec: Spec, samples: HoleSamples, rankings: dict[str, HoleRanking],
                 validation: ValidationSettings, stage: str = "single", round_no: int = 1,
                 time_s: float | None = None, progress: Progress | None = None) -> HoleRanking:
    """Merge one hole's samples into `rankings`, validate the new candidates, rank.

    Also the entry point for callers that sampled themselves (`esso-ngs hints`).
    """
    if time_s is None:
        time_s = float(samples.stats.get("prefill_s", 0.0)) + float(samples.stats.get("gen_s", 0.0))
    hole_id = samples.hole_id
    ranking = rankings.setdefault(hole_id, HoleRanking(hole_id, validation.tier))
    new = add_samples(ranking, samples, stage, round_no, time_s)
    if samples.stopped and tier_level(validation.tier) > tier_level("cheap"):
        # Stopped: nobody waits for this ranking but the records; the examples and Z3
        # tiers would hold the generator's thread (and the caller joining it) for seconds.
        validation = replace(validation, tier="cheap")
    emit(progress, "validating", hole_id, candidates=len(new), tier=validation.tier)
    # Z3's per-hole cap goes to the best candidates: rank by what is known first.
    ranking.candidates = rank(ranking.candidates)
    validate(spec, hole_id, ranking.candidates, validation, ranking.times)
    ranking.candidates = rank(ranking.candidates)
    report_validation(progress, ranking, [c.term for c in new], validation.tier)
    return ranking


def run_stage(spec: Spec, choice: ModelChoice, stage: str, hole_ids: Sequence[str],
              rankings: dict[str, HoleRanking], options: GenerateOptions, round_no: int = 1,
              counterexamples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
              should_stop: StopCheck | None = None) -> None:
    """Sample `hole_ids` with `choice`, then merge, validate and rank each hole. Once
    `should_stop()` says yes, the hole in progress keeps what it has and no other starts."""
    if not hole_ids:
        return
    backend = backend_for(choice)
    # Replayed samples are recorded already: caching them again would only fill the disk.
    cache = None if choice.backend == "replay" else options.cache
    for hole_id in hole_ids:
        if should_stop is not None and should_stop():
            return
        t0 = time.perf_counter()
        [samples] = hints_for_spec(spec, backend, choice.settings(), constrained=choice.constrained,
                                   cache=cache, hole_ids=[hole_id], counterexamples=counterexamples,
                                   examples=options.examples_in_prompt, on_event=options.progress,
                                   should_stop=should_stop)
        rank_samples(spec, samples, rankings, options.validation, stage, round_no, time.perf_counter() - t0,
                     options.progress)


def generate_ranked(spec: Spec, plan: ModelPlan, options: GenerateOptions,
                    hole_ids: Sequence[str] | None = None,
                    prior: Mapping[str, HoleRanking] | None = None, round_no: int = 1,
                    counterexamples: Mapping[str, Sequence[Mapping[str, Any]]] | None = None,
                    should_stop: StopCheck | None = None) -> dict[str, HoleRanking]:
    """Ranked, validated candidates per hole, escalating to the large model where needed.
    `should_stop`: asked between holes and stages and inside the model's work; a hole
    stopped before it began has an empty ranking."""
    wanted = [h.hole_id for h in spec.synth.holes if hole_ids is None or h.hole_id in hole_ids]
    rankings: dict[str, HoleRanking] = dict(prior or {})
    tier = options.validation.tier
    run_stage(spec, plan.small, "small" if plan.two_stage else "single", wanted, rankings, options,
              round_no, counterexamples, should_stop)
    if plan.large is not None:
        stuck = [h for h in wanted if h in rankings and not rankings[h].passing(tier)]
        run_stage(spec, plan.large, "large", stuck, rankings, options, round_no, counterexamples, should_stop)
    return {h: rankings.get(h) or HoleRanking(h, tier) for h in wanted}
