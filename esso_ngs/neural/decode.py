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

The masks for step t are computed before its forward pass, because the model's
output head is then evaluated for the tokens some row may draw only (their
union, a few hundred of a 49k vocabulary): on a 135M model the full head is a
quarter of a decoding step. So a constrained sample's `logprob` is its
log-probability under the grammar mask (the distribution it was drawn from;
a token the grammar forces adds nothing), never the model's unmasked one,
which would need the whole head at every step.
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
    vocab: int  # the number of logits the model has (token ids 0 .. vocab-1)

    def forward(self, tokens: Sequence[Sequence[int]], columns: np.ndarray | None) -> Callable[[], np.ndarray]:
        """Start one forward pass feeding `tokens[j]` to live row j (the same count k
        for every row); the callable returns the [rows, len(columns)] float32 logits
        of each row's last position for the token ids `columns` (sorted, < vocab),
        or for the whole vocabulary when `columns` is None."""
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
               temperature: float, top_p: float) -> tuple[int, float]:
    """(index into `logits` of the token drawn, its log-prob under the mask `allowed`,
    or over all of `logits` without one) for one row."""
    ids = np.flatnonzero(allowed) if allowed is not None else None
    vals = logits[ids] if ids is not None else logits
    lp = vals - _logsumexp(vals)
    if temperature == 0 or rng is None:
        j = int(np.argmax(lp))
    else:
        cand = _nucleus(lp, top_p)
        scores = lp[cand] / temperature + rng.gumbel(size=cand.size)
        j = int(cand[int(np.argmax(scores))])
    return (int(ids[j]) if ids is not None else j), float(lp[j])


def drawable_columns(masks: Sequence[np.ndarray], eos_ids: Sequence[int], vocab: int) -> np.ndarray:
    """The sorted token ids (< vocab) some row may draw: the union of the rows'
    masks, and the EOS ids a row whose mask is empty ends with."""
    if not masks:
        return np.zeros(0, dtype=np.int64)
    union = np.logical_or.reduce([m[:vocab] for m in masks])
    union[[i for i in eos_ids if i < union.size]] = True
    return np.flatnonzero(union)


# A grammar step draws from a few hundred tokens: the probe's head is that wide.
_PROBE_COLUMNS = np.arange(11, 11 + 512)


def fastest_step_s(stepper: Stepper, rows: int, steps: int) -> float:
    """Seconds of the fastest of `steps` decoding steps over `rows` rows (the speed
    probe of `--backend auto`: on a shared machine the slower steps measure the neighbours)."""
    times = []
    for i in range(steps):
        t0 = time.perf_counter()
        stepper.forward([[11 + i]] * rows, _PROBE_COLUMNS)()
        times.append(time.perf_counter() - t0)
    return min(times)


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
                        error=errors[r])
        if on_sample is not None:
            on_sample(r, out[r])

    while active and not (should_stop is not None and should_stop()):
        k = min(len(queue[r]) for r in active)
        fed = [queue[r][:k] for r in active]
        for r in active:
            del queue[r][:k]
        # The masks of the rows that draw next, then the logits of what they may draw.
        masks: dict[int, np.ndarray] = {}
        columns: np.ndarray | None = None
        if constraints is not None:
            masks = {r: constraints[r].allowed_mask() for r in active if not queue[r]}
            columns = drawable_columns(list(masks.values()), eos_ids, stepper.vocab)
        logits = stepper.forward(fed, columns)()
        keep: list[int] = []
        for j, r in enumerate(active):
            if queue[r]:  # the next token is forced too: nothing to draw (log-prob 0 under the mask)
                keep.append(j)
                continue
            row = logits[j]
            allowed = None
            if columns is not None:
                allowed = masks[r][columns]
                if not allowed.any():  # cannot happen with a sound matcher: end the row cleanly
                    allowed = np.isin(columns, eos_ids)
            index, lp = pick_token(row, allowed, rngs[r], settings.temperature, settings.top_p)
            t = int(columns[index]) if columns is not None else index
            logprob[r] += lp
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
