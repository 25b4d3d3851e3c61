"""The openai-compatible backend against a fake local server, and the replay backend."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Iterator

import pytest

from esso_ngs.cli.main import main
from esso_ngs.errors import UserError
from esso_ngs.grammar import decoding_lark_text, grammar_for_hole
from esso_ngs.neural.backend import SampleSettings, make_backend
from esso_ngs.neural.hints import hints_for_spec
from esso_ngs.formats import load_hints, load_spec

from .fake_openai import FakeServer, reply

FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"


@pytest.fixture
def server() -> Iterator[FakeServer]:
    replies = [
        reply("Here you go:\n1. (safe_div (* amount bps) 10000)\n2. amount\n3. amount * bps / 10000",
               logprobs=[-0.5, -1.0]),
        reply("(safe_div (* amount bps) 100)\n(+ amount 1)"),
        reply("(safe_div (* amount", finish="length"),
    ]
    with FakeServer(replies) as s:
        yield s


def test_openai_unconstrained_list_mode(server: FakeServer) -> None:
    spec = load_spec(FEE)
    # one request at a time: the fake answers in arrival order, and this test reads replies by index
    backend = make_backend("openai", "smol", base_url=server.url, concurrency=1)
    assert not backend.supports_constraints
    [r] = hints_for_spec(spec, backend, SampleSettings(n=3, temperature=0.7, seed=5, max_tokens=40))
    assert r.mode == "list" and not r.constrained
    assert r.n_samples == 3 and r.n_token_limit == 1
    got = {c.term: (c.count, c.in_grammar) for c in r.candidates}
    assert got == {"(safe_div (* amount bps) 10000)": (1, True), "amount": (1, True),
                   "(safe_div (* amount bps) 100)": (1, True), "(+ amount 1)": (1, False)}
    assert r.candidates[-1].term == "(+ amount 1)"  # out of grammar ranks last
    assert next(c for c in r.candidates if c.term == "amount").logprob == -1.5
    # one request per sample, each with its own seed, the prompt as chat messages
    bodies = [q["body"] for q in server.requests]
    assert [q["path"] for q in server.requests] == ["/v1/chat/completions"] * 3
    assert [b["seed"] for b in bodies] == [SampleSettings(seed=5).seed_for(i) for i in range(3)]
    assert all(b["model"] == "smol" and b["temperature"] == 0.7 and b["max_tokens"] == 40 for b in bodies)
    assert bodies[0]["messages"][0]["role"] == "system" and "fee_expr" in bodies[0]["messages"][-1]["content"]
    assert "guided_grammar" not in bodies[0]


def test_openai_server_grammar_field(server: FakeServer) -> None:
    spec = load_spec(FEE)
    backend = make_backend("openai", "smol", base_url=server.url, grammar_field="guided_grammar")
    [r] = hints_for_spec(spec, backend, SampleSettings(n=1, seed=0))
    assert r.constrained and r.mode == "term"
    sent = server.requests[0]["body"]["guided_grammar"]
    assert sent == decoding_lark_text(grammar_for_hole(spec, "fee_expr"))
    # term mode reads the first term of a chatty answer; the grammar is checked again
    assert r.candidates[0].term == "(safe_div (* amount bps) 10000)" and r.candidates[0].in_grammar


def test_openai_errors_are_one_line(capsys, monkeypatch) -> None:
    monkeypatch.setenv("ESSO_NGS_OPENAI_RETRIES", "1")  # one retry, after 0.5 s
    with FakeServer([reply("x")], status=503) as s:
        err_rc = main(["hints", str(FEE), "--backend", "openai", "--model", "smol", "--base-url", s.url,
                       "--samples", "1", "--no-cache"])
    assert err_rc == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "HTTP 503" in err
    assert main(["hints", str(FEE), "--backend", "openai", "--model", "smol",
                 "--base-url", "http://127.0.0.1:9/v1", "--samples", "1", "--no-cache"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "cannot reach the server" in err


def test_replay_from_hints_file(tmp_path: Path, capsys) -> None:
    spec = load_spec(FEE)
    data = {"schema": "esso-llm-hints/v1", "model_hash": "sha256:x", "synth_hash": "sha256:y",
            "holes": {"fee_expr": {"term": "(safe_div (* amount bps) 10000)", "source": "mlx:m", "rank": 0,
                                   "candidates": [
                                       {"term": "(safe_div (* amount bps) 10000)", "score": 0.6, "count": 3},
                                       {"term": "amount", "score": 0.2, "count": 1},
                                       {"term": "(+ amount 1)", "score": 0.2}]}}}
    path = tmp_path / "in.hints.json"
    path.write_text(json.dumps(data))
    backend = make_backend("replay", str(path))
    [r] = hints_for_spec(spec, backend, SampleSettings(n=10))
    assert [(c.term, c.count, c.in_grammar) for c in r.candidates] == [
        ("(safe_div (* amount bps) 10000)", 3, True), ("amount", 1, True), ("(+ amount 1)", 1, False)]
    # through the CLI, writing a hints file bound to the spec
    out = tmp_path / "out.hints.json"
    assert main(["hints", str(FEE), "--backend", "replay", "--model", str(path), "--output", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "3x" in printed and "NOT in grammar" in printed
    loaded = load_hints(out, spec)
    [hole] = loaded.holes
    assert hole.term == "(safe_div (* amount bps) 10000)" and hole.rank == 0
    assert [c.term for c in hole.candidates][:2] == ["(safe_div (* amount bps) 10000)", "amount"]


def test_replay_errors(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no such file"):
        make_backend("replay", str(tmp_path / "missing.json"))
    bad = tmp_path / "bad.json"
    bad.write_text("[1, 2]")
    with pytest.raises(UserError, match="not a hints file"):
        make_backend("replay", str(bad))


def test_replay_from_recorded_cache(tmp_path: Path, mlx_backend, private_cache: Path) -> None:
    from esso_ngs.neural.cache import SampleCache
    spec = load_spec(FEE)
    settings = SampleSettings(n=4, temperature=1.0, seed=2, max_tokens=48)
    [live] = hints_for_spec(spec, mlx_backend, settings, cache=SampleCache())
    replay = make_backend("replay", str(private_cache / "samples"))
    [again] = hints_for_spec(spec, replay, settings)
    assert [c.to_json() for c in again.candidates] == [c.to_json() for c in live.candidates]
