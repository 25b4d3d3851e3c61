"""Hint quality of a real model: per spec and hole, what N seeded samples are worth to
the synthesizer (which repairs near terms and seeds their subterms as cheap atoms).

    esso-ngs models prepare smollm2-135m        # once (scripts/setup.sh does it)
    python benchmarks/bench_hint_quality.py [--suite specs_hard] [--model smollm2-135m]
        [--backend auto] [--samples 10] [--seed 0] [--temp 0.8] [--top-p 0.95]
        [--max-tokens 96] [--md FILE --title TEXT] [PREFIX ...]

Samples come through the library's path (`neural.hints.hints_for_spec`, constrained
decoding with the hole's bounded grammar, the same prompt as `synth --neural-hints`),
without a sample cache; the candidates are validated up to the full tier
(`pipeline.two_stage.rank_samples`). Columns per hole:

- `distinct`: distinct terms in the grammar; `degen`: of them, degenerate ones
  (`grammar.lean.wasteful`): somewhere an operation over constants only
  (`(safe_div 1 1)`, `(= 0 0)`), an identity or constant-making argument (`(* e 1)`,
  `(+ e 0)`, `(safe_div e 0)`), a chain that is one operation
  (`(safe_div (safe_div e 100) 100)`), `(ite c e e)` or `(- e e)`; `useful` = distinct - degen;
- `limit`: samples cut at the token limit (no term);
- `vars`: variables of the intended answer that some in-grammar sample uses;
- `ted`: the smallest tree edit distance (unit costs: insert, delete, relabel a node)
  from a sample to the intended answer; `shared`: the most nodes of the intended
  answer that lie in subterms it shares with one sample (a proxy for what seeding
  gives the search);
- `ok`: distinct candidates that verify (full tier);
- `gen s`: prefill + decoding seconds for the hole (noisy on a shared machine).

With `--md FILE` the table is appended to FILE under `--title`; `--json FILE` keeps the
rows with the sampled terms, and `--rescore FILE` prints (and appends) such a file's
table again with the current `degen` measure, without the model.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from functools import lru_cache
from pathlib import Path
from typing import Any

from esso_ngs.formats import load_spec
from esso_ngs.grammar.lean import wasteful
from esso_ngs.lang.expr import Expr, Ite, Op, Var, children, free_vars, node_count, walk
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.neural.hints import hints_for_spec
from esso_ngs.pipeline.two_stage import ModelChoice, backend_for, rank_samples
from esso_ngs.verify.tiers import ValidationSettings

HERE = Path(__file__).resolve().parent

def _label(e: Expr) -> str:
    if isinstance(e, Op):
        return e.op
    if isinstance(e, Ite):
        return "ite"
    if isinstance(e, Var):
        return e.name
    return repr(getattr(e, "value", e))


def tree_edit_distance(a: Expr, b: Expr) -> int:
    """Ordered tree edit distance with unit costs (forest recursion on the rightmost
    roots, memoized; terms here have tens of nodes)."""

    @lru_cache(maxsize=None)
    def forest(f: tuple[Expr, ...], g: tuple[Expr, ...]) -> int:
        if not f:
            return sum(node_count(t) for t in g)
        if not g:
            return sum(node_count(t) for t in f)
        v, w = f[-1], g[-1]
        return min(forest(f[:-1] + children(v), g) + 1,
                   forest(f, g[:-1] + children(w)) + 1,
                   forest(children(v), children(w)) + forest(f[:-1], g[:-1]) + (_label(v) != _label(w)))

    return forest((a,), (b,))


def shared_nodes(intended: Expr, sample: Expr) -> int:
    """Nodes of `intended` inside maximal subterms (of 2+ nodes, or a variable) that occur in `sample`."""
    in_sample = {node for _, node in walk(sample)}
    covered = 0

    def visit(e: Expr) -> None:
        nonlocal covered
        if e in in_sample and (children(e) or isinstance(e, Var)):
            covered += node_count(e)
            return
        for k in children(e):
            visit(k)

    visit(intended)
    return covered


def hole_row(spec: Any, hole_id: str, intended: Expr, backend: Any, choice: ModelChoice,
             validation: ValidationSettings) -> dict[str, Any]:
    t0 = time.perf_counter()
    [samples] = hints_for_spec(spec, backend, choice.settings(), constrained=choice.constrained,
                               hole_ids=[hole_id])
    wall = time.perf_counter() - t0
    ranking = rank_samples(spec, samples, {}, validation)
    terms = [c for c in ranking.candidates if c.in_grammar and c.expr is not None]
    degen = [c for c in terms if wasteful(c.expr)]
    wanted = free_vars(intended)
    used = set().union(*(free_vars(c.expr) for c in terms)) & wanted if terms else set()
    return {
        "hole": hole_id, "samples": samples.n_samples, "distinct": len(terms), "degenerate": len(degen),
        "token_limit": samples.n_token_limit, "vars": len(used), "vars_of": len(wanted),
        "ted": min((tree_edit_distance(c.expr, intended) for c in terms), default=None),
        "intended_nodes": node_count(intended),
        "shared": max((shared_nodes(intended, c.expr) for c in terms), default=0),
        "verified": sum(1 for c in ranking.candidates if c.checks.passes("full")),
        "gen_s": float(samples.stats.get("prefill_s", 0.0)) + float(samples.stats.get("gen_s", 0.0)),
        "wall_s": wall, "gen_tokens": samples.gen_tokens,
        "terms": [c.term for c in terms],
    }


HEADER = ("| spec | hole | distinct | degen | useful | limit | vars | ted | shared | ok | gen s | tokens |\n"
          "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")


def table_line(prefix: str, r: dict[str, Any]) -> str:
    ted = "-" if r["ted"] is None else f"{r['ted']}/{r['intended_nodes']}"
    return (f"| {prefix} | {r['hole']} | {r['distinct']} | {r['degenerate']} | {r['distinct'] - r['degenerate']} "
            f"| {r['token_limit']} | {r['vars']}/{r['vars_of']} | {ted} | {r['shared']}/{r['intended_nodes']} "
            f"| {r['verified']} | {r['gen_s']:.1f} | {r['gen_tokens']} |")


def summary(rows: list[dict[str, Any]]) -> str:
    n = len(rows)
    distinct = sum(r["distinct"] for r in rows)
    degen = sum(r["degenerate"] for r in rows)
    teds = [r["ted"] for r in rows if r["ted"] is not None]
    return (f"{n} holes: {distinct} distinct in-grammar terms, {degen} degenerate, "
            f"{distinct - degen} useful; {sum(r['token_limit'] for r in rows)} samples cut at the token limit "
            f"of {sum(r['samples'] for r in rows)}; variables covered {sum(r['vars'] for r in rows)}/"
            f"{sum(r['vars_of'] for r in rows)}; median best ted {statistics.median(teds) if teds else '-'}; "
            f"shared nodes {sum(r['shared'] for r in rows)}/{sum(r['intended_nodes'] for r in rows)}; "
            f"holes with a verified sample {sum(1 for r in rows if r['verified'])}; "
            f"generation {sum(r['gen_s'] for r in rows):.0f} s, {sum(r['gen_tokens'] for r in rows)} tokens")


def _constraint_cost(lark: str, tokenizer: Any) -> list[str]:
    """llguidance's compile time and the mean of 10 masks, in ms."""
    from esso_ngs.neural.token_mask import TokenConstraint
    t0 = time.perf_counter()
    c = TokenConstraint(lark, tokenizer)
    t1 = time.perf_counter()
    for _ in range(10):
        c.allowed_mask()
    return [f"{1000 * (t1 - t0):.1f}", f"{100 * (time.perf_counter() - t1):.2f}"]


