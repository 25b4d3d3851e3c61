"""The decoding loop shared by the in-process backends: batched, grammar-masked, seeded.

A backend supplies a `Stepper` (one forward step for the rows still decoding,
and a way to drop finished rows); this module does the rest, the same way for
every framework: the grammar mask, sampling, stopping, and accounting.

Sampling happens in numpy, one row at a time, over the *allowed* tokens only:
with a grammar mask that is a handful of tokens, so temperature, nucleus
(top-p) and the Gumbel-max draw cost microseconds, where sorting a 49k
vocabulary per row per step in the framework cost more than the model step on a
CPU. Each row draws from its own generator seeded with `settings.seed_for(i)`,
so sample i is the same whatever batch it runs in and whatever the framework.

The mask for step t is computed while the framework evaluates the forward pass
of step t (the stepper starts it asynchronously where it can): the two are
independent, so on a multi-core CPU they overlap.
"""
from __future__ import annotations

import time
from typing import Callable, Protocol, Sequence

import numpy as np

from .token_mask import TokenConstraint
from .backend import Sample, SampleSettings

# Nucleus search looks at this many top tokens first and sorts the whole row
# only when their mass falls short of top_p (rare for a trained model).
_TOP_P_PREFIX = 256


class Stepper(Protocol):
    def forward(self, tokens: Sequence[int]) -> Callable[[], np.ndarray]:
        """Start one step feeding `tokens` (one per live row); the callable returns
        the [rows, vocab] float32 logits of the next position."""
        ...

    def keep(self, positions: Sequence[int]) -> None:
        """Keep only these rows (positions in the current batch), in this order."""
        ...


def _logsumexp(x: np.ndarray) -> float:
    m = float(np.max(x))
    if m == -np.inf:
        return m
    return m + float(np.log(np.sum(np.exp(x - m))))


def _nucleus(lp: np.ndarray, top_p: float) -> np.ndarray:
    """Indices (into lp) of the smallest set of top tokens whose probability reaches top_p."""
    if top_p >= 1.0 or lp.size == 1:
        return np.arange(lp.size)
    if lp.size > _TOP_P_PREFIX:
        head = np.argpartition(-lp, _TOP_P_PREFIX)[:_TOP_P_PREFIX]
        order = head[np.argsort(-lp[head], kind="stable")]
        cum = np.cumsum(np.exp(lp[order]))
        if cum[-1] < top_p:  # the nucleus is wider than the head: sort everything
            order = np.argsort(-lp, kind="stable")
            cum = np.cumsum(np.exp(lp[order]))
    else:
        order = np.argsort(-lp, kind="stable")
        cum = np.cumsum(np.exp(lp[order]))
    cut = int(np.searchsorted(cum, top_p * cum[-1])) + 1  # include the token that crosses top_p
    return order[: max(1, cut)]


def pick_token(logits: np.ndarray, allowed: np.ndarray | None, rng: np.random.Generator | None,
               temperature: float, top_p: float) -> tuple[int, float, float]:
    """(token, its unmasked log-prob, its log-prob under the mask) for one row."""
    raw_lse = _logsumexp(logits)
    if allowed is not None:
        ids = np.flatnonzero(allowed)
        vals = logits[ids]
    else:
        ids = None
        vals = logits
    lp = vals - _logsumexp(vals)
    if temperature == 0 or rng is None:
        j = int(np.argmax(lp))
    else:
        cand = _nucleus(lp, top_p)
        scores = lp[cand] / temperature + rng.gumbel(size=cand.size)
        j = int(cand[int(np.argmax(scores))])
    token = int(ids[j]) if ids is not None else j
    return token, float(logits[token] - raw_lse), float(lp[j])


def decode_batch(stepper: Stepper, last_prompt_id: int, seeds: Sequence[int], settings: SampleSettings,
                 constraints: Sequence[TokenConstraint] | None, eos: set[int],
                 detokenize: Callable[[list[int]], str]) -> list[Sample]:
    """Decode len(seeds) samples as one batch that shrinks as rows finish."""
    n = len(seeds)
    rngs = [np.random.default_rng(s) for s in seeds]
    generated: list[list[int]] = [[] for _ in range(n)]
    logprob = [0.0] * n
    constrained_lp = [0.0] * n
    finish = ["length"] * n
    errors = [""] * n
    elapsed = [0.0] * n
    started = time.perf_counter()
    active = list(range(n))
    tokens = [last_prompt_id] * n
    eos_ids = sorted(eos)
    for _ in range(settings.max_tokens):
        result = stepper.forward(tokens)
        masks: list[np.ndarray] | None = None
        if constraints is not None:
            masks = [constraints[r].allowed_mask() for r in active]
        logits = result()
        keep: list[int] = []
        next_tokens: list[int] = []
        for j, r in enumerate(active):
            row = logits[j]
            allowed = None
            if masks is not None:
                allowed = masks[j][: row.shape[0]]
                if not allowed.any():  # cannot happen with a sound matcher: end the row cleanly
                    allowed = np.zeros_like(allowed)
                    allowed[[i for i in eos_ids if i < allowed.size]] = True
            t, raw, masked = pick_token(row, allowed, rngs[r], settings.temperature, settings.top_p)
            logprob[r] += raw
            constrained_lp[r] += masked
            done = True
            if t in eos or (constraints is not None and constraints[r].is_eos(t)):
                finish[r] = "eos"
            else:
                generated[r].append(t)
                if constraints is not None and not constraints[r].consume(t):
                    finish[r], errors[r] = "error", constraints[r].error  # a mask bug: never silent
                elif constraints is not None and constraints[r].is_stopped():
                    finish[r] = "stopped"  # the term is complete; only EOS could follow
                else:
                    done = False
            if done:
                elapsed[r] = time.perf_counter() - started
            else:
                keep.append(j)
                next_tokens.append(t)
        if not keep:
            active = []
            break
        if len(keep) < len(active):
            stepper.keep(keep)
        active = [active[j] for j in keep]
        tokens = next_tokens
    for r in active:  # still decoding at the token limit
        elapsed[r] = time.perf_counter() - started
    return [
        Sample(text=detokenize(generated[r]), logprob=logprob[r], tokens=len(generated[r]),
               hit_token_limit=(finish[r] == "length"), finish=finish[r],
               mask_time_s=constraints[r].mask_time_s if constraints is not None else 0.0,
               gen_time_s=elapsed[r], seed=seeds[r],
               constrained_logprob=constrained_lp[r] if constraints is not None else None, error=errors[r])
        for r in range(n)
    ]
