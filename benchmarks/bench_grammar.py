"""Grammar benchmark: compile time, membership checks per second, counts by size.

    python benchmarks/bench_grammar.py [SPEC_DIR] [--seconds-per-grammar S]

For every hole of every spec in SPEC_DIR (default benchmarks/specs): the time to
compile its grammar (cache bypassed), checks per second on a mix of terms in and
out of the language, the time to count distinct terms up to the style profile's max_ast_nodes,
and those counts. Rates are per CPU second: mix = text terms (parsing
included), in = parsed terms of the language, out = parsed terms outside it
(explanation included). Runs in well under 30 s.
"""
from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from esso_ngs.grammar import CompiledGrammar, check_term, compile_grammar, hole_variables, sample_terms
from esso_ngs.grammar.compile import _compile_cached
from esso_ngs.grammar.counting import TermCounter
from esso_ngs.lang.expr import Op, Var, replace_at, walk
from esso_ngs.lang.sexpr import to_sexpr
from esso_ngs.formats import discover_specs, load_spec


def probe_terms(g: CompiledGrammar, n: int = 40) -> list[str]:
    """Samples of the language and single-point mutations of them (mostly outside)."""
    out: list[str] = []
    for t in sample_terms(g, n, seed=1):
        out.append(to_sexpr(t))
        for p, node in walk(t):
            if isinstance(node, Op) and len(node.args) == 2:
                out.append(to_sexpr(replace_at(t, p, Op(node.op, node.args[::-1]))))
                break
        for p, node in walk(t):
            if isinstance(node, Var):
                out.append(to_sexpr(replace_at(t, p, Var("zz_unknown"))))
                break
    return list(dict.fromkeys(out))


def rate(fn, items: list, budget_s: float) -> float:
    """Calls per CPU second of fn over items, repeated for about budget_s. CPU time,
    not wall time: the machine may be shared, and we measure our code."""
    if not items:
        return float("nan")
    done, t0 = 0, time.process_time()
    while True:
        for it in items:
            fn(it)
        done += len(items)
        elapsed = time.process_time() - t0
        if elapsed >= budget_s:
            return done / elapsed


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("spec_dir", nargs="?", default=str(ROOT / "benchmarks" / "specs"))
    ap.add_argument("--seconds-per-grammar", type=float, default=0.3)
    args = ap.parse_args(argv)
    specs = discover_specs(args.spec_dir)
    if not specs:
        print(f"no specs in {args.spec_dir}")
        return 1
    head = (f"{'spec:hole':<36} {'compile':>8} {'in/out':>7} {'mix/s':>7} {'in/s':>7} {'out/s':>7} "
            f"{'count':>8}  counts by size 1..max_ast_nodes")
    print(head)
    print("-" * len(head))
    t_all = time.perf_counter()
    for path in specs:
        spec = load_spec(path)
        for hole in spec.synth.holes:
            gspec = spec.synth.grammar(hole.grammar_id)
            if gspec is None:
                continue
            variables = hole_variables(spec, hole.hole_id)
            t0 = time.perf_counter()
            _compile_cached.__wrapped__(gspec, spec.synth.style, tuple(sorted(variables.items())))  # uncached
            compile_ms = (time.perf_counter() - t0) * 1000
            g = compile_grammar(gspec, spec.synth.style, variables)
            limit = spec.synth.style.max_ast_nodes or 8
            t0 = time.perf_counter()
            counts = TermCounter(g).counts(limit)  # fresh tables: time the counting itself
            count_ms = (time.perf_counter() - t0) * 1000
            terms = probe_terms(g)
            results = [check_term(g, t) for t in terms]
            n_in = sum(m.ok for m in results)
            ins = [m.term for m in results if m.ok]
            outs = [m.term for m in results if not m.ok and m.term is not None]
            third = args.seconds_per_grammar / 3
            check = functools.partial(check_term, g)
            mix_s = rate(check, terms, third)  # text: parsing included
            in_s = rate(check, ins, third)  # parsed terms in the language
            out_s = rate(check, outs, third)  # parsed terms outside: explanation included
            name = f"{spec.name}:{hole.hole_id}"
            shown = " ".join(str(c) for c in counts[1:])
            print(f"{name:<36} {compile_ms:>6.1f}ms {n_in:>3}/{len(terms) - n_in:<3} {mix_s:>7.0f} "
                  f"{in_s:>7.0f} {out_s:>7.0f} {count_ms:>6.1f}ms  {shown}")
    print(f"total {time.perf_counter() - t_all:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
