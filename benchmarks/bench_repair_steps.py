"""Hint repair's steps: how long the longest one takes (a step cannot be interrupted,
so it is what hint work can overshoot its share by) and the whole neighbourhood, for
every near and garbage hint of the hard suite and for a missing guard in generic
arithmetic grammars of growing size (the root's guards grow with the cube of the atoms).

    python benchmarks/bench_repair_steps.py [--vars 5,10,20,30,100] [--examples 40] [--no-suite]

Each hint is repaired on the examples a synthesis run gives hint work (32 random ones
and the hint's counterexample), with the default budget of 200,000 rows. Times in s,
on whatever else the machine runs: note the load beside the results.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import Callable, Iterator

import numpy as np

from esso_ngs.formats import load_spec
from esso_ngs.formats.model import GrammarSpec, Penalties, StyleProfile
from esso_ngs.grammar import compile_grammar, grammar_for_hole
from esso_ngs.lang.batched import BatchEnv, BatchValue, batch_value, to_array
from esso_ngs.lang.evaluate import EvalError
from esso_ngs.lang.expr import Expr
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.synth import Hint
from esso_ngs.synth.enumerate import Limits
from esso_ngs.synth.examples import ExampleSet
from esso_ngs.synth.repair import Repairer
from esso_ngs.verify import VerifyOptions, verify

from bench_speedup import GARBAGE  # the same garbage hints as the speedup tables

HARD = Path(__file__).resolve().parent / "specs_hard"
REPAIR_TERMS = 200_000  # SynthOptions.repair_terms' default
EachCheck = Callable[[BatchValue, int], np.ndarray]


def timed_steps(r: Repairer, hint: Expr, each: EachCheck) -> tuple[float, float, int]:
    """(longest step, all steps, neighbours found) of the hint's whole repair."""
    steps: list[float] = []
    found = 0
    it: Iterator = r.stages(hint, each, REPAIR_TERMS)
    while True:
        t0 = time.perf_counter()
        step = next(it, None)
        steps.append(time.perf_counter() - t0)
        if step is None:
            break
        found += len(step[0])
    return max(steps), sum(steps), found


def suite() -> list[tuple[str, float, float, int]]:
    rows = []
    manifest = json.loads((HARD / "manifest.json").read_text())["specs"]
    for entry in sorted(manifest, key=lambda e: e["prefix"]):
        spec = load_spec(HARD / f"{entry['prefix']}_hole.yaml")
        for hole_id, v in entry["holes"].items():
            g = grammar_for_hole(spec, hole_id)
            hints = [*((kind, Hint(text)) for kind, text in sorted(v.get("near", {}).items())),
                     *(("garbage", h) for h in GARBAGE)]
            for kind, hint in hints:
                term = hint.expr
                if term is None:  # not a term: nothing to repair
                    continue
                examples = ExampleSet(spec, (hole_id,), 32, 0)
                try:
                    verdict = verify(spec, hole_id, term, VerifyOptions(timeout_ms=5000))
                    if verdict.counterexample is not None:
                        examples.add(verdict.counterexample)
                except EvalError:  # garbage naming what the spec lacks
                    pass
                r = Repairer(g, examples.env(), Limits.of(spec.synth.style))
                longest, total, found = timed_steps(r, term, lambda v, m: examples.passes_each(hole_id, v, m))
                rows.append((f"{entry['prefix']}.{hole_id} {kind}", longest, total, found))
    return rows


def generic(n_vars: int, n_examples: int) -> tuple[float, float, int, int]:
    """A missing root guard in `E -> V | C | (+ E E) | ... | (ite B E E)` over `n_vars` variables."""
    names = [f"v{i}" for i in range(n_vars)]
    gspec = GrammarSpec("G", "E", (
        ("E", ("V", "C", "(+ E E)", "(- E E)", "(* E E)", "(min E E)", "(max E E)", "(safe_div E E)", "(ite B E E)")),
        ("V", tuple(names)), ("C", ("0", "1", "10000")),
        ("B", ("(<= E E)", "(< E E)", "(= E E)", "(>= E E)", "(> E E)"))))
    style = StyleProfile(max_ast_nodes=20, max_nesting=2, penalties=Penalties(5, 10, 1))
    g = compile_grammar(gspec, style, {n: "Int" for n in names})
    rng = np.random.default_rng(0)
    env = BatchEnv({n: rng.integers(0, 10_000, n_examples) for n in names})
    want = to_array(batch_value(parse_term("(ite (<= v3 v4) v0 (safe_div (* v0 v1) v2))"), env), n_examples)
    r = Repairer(g, env, Limits.of(style))
    longest, total, found = timed_steps(r, parse_term("(safe_div (* v0 v1) v2)"),
                                        lambda v, m: np.broadcast_to(np.asarray(v.data), (m, n_examples)) == want)
    guards = r.guards(True)
    return longest, total, found, guards.n if guards is not None else 0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--vars", default="5,10,20,30,100", help="generic grammars: comma-separated variable counts")
    ap.add_argument("--examples", type=int, default=40, help="generic grammars: examples")
    ap.add_argument("--no-suite", action="store_true", help="skip the hard suite's hints")
    args = ap.parse_args()
    print(f"load average at start: {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs)")
    if not args.no_suite:
        rows = suite()
        print(f"\n{'hard suite hint':40} {'longest step':>12} {'all steps':>10} {'found':>6}")
        for name, longest, total, found in sorted(rows, key=lambda r: -r[1])[:10]:
            print(f"{name:40} {longest:12.3f} {total:10.3f} {found:6}")
        print(f"{len(rows)} hints; longest step of all {max(r[1] for r in rows):.3f} s, "
              f"median repair {sorted(r[2] for r in rows)[len(rows) // 2]:.3f} s (10 longest steps shown)")
    print(f"\n{'generic grammar':24} {'root guards':>11} {'longest step':>12} {'all steps':>10} {'found':>6}")
    for n in (int(x) for x in args.vars.split(",")):
        longest, total, found, guards = generic(n, args.examples)
        print(f"{f'{n} vars, {args.examples} examples':24} {guards:11} {longest:12.3f} {total:10.3f} {found:6}")
    print(f"\nload average at end: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
