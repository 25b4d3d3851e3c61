"""The output head is computed for the tokens the grammar lets a row draw only (decode.py):
the same samples as the whole head, a constrained log-prob taken under the mask, and a
model whose logits are more than head(decoder) run whole."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import pytest

from esso_ngs.formats import load_spec
from esso_ngs.grammar import bounded_lark_text, grammar_for_hole
from esso_ngs.neural.backend import Message, Prompt, SampleSettings, make_backend
from esso_ngs.neural.decode import decode_batch, drawable_columns

FEE = Path(__file__).resolve().parents[2] / "benchmarks" / "specs" / "fee_bps_hole.yaml"
PROMPT = Prompt((Message("system", "Write one term."), Message("user", "the fee, please")), hole_id="fee_expr")
SETTINGS = SampleSettings(n=5, temperature=1.3, seed=11, max_tokens=40)

# ---------------------------------------------------------------- the decoding loop, with fakes
VOCAB, EOS = 8, 7
LOGITS = np.array([0.3, -1.0, 0.5, 1.5, 2.0, -0.2, 0.9, -0.4], dtype=np.float32)


class _Script:
    """A grammar over token ids: 2 then the forced 4 5 then 6 | EOS; or 3 then 6 | EOS."""

    error = ""
    mask_time_s = 0.0

    def __init__(self) -> None:
        self.state = "start"

    def allowed_mask(self) -> np.ndarray:
        mask = np.zeros(VOCAB, dtype=bool)
        mask[[2, 3] if self.state == "start" else [6, EOS]] = True
        return mask

    def consume(self, token: int) -> bool:
        self.state = {2: "after2", 3: "end", 6: "done"}[token]
        return True

    def forced_tokens(self, limit: int) -> list[int]:
        if self.state != "after2":
            return []
        self.state = "end"
        return [4, 5]

    def is_stopped(self) -> bool:
        return self.state == "done"

    def is_eos(self, token: int) -> bool:
        return token == EOS


class _Stepper:
    vocab = VOCAB

    def __init__(self) -> None:
        self.asked: list[list[int] | None] = []
        self.rows = 0

    def forward(self, tokens: Sequence[Sequence[int]], columns: np.ndarray | None) -> Callable[[], np.ndarray]:
        self.asked.append(None if columns is None else columns.tolist())
        self.rows = len(tokens)
        out = np.tile(LOGITS, (len(tokens), 1))
        return lambda: out if columns is None else out[:, columns]

    def keep(self, positions: Sequence[int]) -> None:
        pass


def _masked_logprob(token: int, allowed: list[int]) -> float:
    values = LOGITS[allowed]
    return float(LOGITS[token] - (values.max() + math.log(np.exp(values - values.max()).sum())))


def test_the_head_is_asked_for_the_drawable_tokens_and_logprobs_are_under_the_mask() -> None:
    stepper = _Stepper()
    seeds = list(range(12))
    samples = decode_batch(stepper, 1, seeds, SampleSettings(n=12, temperature=1.0, seed=0, max_tokens=10),
                           [_Script() for _ in seeds], {EOS}, lambda toks: " ".join(map(str, toks)))
    assert stepper.asked[0] == [2, 3, EOS]  # the union of the masks, and EOS
    assert all(cols is not None and set(cols) <= {2, 3, 6, EOS} for cols in stepper.asked)
    texts = {s.text for s in samples}
    assert texts >= {"2 4 5", "3"}  # both branches were drawn (12 seeds)
    for s in samples:
        drawn = [int(t) for t in s.text.split()]
        expected = _masked_logprob(drawn[0], [2, 3])  # forced 4 5 add nothing: the mask leaves no choice
        expected += _masked_logprob(6 if s.finish == "stopped" else EOS, [6, EOS])
        assert s.logprob == pytest.approx(expected, abs=1e-5)


def test_unconstrained_decoding_asks_for_the_whole_vocabulary() -> None:
    stepper = _Stepper()
    [sample] = decode_batch(stepper, 1, [0], SampleSettings(n=1, temperature=0.0, max_tokens=3), None, {EOS},
                            lambda toks: " ".join(map(str, toks)))
    assert stepper.asked == [None] * sample.tokens
    log_softmax = LOGITS - (LOGITS.max() + math.log(np.exp(LOGITS - LOGITS.max()).sum()))
    assert sample.text == "4 4 4" and sample.logprob == pytest.approx(3 * log_softmax[4], abs=1e-5)


def test_drawable_columns_stay_inside_the_model_and_keep_eos() -> None:
    wide = np.zeros(12, dtype=bool)
    wide[[1, 9, 11]] = True  # a tokenizer wider than the model's logits
    assert drawable_columns([wide], [7], 10).tolist() == [1, 7, 9]
    assert drawable_columns([], [7], 10).tolist() == []


# ---------------------------------------------------------------- the real backends, tiny model
def _lark() -> str:
    return bounded_lark_text(grammar_for_hole(load_spec(FEE), "fee_expr"))


def _samples(backend: Any) -> list[tuple[str, int, str, float]]:
    return [(s.text, s.tokens, s.finish, s.logprob) for s in backend.sample(PROMPT, SETTINGS, _lark())]


def _same(a: list[tuple[str, int, str, float]], b: list[tuple[str, int, str, float]]) -> None:
    assert [x[:3] for x in a] == [x[:3] for x in b]
    assert [x[3] for x in a] == pytest.approx([x[3] for x in b], abs=1e-3)


def test_torch_samples_are_the_same_with_the_head_cut_to_the_grammar(tiny_model_dir: Path) -> None:
    pytest.importorskip("torch")
    from esso_ngs.neural import transformers_backend as tb

    backend = make_backend("transformers", str(tiny_model_dir), batch_size=5, prefix_cache=False)
    model, _, _ = backend.load()
    assert tb.split_head(model) is not None  # a plain decoder + linear head: the cut applies
    cut = _samples(backend)
    tb._SPLIT[id(model)] = None  # as for a model that scales its logits: run whole
    try:
        _same(cut, _samples(backend))
    finally:
        tb._SPLIT.pop(id(model))


def test_mlx_samples_are_the_same_with_the_head_cut_to_the_grammar(tiny_model_dir: Path) -> None:
    from esso_ngs.neural import mlx_backend as mb

    backend = make_backend("mlx", str(tiny_model_dir), batch_size=5, prefix_cache=False)
    model, _ = backend.load()
    split, width = mb.split_head(model)
    assert split is not None and width == split[1].shape[0]
    cut = _samples(backend)
    mb._HEADS[id(model)] = (None, width)
    try:
        _same(cut, _samples(backend))
    finally:
        mb._HEADS.pop(id(model))


def test_a_model_that_scales_its_logits_runs_whole(tiny_model_dir: Path) -> None:
    torch = pytest.importorskip("torch")
    from esso_ngs.neural import transformers_backend as tb

    backend = make_backend("transformers", str(tiny_model_dir), batch_size=5, prefix_cache=False)
    model, _, _ = backend.load()
    forward = model.forward

    def scaled(*args: Any, **kwargs: Any) -> Any:
        out = forward(*args, **kwargs)
        out.logits = out.logits * 0.5  # what a logit scale or soft cap does: not head(decoder(x))
        return out

    model.forward = scaled
    tb._SPLIT.pop(id(model), None)
    try:
        assert tb.split_head(model) is None
        tokens = torch.tensor([[3, 4, 5, 6]])
        columns = np.array([2, 9, 17])
        _, logits = tb.model_step(model, tokens, None, columns)
        with torch.no_grad():
            whole = model(tokens).logits[:, -1].numpy()
        np.testing.assert_allclose(logits, whole[:, columns], atol=1e-5)
    finally:
        del model.forward
        tb._SPLIT.pop(id(model), None)
