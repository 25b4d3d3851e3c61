"""Throughput of the batched evaluator vs the exact one, on representative DEX terms.

Run: python benchmarks/bench_evaluator.py [--inputs N] [--torch]
Prints, per term and input bounds: the result dtype (int64, or object when values
exceed int64), time per evaluation on N inputs, inputs/s, term evaluations/s on a
small batch (the enumerator's regime), and the exact evaluator's inputs/s.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from esso_ngs.lang.batched import BatchEnv, evaluate_batch
from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.expr import Expr
from esso_ngs.lang.sexpr import parse_term

FEE = "(safe_div (* amount bps) 10000)"
# Constant-product output with a 0.3% fee: out = in*997*R_out / (R_in*1000 + in*997).
SWAP = "(safe_div (* (* amount_in 997) reserve_out) (+ (* reserve_in 1000) (* amount_in 997)))"
# LP mint: first deposit takes min of amounts; later ones the min of the two ratios.
MINT = (
    "(ite (= supply 0) (min amount0 amount1)"
    " (min (safe_div (* amount0 supply) reserve0) (safe_div (* amount1 supply) reserve1)))"
)
CONSTRAINT = "(and (>= (safe_div (* amount bps) 10000) 0) (<= (safe_div (* amount bps) 10000) amount))"

CASES: list[tuple[str, str, dict[str, int]]] = [
    ("fee_bps", FEE, {"amount": 10**12, "bps": 10_000}),
    ("fee_ok (bool)", CONSTRAINT, {"amount": 10**12, "bps": 10_000}),
    ("swap_out small", SWAP, {"amount_in": 10**6, "reserve_in": 10**6, "reserve_out": 10**6}),
    ("swap_out 1e12", SWAP, {"amount_in": 10**12, "reserve_in": 10**12, "reserve_out": 10**12}),
    ("lp_mint small", MINT, {v: 10**9 for v in ("supply", "amount0", "amount1", "reserve0", "reserve1")}),
    ("lp_mint 1e12", MINT, {v: 10**12 for v in ("supply", "amount0", "amount1", "reserve0", "reserve1")}),
]


def columns(hi: dict[str, int], n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    # Zeros appear on purpose (zero divisors, the ite's first-deposit branch).
    cols = {v: rng.integers(0, h, size=n, endpoint=True) for v, h in hi.items()}
    for c in cols.values():
        c[:: 97] = 0
    return cols


def best_time(fn: Callable[[], object], budget_s: float = 0.4, max_reps: int = 200) -> float:
    fn()  # warm up
    times: list[float] = []
    start = time.perf_counter()
    while len(times) < max_reps and (time.perf_counter() - start < budget_s or len(times) < 3):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def exact_rate(e: Expr, cols: dict[str, np.ndarray], n: int) -> float:
    rows = [{k: int(v[i]) for k, v in cols.items()} for i in range(n)]
    t0 = time.perf_counter()
    for r in rows:
        evaluate(e, r)
    return n / (time.perf_counter() - t0)


def fmt_rate(x: float) -> str:
    for unit, scale in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if x >= scale:
            return f"{x / scale:.1f}{unit}"
    return f"{x:.0f}"


def bench_case(name: str, text: str, hi: dict[str, int], args: argparse.Namespace, rng: np.random.Generator) -> str:
    e = parse_term(text)
    big = BatchEnv(columns(hi, args.inputs, rng))
    small = BatchEnv(columns(hi, args.small, rng))
    out = evaluate_batch(e, big)
    t_big = best_time(lambda: evaluate_batch(e, big))
    t_small = best_time(lambda: evaluate_batch(e, small), max_reps=2000)
    ex = exact_rate(e, columns(hi, 5000, rng), 5000)
    line = (
        f"{name:<16} {out.dtype!s:<7} {t_big * 1e3:>8.2f} {fmt_rate(args.inputs / t_big):>9}"
        f" {fmt_rate(1 / t_small):>11} {fmt_rate(ex):>10} {args.inputs / t_big / ex:>7.0f}x"
    )
    if args.torch:
        import torch

        from esso_ngs.lang.batched_torch import (
            TorchBatchEnv,
            evaluate_batch_torch,
            torch_device,
        )

        device = torch_device()
        tenv = TorchBatchEnv({k: v.data for k, v in big.values.items()}, device=device)

        def run_torch() -> object:
            r = evaluate_batch_torch(e, tenv)
            if device.type == "cuda":
                torch.cuda.synchronize()
            return r

        t_t = best_time(run_torch)
        line += f" {t_t * 1e3:>9.3f} {fmt_rate(args.inputs / t_t):>10}"
    return line


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--inputs", type=int, default=100_000)
    ap.add_argument("--small", type=int, default=64, help="batch size of the enumerator regime")
    ap.add_argument("--torch", action="store_true", help="also time evaluate_batch_torch (best device)")
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    head = (
        f"{'term':<16} {'dtype':<7} {'ms/eval':>8} {'inputs/s':>9} {'evals/s@' + str(args.small):>11}"
        f" {'exact in/s':>10} {'speedup':>8}"
    )
    if args.torch:
        from esso_ngs.lang.batched_torch import torch_device

        head += f" {'torch ms':>9} {'torch in/s':>10}"
        print(f"torch device: {torch_device()}")
    print(f"N = {args.inputs} inputs; numpy {np.__version__}")
    print(head)
    print("-" * len(head))
    for name, text, hi in CASES:
        print(bench_case(name, text, hi, args, rng), flush=True)


if __name__ == "__main__":
    main()
