"""`esso-ngs hints SPEC --model M`: sample candidate terms for each hole from a language model."""
from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from ..fsutil import output_file
from ..errors import UserError
from ..neural.backend import BACKENDS
from ..verify.candidate import TIERS
from ..verify.tiers import DEFAULT_CANDIDATE_TIMEOUT_MS, DEFAULT_TIER
from ..wording import plural

BACKEND_CHOICES = tuple(sorted(BACKENDS))


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("hints", help="sample candidate terms per hole from a local model",
                       description="Prompt a model with each hole's grammar and kernel context, sample N "
                                   "terms (grammar-constrained by default), and print the distinct "
                                   "candidates with frequency, log-probability and in-grammar status.")
    p.add_argument("spec", help="X_hole.yaml (its .synth.json is found beside it)")
    p.add_argument("--model", required=True,
                   # Option declarations resemble synth's (cli/synth_cmd.py): argparse boilerplate, each command's own help.
                   help="model directory or alias (see `esso-ngs models list`); for openai the server's "
                        "model name; for replay a hints file or sample-cache directory")
    p.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                   help="auto (default): mlx on Apple Silicon, else the faster of transformers and mlx with "
                        "OpenBLAS on this machine (measured once, remembered)")
    p.add_argument("--hole", action="append", help="only this hole (repeatable)")
    p.add_argument("--samples", type=int, default=10, help="samples per hole (default 10)")
    p.add_argument("--temp", type=float, default=0.8, help="temperature (default 0.8; 0 = greedy)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--seed", type=int, default=0, help="base seed; sample i uses a seed derived from it")
    p.add_argument("--max-tokens", type=int, default=96, help="token limit per sample (default 96)")
    p.add_argument("--no-constrain", action="store_true",
                   help="sample without the grammar mask (candidates are still checked)")
    p.add_argument("--prompt-mode", choices=("auto", "term", "list"), default="auto",
                   help="ask for one term per sample or a list (auto: term when constrained)")
    p.add_argument("--no-examples", action="store_true", help="leave the few-shot examples out of the prompt")
    p.add_argument("--no-cache", action="store_true", help="do not read or write the sample cache")
    p.add_argument("--base-url", help="openai backend: server URL (default $ESSO_NGS_OPENAI_BASE_URL "
                                      "or http://127.0.0.1:8080/v1)")
    p.add_argument("--server-grammar-field",
                   help="openai backend: request field that takes a Lark grammar (e.g. guided_grammar)")
    p.add_argument("--device", default="cpu", help="transformers backend: cpu, cuda, mps or auto")
    p.add_argument("--show-prompt", action="store_true", help="print each hole's prompt messages first")
    p.add_argument("--validate", choices=TIERS, default=DEFAULT_TIER,
                   help=f"validation tier that ranks the candidates: none, cheap (grammar + style), examples "
                        f"(batched evaluation on sampled inputs), full (Z3) (default {DEFAULT_TIER})")
    p.add_argument("--candidate-timeout-ms", type=int, default=DEFAULT_CANDIDATE_TIMEOUT_MS, metavar="MS",
                   help=f"full tier: Z3 time limit per candidate (default {DEFAULT_CANDIDATE_TIMEOUT_MS})")
    p.add_argument("-o", "--output", metavar="FILE", help="write the ranked candidates as an esso-llm-hints/v1 file")
    p.add_argument("--json", action="store_true",
                   help="machine-readable output (progress as JSON lines on stderr)")
    p.add_argument("--quiet", action="store_true", help="no progress lines on stderr")
    p.set_defaults(func=run)


def _backend_options(args: argparse.Namespace) -> dict[str, Any]:
    if args.backend == "openai":
        return {"base_url": args.base_url, "grammar_field": args.server_grammar_field}
    if args.backend == "transformers":
        return {"device": args.device}
    return {}


