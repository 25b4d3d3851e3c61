"""`--backend openai` as the way to use a served model (vLLM): the grammar field, retries with
backoff, the concurrency limit, the sample cache shared by workers; against a fake local server."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from esso_ngs.cli.main import main
from esso_ngs.errors import UserError
from esso_ngs.grammar import decoding_lark_text, grammar_for_hole
from esso_ngs.neural.backend import SampleSettings, make_backend
from esso_ngs.neural.cache import SampleCache
from esso_ngs.neural.hints import hints_for_spec
from esso_ngs.neural.prompt import build_prompt
from esso_ngs.formats import load_spec

from .fake_openai import FakeServer, reply

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"
ANSWER = "(safe_div (* amount bps) 10000)"


def _backend(server: FakeServer, **options):
    return make_backend("openai", "served", base_url=server.url, retry_base_s=0.01, **options)


def test_vllm_structured_outputs_field_carries_the_lark_grammar() -> None:
    spec = load_spec(FEE)
    with FakeServer([reply(ANSWER)]) as server:
        [r] = hints_for_spec(spec, _backend(server, grammar_field="structured_outputs"), SampleSettings(n=2))
    assert r.constrained and r.mode == "term" and [c.term for c in r.candidates] == [ANSWER]
    bounded = decoding_lark_text(grammar_for_hole(spec, "fee_expr"))
    for q in server.requests:
        assert q["body"]["structured_outputs"] == {"grammar": bounded}
        assert "guided_grammar" not in q["body"]


def test_429_5xx_and_dropped_connections_are_retried_with_the_same_request() -> None:
    spec = load_spec(FEE)
    settings = SampleSettings(n=2, seed=3)
    with FakeServer([reply(ANSWER)], failures=[503, 429, "drop", 500]) as server:
        [r] = hints_for_spec(spec, _backend(server, concurrency=1, max_retries=4), settings)
    assert server.failed == [503, 429, "drop", 500]
    assert r.n_samples == 2 and r.n_errors == 0 and r.candidates[0].count == 2
    # every sample kept its own seed through its retries
    assert [q["body"]["seed"] for q in server.requests] == [settings.seed_for(0), settings.seed_for(1)]


def test_retries_end_in_one_line_and_client_errors_are_not_retried() -> None:
    spec = load_spec(FEE)
    with FakeServer([reply(ANSWER)], failures=[503, 503, 503]) as server:
        with pytest.raises(UserError, match=r"HTTP 503: .*\(after 3 tries\)$"):
            hints_for_spec(spec, _backend(server, max_retries=2), SampleSettings(n=1))
    assert server.failed == [503, 503, 503] and server.requests == []
    with FakeServer([reply(ANSWER)], status=400) as server:
        with pytest.raises(UserError, match="HTTP 400") as err:
            hints_for_spec(spec, _backend(server, max_retries=4), SampleSettings(n=1))
    assert "tries" not in str(err.value) and len(server.requests) == 1
    with FakeServer([reply(ANSWER)], status=400) as server:
        with pytest.raises(UserError, match="drop --server-grammar-field"):
            hints_for_spec(spec, _backend(server, grammar_field="structured_outputs"), SampleSettings(n=1))
    with pytest.raises(UserError, match="concurrency must be an integer >= 1"):
        make_backend("openai", "served", concurrency=0)


def test_concurrency_limit_and_sample_order() -> None:
    spec = load_spec(FEE)
    settings = SampleSettings(n=8, seed=1)
    with FakeServer([reply(ANSWER)], delay_s=0.2) as server:
        backend = _backend(server, concurrency=3)
        samples = backend.sample(build_prompt(spec, "fee_expr"), settings, None)
    assert 2 <= server.max_in_flight <= 3
    assert [s.seed for s in samples] == [settings.seed_for(i) for i in range(8)]  # in sample order
    assert sorted(q["body"]["seed"] for q in server.requests) == sorted(settings.seed_for(i) for i in range(8))


def test_sample_cache_is_shared_by_workers_whatever_their_concurrency(tmp_path: Path) -> None:
    spec = load_spec(FEE)
    cache = SampleCache(tmp_path / "shared")
    settings = SampleSettings(n=3, seed=7)
    with FakeServer([reply(ANSWER), reply("amount")]) as server:
        [first] = hints_for_spec(spec, _backend(server, concurrency=1), settings, cache=cache)
        [second] = hints_for_spec(spec, _backend(server, concurrency=3), settings, cache=cache)
    assert len(server.requests) == 3  # the second worker asked the server nothing
    assert not first.from_cache and second.from_cache and second.cache_key == first.cache_key
    assert [c.to_json() for c in second.candidates] == [c.to_json() for c in first.candidates]


def test_batch_against_a_served_model(tmp_path: Path, capsys) -> None:
    specs = tmp_path / "specs"
    specs.mkdir()
    for f in FEE.parent.glob("fee_*"):
        shutil.copy(f, specs / f.name)
    run = tmp_path / "run"
    with FakeServer([reply(ANSWER)]) as server:
        assert main(["batch", str(specs), "--backend", "openai", "--model", "served", "--base-url", server.url,
                     "--server-grammar-field", "structured_outputs", "--server-concurrency", "2",
                     "--samples", "3", "--validate", "cheap", "--output", str(run)]) == 0
    assert "1 spec done" in capsys.readouterr().out
    assert len(server.requests) == 3 and all("structured_outputs" in q["body"] for q in server.requests)
    doc = json.loads((run / "fee.result.json").read_text())
    assert doc["hinted"]["holes"]["fee_expr"]["term"] == ANSWER
    assert doc["holes"]["fee_expr"]["ranking"]["best"] == ANSWER
    settings = json.loads((run / "run.json").read_text())["settings"]["models"]["small"]
    assert settings["grammar_field"] == "structured_outputs" and settings["concurrency"] == 2
