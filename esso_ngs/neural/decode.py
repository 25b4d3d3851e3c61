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

import re
import time
from typing import Callable, Protocol, Sequence

import numpy as np

from .token_mask import TokenConstraint
from .backend import Sample, SampleSettings, StopCheck
from .progress import Progress, emit

# Nucleus search looks at this many top tokens first and sorts the whole row
# only when their mass falls short of top_p (rare for a trained model).
_TOP_P_PREFIX = 256


class Stepper(Protocol):
    def forward(self, tokens: Sequence[Sequence[int]]) -> Callable[[], np.ndarray]:
        """Start one forward pass feeding `tokens[j]` to live row j (the same count k
        for every row); the callable returns the [rows, k, vocab] float32 logits."""
        ...

    def keep(self, positions: Sequence[int]) -> None:
        """Keep only these rows (positions in the current batch), in this order."""
        ...


SampleCallback = Callable[[int, Sample], None]  # (index of the sample in the batch, the sample)


def sample_events(progress: Progress | None, hole_id: str, first: int) -> SampleCallback | None:
    """An on_sample callback that reports each finished row as a `sample` event
    (index = `first` + its row; the raw Sample rides along for sampling.py)."""
    if progress is None:
        return None
    return lambda row, sample: emit(progress, "sample", hole_id, index=first + row, raw=sample)


_WORD = re.compile(r"[^\s()]+")


def term_nodes(text: str) -> int:
    """Nodes of the (partial) S-expression term `text`: its operators and atoms, the one
    being written included. Nodes only grow as a term is written."""
    return len(_WORD.findall(text))


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


def fastest_step_s(stepper: Stepper, rows: int, steps: int) -> float:
    """Seconds of the fastest of `steps` decoding steps over `rows` rows (the speed
    probe of `--backend auto`: on a shared machine the slower steps measure the neighbours)."""
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        stepper.forward([[11 + i]] * rows)()
        times.append(time.perf_counter() - t0)
    return min(times)


def _log_softmax_at(row: np.ndarray, token: int) -> float:
    return float(row[token] - _logsumexp(row))


def decode_batch(stepper: Stepper, last_prompt_id: int, seeds: Sequence[int], settings: SampleSettings,
                 constraints: Sequence[TokenConstraint] | None, eos: set[int],
                 detokenize: Callable[[list[int]], str],
                 on_sample: SampleCallback | None = None, should_stop: StopCheck | None = None) -> list[Sample]:
    """Decode len(seeds) samples as one batch that shrinks as rows finish.

    Tokens the grammar forces are never sampled (they draw nothing from the
    row's generator, so a row's samples do not depend on its batch): they queue
    up behind the sampled token, and when every live row has a queue of at least
    k tokens, k of them go through the model in one forward pass. A lone row
    (the long tail of a batch) thus feeds all its forced tokens at once.
    `on_sample(i, sample)` is called as each row finishes, in finishing order.
    `should_stop()` is asked before every step: once it says yes, the rows still
    decoding are dropped and only the finished samples are returned (a caller that
    needs all of them knows it asked to stop).
    """
    n = len(seeds)
    rngs = [np.random.default_rng(s) for s in seeds]
    generated: list[list[int]] = [[] for _ in range(n)]
    queue: list[list[int]] = [[last_prompt_id] for _ in range(n)]  # decided, not yet fed
    logprob = [0.0] * n
    constrained_lp = [0.0] * n
    finish = ["length"] * n
    errors = [""] * n
    elapsed = [0.0] * n
    started = time.perf_counter()
    active = list(range(n))
    eos_ids = sorted(eos)
    out: list[Sample | None] = [None] * n

    def done(r: int, how: str) -> None:
        finish[r] = how
        elapsed[r] = time.perf_counter() - started
        out[r] = Sample(text=detokenize(generated[r]), logprob=logprob[r], tokens=len(generated[r]),
                        hit_token_limit=(how == "length"), finish=how,
                        mask_time_s=constraints[r].mask_time_s if constraints is not None else 0.0,
                        gen_time_s=elapsed[r], seed=seeds[r],
                        constrained_logprob=constrained_lp[r] if constraints is not None else None,
                        error=errors[r])
        if on_sample is not None:
            on_sample(r, out[r])

    while active and not (should_stop is not None and should_stop()):
        k = min(len(queue[r]) for r in active)
        fed = [queue[r][:k] for r in active]
        for r in active:
            del queue[r][:k]
        result = stepper.forward(fed)
        # Masks for the rows that sample next, computed while the forward pass runs.
        masks: dict[int, np.ndarray] = {}
        if constraints is not None:
            masks = {r: constraints[r].allowed_mask() for r in active if not queue[r]}
        logits = result()
        keep: list[int] = []
        for j, r in enumerate(active):
            for i in range(1, k):  # the forced tokens fed after the first: their model log-prob
                logprob[r] += _log_softmax_at(logits[j, i - 1], fed[j][i])
            row = logits[j, k - 1]
            if queue[r]:  # the next token is forced too: score it, sample nothing
                logprob[r] += _log_softmax_at(row, queue[r][0])
                keep.append(j)
                continue
            allowed = None
            if constraints is not None:
                allowed = masks[r][: row.shape[0]]
                if not allowed.any():  # cannot happen with a sound matcher: end the row cleanly
                    allowed = np.zeros_like(allowed)
                    allowed[[i for i in eos_ids if i < allowed.size]] = True
            t, raw, masked = pick_token(row, allowed, rngs[r], settings.temperature, settings.top_p)
            logprob[r] += raw
            constrained_lp[r] += masked
            if t in eos or (constraints is not None and constraints[r].is_eos(t)):
                done(r, "eos")
                continue
            generated[r].append(t)
            if constraints is not None:
                c = constraints[r]
                if not c.consume(t):
                    errors[r] = c.error  # a mask bug: never silent
                    done(r, "error")
                    continue
                if not c.is_stopped() and len(generated[r]) < settings.max_tokens:
                    forced = c.forced_tokens(settings.max_tokens - len(generated[r]))
                    generated[r].extend(forced)
                    queue[r].extend(forced)
                if c.is_stopped():
                    done(r, "stopped")  # the term is complete; only EOS could follow
                    continue
                if settings.max_nodes is not None and term_nodes(detokenize(generated[r])) > settings.max_nodes:
                    done(r, "size")  # past the style profile's size: no step more can save it
                    continue
            if len(generated[r]) >= settings.max_tokens:
                done(r, "length")
                continue
            queue[r].insert(0, t)
            keep.append(j)
        if len(keep) < len(active) and keep:
            stepper.keep(keep)
        active = [active[j] for j in keep]
    return [s for s in out if s is not None]
