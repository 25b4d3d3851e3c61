"""Verifier benchmark: per spec, time to verify the intended answer (with each Z3
encoding) and to refute a wrong one.

    python benchmarks/bench_verify.py [--timeout-ms 10000] [PREFIX ...]
"""
from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import load_spec
from esso_ngs.verify import VerifyOptions, verify

SPECS = Path(__file__).resolve().parent / "specs"


def timed(spec, hole_id, term, others, options):
    start = time.perf_counter()
    verdict = verify(spec, hole_id, term, options, others=others)
    return verdict, time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*")
    ap.add_argument("--timeout-ms", type=int, default=10_000)
    args = ap.parse_args()
    manifest = json.loads((SPECS / "manifest.json").read_text())["specs"]
    header = f"{'spec:hole':38} {'auto':>14} {'int only':>14} {'bv only':>14} {'refute wrong':>18}"
    print(header)
    print("-" * len(header))
    for entry in manifest:
        if args.prefixes and entry["prefix"] not in args.prefixes:
            continue
        spec = load_spec(SPECS / f"{entry['prefix']}_hole.yaml")
        intended = {h: parse_term(e["intended"]) for h, e in entry["holes"].items()}
        for hole_id, e in entry["holes"].items():
            others = {h: t for h, t in intended.items() if h != hole_id}
            cells = []
            for strategy in ("auto", "int", "bv"):
                v, dt = timed(spec, hole_id, intended[hole_id], others,
                              VerifyOptions(timeout_ms=args.timeout_ms, strategy=strategy))
                cells.append(f"{v.status[:3]} {dt * 1000:8.1f}ms")
            v, dt = timed(spec, hole_id, parse_term(e["wrong"][-1]), others,
                          VerifyOptions(timeout_ms=args.timeout_ms))
            how = v.methods[0] if v.methods else "-"
            cells.append(f"{v.status[:3]} {dt * 1000:7.1f}ms {how[:7]}")
            print(f"{entry['prefix'] + ':' + hole_id:38} " + " ".join(f"{c:>14}" for c in cells))
    print("\nver = verified, ref = refuted, unk = unknown (never counted as verified).")
    print("bv only: 'unk' where a name is unbounded (no width can be derived) or where Z3's bit-vector")
    print("solver times out on wide nonlinear products and divisions; auto tries integers first.")


if __name__ == "__main__":
    main()
