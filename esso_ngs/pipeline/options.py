"""Command-line options of the hint pipeline, shared by `batch` and the ESSO extension.

Destinations are prefixed `nh_` so they never collide with a host's own; an
option string a host already uses (ESSO's CLI may have a `--model`) is
registered as `--nh-<name>` instead. The exception is `--seed`: one seed per run, so a
host's own `--seed` seeds the sampling too (`--sample-seed`, the old spelling, still
overrides it). Old spellings stay accepted as hidden aliases (esso_ngs/argutil.py).
"""
from __future__ import annotations

import argparse
from typing import Any

from ..argutil import add_hidden_alias
from ..errors import UserError
from ..neural.backend import BACKENDS
from ..neural.cache import SampleCache
from ..verify.candidate import TIERS
from ..verify.tiers import DEFAULT_CANDIDATE_TIMEOUT_MS, DEFAULT_EXAMPLE_INPUTS, DEFAULT_TIER, ValidationSettings
from .progress_view import view_from_flags
from .two_stage import GenerateOptions, ModelChoice, ModelPlan, plan_from_config

BACKEND_CHOICES = tuple(sorted(BACKENDS))


def _add(group: Any, parser: argparse.ArgumentParser, name: str, *, old: str | None = None,
         **kwargs: Any) -> None:
    """Add `--name` (`--nh-name` when the host has it), and the old spelling `--old` hidden."""
    flag = f"--{name}" if not _taken(parser, f"--{name}") else f"--nh-{name}"
    group.add_argument(flag, **kwargs)
    if old and not _taken(parser, f"--{old}"):
        alias = {k: v for k, v in kwargs.items() if k in ("dest", "action", "type", "choices")}
        add_hidden_alias(group, f"--{old}", **alias)


def _taken(parser: argparse.ArgumentParser, flag: str) -> bool:
    return flag in getattr(parser, "_option_string_actions", {})


def add_model_options(parser: argparse.ArgumentParser, *, rounds: bool = False,
                      title: str = "neural hints") -> None:
    """Model, sampling and validation options (dests nh_*)."""
    g = parser.add_argument_group(title)
    _add(g, parser, "model", dest="nh_model", metavar="M",
         help="model directory or alias (`esso-ngs models list`); for replay a hints file or sample cache")
    _add(g, parser, "backend", dest="nh_backend", choices=BACKEND_CHOICES, default="auto",
         help="model backend (default auto: mlx on Apple Silicon, else the faster of transformers and "
              "mlx with OpenBLAS on this machine, measured once)")
    _add(g, parser, "two-stage", dest="nh_two_stage", action="store_true",
         help="small model first; the large model only for holes with no candidate passing --validate")
    _add(g, parser, "large-model", dest="nh_large_model", metavar="M", help="the second-stage model")
    _add(g, parser, "large-backend", dest="nh_large_backend", choices=BACKEND_CHOICES,
         help="backend of the large model (default: --backend)")
    _add(g, parser, "models-config", dest="nh_config", metavar="FILE",
         help="JSON or TOML file with [small] and optional [large] model settings (overrides --model)")
    _add(g, parser, "samples", dest="nh_samples", type=int, default=10, metavar="N",
         help="samples per hole and stage (default 10)")
    _add(g, parser, "temp", dest="nh_temp", type=float, metavar="T", default=0.8, help="temperature (default 0.8)")
    _add(g, parser, "top-p", dest="nh_top_p", type=float, metavar="P", default=0.95, help="nucleus mass (default 0.95)")
    # One seed per run: a host that has its own `--seed` (synth, batch) seeds sampling with it too.
    if _taken(parser, "--seed"):
        add_hidden_alias(g, "--sample-seed", dest="nh_seed", type=int)
    else:
        _add(g, parser, "seed", old="sample-seed", dest="nh_seed", type=int, metavar="S", default=0,
             help="sampling seed (default 0)")
    _add(g, parser, "max-tokens", dest="nh_max_tokens", type=int, metavar="N", default=96,
         help="token limit per sample (default 96)")
    _add(g, parser, "no-constrain", dest="nh_no_constrain", action="store_true",
         help="sample without the grammar mask (candidates are still checked)")
    _add(g, parser, "base-url", dest="nh_base_url", metavar="URL", help="openai backend: server URL")
    _add(g, parser, "server-grammar-field", dest="nh_server_grammar_field", metavar="FIELD",
         help="openai backend: request field taking the Lark grammar (vLLM: structured_outputs, "
              "older vLLM: guided_grammar; default none: outputs are filtered by the grammar)")
    _add(g, parser, "server-concurrency", dest="nh_server_concurrency", type=int, metavar="N",
         help="openai backend: requests in flight per worker (default 4)")
    _add(g, parser, "validate", dest="nh_validate", choices=TIERS, default=DEFAULT_TIER,
         help=f"validation tier for candidates: none, cheap (grammar + style), examples (batched "
              f"evaluation on sampled inputs), full (Z3) (default {DEFAULT_TIER})")
    _add(g, parser, "example-inputs", dest="nh_example_inputs", type=int, default=DEFAULT_EXAMPLE_INPUTS,
         metavar="N", help=f"examples tier: sampled inputs per obligation (default {DEFAULT_EXAMPLE_INPUTS})")
    _add(g, parser, "candidate-timeout-ms", dest="nh_candidate_timeout_ms", type=int,
         default=DEFAULT_CANDIDATE_TIMEOUT_MS, metavar="MS",
         help=f"full tier: Z3 time limit per candidate (default {DEFAULT_CANDIDATE_TIMEOUT_MS})")
    _add(g, parser, "no-cache", old="no-sample-cache", dest="nh_no_cache", action="store_true",
         help="do not read or write the model sample cache")
    _add(g, parser, "quiet", dest="nh_quiet", action="store_true",
         help="no progress lines from the model (loading, prompt, samples, tokens/s) on stderr")
    if rounds:
        _add(g, parser, "hint-rounds", dest="nh_rounds", type=int, default=2, metavar="R",
             help="prompting rounds per hole: a further round (with the failed candidates' "
                  "counterexamples) only when no candidate passes --validate (default 2)")