def run(args: argparse.Namespace) -> int:
    from ..neural.backend import SampleSettings, make_backend
    from ..neural.cache import SampleCache
    from ..neural.hints import hints_for_spec
    from ..neural.prompt import build_prompt
    from ..pipeline.hintsfile import write_ranked_hints
    from ..pipeline.progress_view import view_from_flags
    from ..pipeline.report import describe_ranking
    from ..verify.tiers import ValidationSettings
    from ..pipeline.two_stage import rank_samples
    from ..formats import load_spec

    spec = load_spec(args.spec)
    if args.output:
        output_file(args.output)  # refused before the model runs, not after
    known = [h.hole_id for h in spec.synth.holes]
    for hole in args.hole or ():
        if hole not in known:
            raise UserError(f"{spec.synth.path}: no hole {hole!r} (holes: {', '.join(known)})")
    settings = SampleSettings(n=args.samples, temperature=args.temp, top_p=args.top_p, seed=args.seed,
                              max_tokens=args.max_tokens)
    backend = make_backend(args.backend, args.model, **_backend_options(args))
    constrained = not args.no_constrain and backend.supports_constraints
    mode = None if args.prompt_mode == "auto" else args.prompt_mode
    if args.show_prompt:
        for hole in spec.synth.holes:
            if args.hole and hole.hole_id not in args.hole:
                continue
            default_mode = "term" if constrained or args.backend == "replay" else "list"
            prompt = build_prompt(spec, hole.hole_id, mode=mode or default_mode,
                                  examples=not args.no_examples)
            for m in prompt.messages:
                print(f"--- {m.role}\n{m.content}")
            print("---")
    cache = None if args.no_cache or args.backend == "replay" else SampleCache()
    progress = view_from_flags(quiet=args.quiet, as_json=args.json)
    results = hints_for_spec(spec, backend, settings, constrained=constrained, mode=mode, cache=cache,
                             hole_ids=args.hole, examples=not args.no_examples, on_event=progress)
    # Ranking, validation and the hints file are the pipeline's (one way to write hints files).
    validation = ValidationSettings(tier=args.validate, candidate_timeout_ms=args.candidate_timeout_ms,
                                    seed=args.seed)
    rankings: dict[str, Any] = {}
    for r in results:
        rank_samples(spec, r, rankings, validation, progress=progress)
    if args.output:
        path = write_ranked_hints(args.output, spec, rankings,
                                  {"tool": "esso-ngs hints", "settings": settings.to_json(),
                                   "constrained": constrained, "tier": args.validate})
        if not args.json:
            print(f"wrote {path}", file=sys.stderr)
    if args.json:
        print(json.dumps({"spec": spec.name, "holes": [r.to_json() for r in results],
                          "rankings": {h: rk.to_json() for h, rk in rankings.items()}}, indent=2))
        return 0
    for r in results:
        print(_describe(r))
        print(describe_ranking(rankings[r.hole_id]))
    return 0


def _describe(r: Any) -> str:
    how = "constrained" if r.constrained else "unconstrained"
    lines = [f"hole {r.hole_id}: {plural(r.n_samples, 'sample')} ({r.backend}:{r.model_id}, {how}, "
             f"{'cached' if r.from_cache else 'sampled'})"]
    dropped = []
    if r.n_token_limit:
        dropped.append(f"{r.n_token_limit} hit the token limit")
    if r.n_over_size:
        dropped.append(f"{r.n_over_size} grew past the style profile's max_ast_nodes")
    if r.n_unparsable:
        dropped.append(f"{r.n_unparsable} unparsable")
    if r.n_errors:
        dropped.append(f"{r.n_errors} decoding errors")
    if dropped:
        lines.append("  dropped: " + ", ".join(dropped))
    if not r.candidates:
        lines.append("  no candidates")
    for c in r.candidates:
        lp = f"{c.logprob:8.2f}" if c.logprob is not None else "       -"
        status = "in grammar" if c.in_grammar else "NOT in grammar"
        if c.in_grammar and c.style_fits is False:
            status = "over style limits"
        lines.append(f"  {c.count:3d}x  logprob {lp}  {status:<16}  {c.term}")
        if not c.in_grammar and c.explanation:
            lines.append(f"        {c.explanation}")
    if r.constrained and r.gen_tokens and not r.from_cache:
        lines.append(f"  mask cost {r.mask_ms_per_token:.3f} ms/token over {plural(r.gen_tokens, 'token')}")
    return "\n".join(lines)
