"""What one decoding step and one prefill cost, on the packaged model with torch (issue 12).

    python benchmarks/bench_decode_step.py [--steps 6]

Two tables, each row the fastest and the median of a few runs, in this process:

- a decoding step of R rows over a prompt of P tokens, the prompt's KV cache copied
  into every row (as before) or shared by the rows (`neural/shared_prompt_torch.py`);
- a decoding step with the output head computed for the whole vocabulary, or for
  the few hundred tokens a grammar step may draw (decode.py);
- a 350-token prefill (the hole's own part of a prompt, the head being cached) with
  1 and with 2 torch threads, with the output head (the model called whole) and
  without it (as the backend prefills).

The load average is printed with each table: on a shared machine read the numbers
with it (two threads are faster on idle cores and slower on busy ones).
"""
from __future__ import annotations

import argparse
import copy
import os
import statistics
import sys
import time
from typing import Any, Callable

MODEL = "smollm2-135m"


def _times(run: Callable[[], Any], n: int) -> tuple[float, float]:
    ts = []
    for _ in range(n):
        t0 = time.perf_counter()
        run()
        ts.append(time.perf_counter() - t0)
    return min(ts), statistics.median(ts)


def main(argv: list[str]) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--steps", type=int, default=6, help="runs per row (default 6)")
    args = ap.parse_args(argv)
    import torch

    from esso_ngs.neural.models import resolve_model
    from esso_ngs.neural.transformers_backend import (_SharedPromptStepper, _TorchStepper,
                                                      load_transformers_model, model_step)

    model, _, _ = load_transformers_model(resolve_model(MODEL).path, "cpu")
    torch.manual_seed(0)

    def prompt_cache(p: int) -> Any:
        with torch.no_grad():
            return model(torch.randint(100, 1000, (1, p)), use_cache=True).past_key_values

    import numpy as np
    # A grammar step draws from a few hundred tokens (decode.py asks the head for those only).
    grammar_columns = np.arange(300, 600)
    torch.set_num_threads(1)
    print(f"decoding step, 1 torch thread; load average {os.getloadavg()[0]:.1f} ({os.cpu_count()} CPUs); "
          f"head: the whole vocabulary, or {grammar_columns.size} tokens (a grammar step)")
    print(f"{'rows':>4} {'prompt tok':>10} {'copied KV, whole head':>22} {'shared KV, whole head':>22} "
          f"{'shared KV, grammar head':>24}")
    for rows, p in ((1, 1100), (10, 50), (10, 400), (10, 1100)):
        base = prompt_cache(p)
        copied = copy.deepcopy(base)
        copied.batch_repeat_interleave(rows)
        a = _TorchStepper(model, copied, "cpu")
        b = _SharedPromptStepper(model, base, p, "cpu")
        c = _SharedPromptStepper(model, base, p, "cpu")
        step = [[11]] * rows
        nan = (float("nan"),) * 2
        ta = _times(lambda: a.forward(step, None)(), args.steps)
        tb = _times(lambda: b.forward(step, None)(), args.steps) if rows > 1 else nan
        tc = _times(lambda: c.forward(step, grammar_columns)(), args.steps) if rows > 1 else nan
        print(f"{rows:>4} {p:>10} {ta[0]:>10.3f} / {ta[1]:<9.3f} {tb[0]:>10.3f} / {tb[1]:<9.3f} "
              f"{tc[0]:>11.3f} / {tc[1]:<10.3f}", flush=True)

    print(f"\nprefill of 350 tokens (s, min / median); load average {os.getloadavg()[0]:.1f}")
    print(f"{'threads':>7} {'with the head':>16} {'without (the backend)':>22}")
    ids = torch.randint(100, 1000, (1, 350))
    for threads in (1, 2):
        torch.set_num_threads(threads)
        with torch.no_grad():
            whole = _times(lambda: model(ids, use_cache=True), max(3, args.steps // 2))
        body = _times(lambda: model_step(model, ids, None, grammar_columns[:0]), max(3, args.steps // 2))
        print(f"{threads:>7} {whole[0]:>7.2f} / {whole[1]:<6.2f} {body[0]:>10.2f} / {body[1]:<9.2f}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