def _backend_options(backend: str, args: argparse.Namespace) -> tuple[tuple[str, Any], ...]:
    if backend != "openai":
        return ()
    given = {"base_url": getattr(args, "nh_base_url", None),
             "grammar_field": getattr(args, "nh_server_grammar_field", None),
             "concurrency": getattr(args, "nh_server_concurrency", None)}
    return tuple(sorted((k, v) for k, v in given.items() if v is not None))


def choice_from_args(args: argparse.Namespace, backend: str, model: str) -> ModelChoice:
    """One model with the sampling options (range-checked, before anything is written)."""
    choice = ModelChoice(backend=backend, model=model, samples=args.nh_samples, temperature=args.nh_temp,
                         top_p=args.nh_top_p, seed=sampling_seed(args), max_tokens=args.nh_max_tokens,
                         constrained=not args.nh_no_constrain, options=_backend_options(backend, args))
    choice.settings()
    return choice


def sampling_seed(args: argparse.Namespace) -> int:
    """`--sample-seed` (old spelling) when given, else the host's `--seed`, else 0."""
    seed = getattr(args, "nh_seed", None)
    if seed is None:
        seed = getattr(args, "seed", None)
    return seed if isinstance(seed, int) else 0


def plan_from_args(args: argparse.Namespace) -> ModelPlan:
    """The model plan the options describe (UserError on a missing or inconsistent choice)."""
    small = choice_from_args(args, args.nh_backend, args.nh_model or "")
    if args.nh_config:
        plan = plan_from_config(args.nh_config, small)
        if args.nh_two_stage and plan.large is None:
            raise UserError(f"--two-stage: {args.nh_config} has no [large] model")
        return plan
    if not args.nh_model:
        raise UserError("no model: pass --model PATH_OR_ALIAS (or --models-config FILE)")
    if args.nh_two_stage:
        if not args.nh_large_model:
            raise UserError("--two-stage needs --large-model (or a [large] table in --models-config)")
        backend = args.nh_large_backend or args.nh_backend
        return ModelPlan(small, choice_from_args(args, backend, args.nh_large_model))
    if args.nh_large_model:
        raise UserError("--large-model is only used with --two-stage")
    return ModelPlan(small)


def generate_options_from_args(args: argparse.Namespace) -> GenerateOptions:
    """`--quiet` silences progress; a host's `--json` turns it into JSON lines on stderr."""
    validation = ValidationSettings(tier=args.nh_validate, example_inputs=args.nh_example_inputs,
                                    candidate_timeout_ms=args.nh_candidate_timeout_ms, seed=sampling_seed(args))
    progress = view_from_flags(quiet=bool(getattr(args, "nh_quiet", False)),
                               as_json=bool(getattr(args, "json", False)))
    return GenerateOptions(validation=validation, cache=None if args.nh_no_cache else SampleCache(),
                           progress=progress)