def grammar_cost(args: argparse.Namespace) -> int:
    """Per hole: the bounded grammar vs the lean decoding grammar, in Lark characters,
    llguidance compile time (ms, with the model's tokenizer) and mask time per step (ms)."""
    from esso_ngs.grammar import bounded_lark_text, decoding_lark_text, grammar_for_hole
    from esso_ngs.neural.models import resolve_model
    from esso_ngs.neural.token_mask import TokenConstraint
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(resolve_model(args.model).path))
    TokenConstraint('start: "a"', tokenizer)  # the tokenizer's one-time conversion, not counted
    print("| spec | hole | bounded chars | compile ms | mask ms | lean chars | lean text ms | compile ms | mask ms |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for entry in json.loads((HERE / args.suite / "manifest.json").read_text())["specs"]:
        if args.prefixes and entry["prefix"] not in args.prefixes:
            continue
        spec = load_spec(HERE / args.suite / f"{entry['prefix']}_hole.yaml")
        for hole in spec.synth.holes:
            g = grammar_for_hole(spec, hole.hole_id)
            t0 = time.perf_counter()
            lean = decoding_lark_text(g)  # the lean grammar derived and compiled, and its Lark text
            lean_ms = 1000 * (time.perf_counter() - t0)
            bounded = bounded_lark_text(g)
            cells = ([str(len(bounded)), *_constraint_cost(bounded, tokenizer), str(len(lean)), f"{lean_ms:.1f}",
                      *_constraint_cost(lean, tokenizer)])
            print(f"| {entry['prefix']} | {hole.hole_id} | " + " | ".join(cells) + " |")
    return 0


def synth_with_samples(rows: list[dict[str, Any]], suite: str, cap_s: float, unguided: bool = True) -> str:
    """Per spec, the time to the first verified term with the rows' sampled terms as hints
    (the search with repair and seeding, as `synth --hints FILE`), and without hints."""
    from esso_ngs.synth import Hint, SynthOptions, synthesize

    by_spec: dict[str, dict[str, list[str]]] = {}
    for r in rows:
        by_spec.setdefault(r["spec"], {})[r["hole"]] = r["terms"]
    lines = ["| spec | hints | first verified s (samples as hints) | first verified s (no hints) |",
             "| --- | --- | --- | --- |"]
    for prefix, terms in by_spec.items():
        spec = load_spec(HERE / suite / f"{prefix}_hole.yaml")
        cells = []
        for hints in ({h: [Hint(t) for t in ts] for h, ts in terms.items()}, None)[: 2 if unguided else 1]:
            result = synthesize(spec, hints, SynthOptions(timeout_ms=int(cap_s * 1000), minimize=False))
            firsts = [h.time_to_first_s for h in result.holes]
            cells.append(f">{cap_s:.0f}" if None in firsts else f"{max(firsts):.2f}")  # type: ignore[type-var]
        lines.append(f"| {prefix} | {sum(len(ts) for ts in terms.values())} | {cells[0]} | {(cells + ['-'])[1]} |")
        print(lines[-1], flush=True)
    return "\n".join(lines)


def rescore(args: argparse.Namespace) -> int:
    rows = json.loads(Path(args.rescore).read_text())
    lines = []
    for r in rows:
        r["degenerate"] = sum(1 for t in r["terms"] if wasteful(parse_term(t)))
        lines.append(table_line(r["spec"], r))
    tail = summary(rows)
    print(HEADER + "\n" + "\n".join(lines) + "\n" + tail)
    if args.synth_cap_s:
        tail += ".\n\n" + synth_with_samples(rows, args.suite, args.synth_cap_s, not args.no_unguided)
    if args.md:
        with open(args.md, "a") as f:
            f.write(f"\n## {args.title or 'hint quality'}\n\n{HEADER}\n" + "\n".join(lines) + f"\n\n{tail}.\n")
    return 0


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*", help="only these specs")
    ap.add_argument("--suite", default="specs_hard")
    ap.add_argument("--model", default="smollm2-135m")
    ap.add_argument("--backend", default="auto")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--temp", type=float, default=0.8)
    ap.add_argument("--top-p", type=float, default=0.95)
    ap.add_argument("--max-tokens", type=int, default=96)
    ap.add_argument("--md", help="append the table to this Markdown file")
    ap.add_argument("--title", default="", help="the table's heading in --md")
    ap.add_argument("--json", help="write the rows (with the sampled terms) to this JSON file")
    ap.add_argument("--rescore", help="a --json file of an earlier run: its table, degen counted again")
    ap.add_argument("--synth-cap-s", type=float,
                    help="with --rescore: also synthesize each spec with its samples as hints (given at the "
                         "start, generation not counted), stopping at the first verified term, capped at S s")
    ap.add_argument("--no-unguided", action="store_true", help="with --synth-cap-s: not the run without hints")
    ap.add_argument("--grammar-cost", action="store_true",
                    help="only what the lean decoding grammar costs: its size, compile and mask time (no model run)")
    args = ap.parse_args(argv)
    if args.rescore:
        return rescore(args)
    if args.grammar_cost:
        return grammar_cost(args)

    choice = ModelChoice(args.backend, args.model, samples=args.samples, temperature=args.temp,
                         top_p=args.top_p, seed=args.seed, max_tokens=args.max_tokens)
    backend = backend_for(choice)
    validation = ValidationSettings(tier="full")
    suite = HERE / args.suite
    manifest = json.loads((suite / "manifest.json").read_text())["specs"]
    load_start = os.getloadavg()[0]
    print(f"load average at start: {load_start:.1f} ({os.cpu_count()} CPUs); "
          f"ESSO_NGS_TORCH_THREADS={os.environ.get('ESSO_NGS_TORCH_THREADS', '-')}", flush=True)
    t0 = time.perf_counter()
    backend.load()
    load_s = time.perf_counter() - t0
    print(f"model {args.model} via {getattr(backend, 'choice_label', None) or backend.name}: load {load_s:.1f} s")
    print(HEADER, flush=True)
    rows: list[dict[str, Any]] = []
    lines: list[str] = []
    for entry in manifest:
        if args.prefixes and entry["prefix"] not in args.prefixes:
            continue
        spec = load_spec(suite / f"{entry['prefix']}_hole.yaml")
        for hole_id, info in entry["holes"].items():
            r = hole_row(spec, hole_id, parse_term(info["intended"]), backend, choice, validation)
            r["spec"] = entry["prefix"]
            rows.append(r)
            lines.append(table_line(entry["prefix"], r))
            print(lines[-1], flush=True)
    load_end = os.getloadavg()[0]
    tail = summary(rows)
    print(tail)
    print(f"load average at end: {load_end:.1f}")
    if args.md:
        settings = (f"`{' '.join(['python benchmarks/bench_hint_quality.py'] + argv)}`: {args.samples} samples, "
                    f"seed {args.seed}, temperature {args.temp}, top_p {args.top_p}, max {args.max_tokens} tokens; "
                    f"backend {getattr(backend, 'choice_label', None) or backend.name}; load average "
                    f"{load_start:.1f} at the start, {load_end:.1f} at the end (2 cores, shared: times are noisy)")
        with open(args.md, "a") as f:
            f.write(f"\n## {args.title or 'hint quality'}\n\n{settings}\n\n{HEADER}\n" + "\n".join(lines)
                    + f"\n\n{tail}.\n")
    if args.json:
        Path(args.json).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
