"""Speedup from hints: per spec, the synthesizer unguided and with exact, near and
garbage hints; time and terms built; ratios. Writes a CSV.

    python benchmarks/bench_speedup.py [--suite specs|specs_hard] [--csv FILE] [--timeout-ms 60000] [PREFIX ...]

Unguided runs search in cost order, so their answer is proven minimal; hinted runs
stop at the first verified term (`--no-minimize`); "first" is the time to it.
An unsolved run ('!') counts its whole budget, so its ratio is a lower bound.
Near hints are the manifest's wrong-but-close answers (wrong constant, swapped
operands...); garbage hints are off-grammar and ill-formed terms.
"""
from __future__ import annotations

import argparse
import csv
import json
from pathlib import Path

from esso_ngs.spec import load_spec
from esso_ngs.synth import Hint, SynthOptions, synthesize

HERE = Path(__file__).resolve().parent
GARBAGE = [Hint("(foo bar"), Hint("(* 1 2 3)"), Hint("nonexistent_var"), Hint("(+ 0 0)")]


def run(spec, hints, timeout_ms: int) -> dict:
    # Hinted runs accept a verified hint or guided solution at once: this measures
    # the time to a verified term (minimality below it is a separate, optional search).
    result = synthesize(spec, hints, SynthOptions(timeout_ms=timeout_ms, minimize=hints is None))
    first = max(h.time_to_first_s or h.time_s for h in result.holes)
    return {"solved": result.solved, "total": result.time_s, "first": first,
            "cand": sum(h.candidates for h in result.holes), "z3": sum(h.z3_calls for h in result.holes)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--suite", default="specs", choices=("specs", "specs_hard"),
                    help="specs: the main suite; specs_hard: specs the unguided search cannot finish")
    ap.add_argument("--csv", help="CSV path (default benchmarks/results/speedup_<suite>.csv)")
    ap.add_argument("--timeout-ms", type=int, default=60_000)
    args = ap.parse_args()
    suite = HERE / args.suite
    args.csv = args.csv or str(HERE / "results" / f"speedup_{args.suite}.csv")
    manifest = json.loads((suite / "manifest.json").read_text())["specs"]
    rows = []
    head = (f"{'spec':20} {'unguided':>16} {'exact':>22} {'near':>16} {'garbage':>16} "
            f"{'x exact':>8} {'x near':>7} {'x garb':>7}")
    print(head)
    print("-" * len(head))
    for entry in manifest:
        if args.prefixes and entry["prefix"] not in args.prefixes:
            continue
        spec = load_spec(suite / f"{entry['prefix']}_hole.yaml")
        exact = {h: [Hint(e["intended"])] for h, e in entry["holes"].items()}
        near = {h: [Hint(w) for w in e["wrong"] if w not in e.get("wrong_not_in_grammar", [])]
                for h, e in entry["holes"].items()}
        garbage = {h: GARBAGE for h in entry["holes"]}
        r = {name: run(spec, hints, args.timeout_ms)
             for name, hints in (("unguided", None), ("exact", exact), ("near", near), ("garbage", garbage))}
        u = r["unguided"]

        def cell(x: dict) -> str:
            return f"{x['first']:6.2f}s {x['cand']:7d}" + ("" if x["solved"] else "!")

        print(f"{entry['prefix']:20} {cell(u):>16} "
              f"{r['exact']['first']:13.2f}s {r['exact']['cand']:7d} "
              f"{cell(r['near']):>16} {cell(r['garbage']):>16} "
              f"{u['first'] / r['exact']['first']:7.1f}x {u['first'] / r['near']['first']:6.1f}x "
              f"{u['first'] / r['garbage']['first']:6.1f}x", flush=True)
        row = {"spec": entry["prefix"]}
        for name, x in r.items():
            row.update({f"{name}_solved": x["solved"], f"{name}_first_s": round(x["first"], 4),
                        f"{name}_total_s": round(x["total"], 4), f"{name}_candidates": x["cand"],
                        f"{name}_z3_calls": x["z3"]})
        rows.append(row)
    Path(args.csv).parent.mkdir(parents=True, exist_ok=True)
    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    print(f"\n'!' = not solved. Ratios compare time to the first verified term. CSV: {args.csv}")


if __name__ == "__main__":
    main()
