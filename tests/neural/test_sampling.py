"""Constrained sampling through the real mlx_lm path, aggregation, token limits, the cache."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from esso_ngs.formats.model import GrammarSpec
from esso_ngs.grammar import CompiledGrammar, bounded_lark_text, check_term, compile_grammar, grammar_for_hole
from esso_ngs.neural.backend import BackendStats, Message, Prompt, Sample, SampleSettings
from esso_ngs.neural.cache import SampleCache
from esso_ngs.neural.hints import hints_for_spec
from esso_ngs.neural.sampling import aggregate, extract_terms, sample_hole
from esso_ngs.neural.decode import term_nodes
from esso_ngs.formats import discover_specs, load_spec

ROOT = Path(__file__).resolve().parent.parent.parent
SPECS = discover_specs(ROOT / "benchmarks" / "specs")
FEE = Path(__file__).parent / "fixtures" / "fee_hole.yaml"
# (temperature, top_p, seed): greedy, moderate, hot
SETTINGS = ((0.0, 1.0, 0), (0.8, 0.95, 1), (1.5, 1.0, 2))


def _short_prompt(hole_id: str) -> Prompt:
    # What decoding must guarantee does not depend on the prompt: keep it short (fast).
    return Prompt((Message("system", "Write one term."), Message("user", f"term for {hole_id}")),
                  hole_id=hole_id)


def test_spec_suite_is_there() -> None:
    assert len(SPECS) >= 14


@pytest.mark.parametrize("spec_path", SPECS, ids=[p.name[: -len("_hole.yaml")] for p in SPECS])
def test_constrained_samples_are_in_the_grammar(spec_path: Path, mlx_backend) -> None:
    spec = load_spec(spec_path)
    for hole in spec.synth.holes:
        g = grammar_for_hole(spec, hole.hole_id)
        for temp, top_p, seed in SETTINGS:
            settings = SampleSettings(n=5, temperature=temp, top_p=top_p, seed=seed, max_tokens=64)
            r = sample_hole(mlx_backend, _short_prompt(hole.hole_id), settings, g)
            assert r.constrained and r.n_samples == 5
            assert r.n_errors == 0 and r.n_unparsable == 0
            assert r.n_in_grammar + r.n_token_limit + r.n_over_size == 5
            for c in r.candidates:
                assert c.in_grammar, (c.term, c.explanation)
                assert check_term(g, c.term).ok


def test_samples_are_reproducible_and_seeded(mlx_backend) -> None:
    spec = load_spec(FEE)
    g = grammar_for_hole(spec, "fee_expr")
    lark = bounded_lark_text(g)
    s = SampleSettings(n=6, temperature=1.2, seed=7, max_tokens=48)
    a = mlx_backend.sample(_short_prompt("fee_expr"), s, lark)
    b = mlx_backend.sample(_short_prompt("fee_expr"), s, lark)
    assert [x.text for x in a] == [x.text for x in b]
    assert [x.seed for x in a] == [s.seed_for(i) for i in range(6)]
    # sample i depends on its own seed only: a smaller n gives a prefix
    c = mlx_backend.sample(_short_prompt("fee_expr"), SampleSettings(n=3, temperature=1.2, seed=7,
                                                                      max_tokens=48), lark)
    assert [x.text for x in c] == [x.text for x in a[:3]]
    other = mlx_backend.sample(_short_prompt("fee_expr"), SampleSettings(n=6, temperature=1.2, seed=8,
                                                                          max_tokens=48), lark)
    assert [x.text for x in other] != [x.text for x in a]


class _LongTerms:
    """A grammar whose every term takes several tokens (parentheses are tokens of their own)."""

    TERMS = ("(+ amount (* bps 10000))", "(- amount 1)")

    @classmethod
    def compiled(cls) -> CompiledGrammar:
        return compile_grammar(GrammarSpec("G_long", "S", (("S", cls.TERMS),)), None, ("amount", "bps"))


def test_token_limit_hits_are_dropped_and_counted(mlx_backend) -> None:
    g = _LongTerms.compiled()
    r = sample_hole(mlx_backend, _short_prompt("x"), SampleSettings(n=6, temperature=1.0, max_tokens=2), g)
    assert r.n_token_limit == 6 and r.candidates == [] and r.n_in_grammar == 0
    samples = mlx_backend.sample(_short_prompt("x"), SampleSettings(n=6, temperature=1.0, max_tokens=2),
                                 bounded_lark_text(g))
    assert all(s.hit_token_limit and s.finish == "length" and s.tokens == 2 for s in samples)
    # with room enough, the same samples complete and are kept
    r = sample_hole(mlx_backend, _short_prompt("x"), SampleSettings(n=6, temperature=1.0, max_tokens=40), g)
    assert r.n_token_limit == 0 and sum(c.count for c in r.candidates) == 6
    assert {c.term for c in r.candidates} <= set(_LongTerms.TERMS)


def test_unconstrained_sampling_runs_and_is_checked(mlx_backend) -> None:
    spec = load_spec(FEE)
    g = grammar_for_hole(spec, "fee_expr")
    r = sample_hole(mlx_backend, _short_prompt("fee_expr"), SampleSettings(n=4, temperature=1.0, max_tokens=8), g,
                    constrained=False)
    assert not r.constrained and r.n_samples == 4
    # random weights write noise: whatever parses is checked, nothing is trusted
    assert r.n_token_limit + r.n_unparsable + sum(c.count for c in r.candidates) >= 4 - r.n_errors


class _Recorder:
    """A backend double: fixed samples, counts calls."""

    name = "fake"
    model_id = "fake-model"
    supports_constraints = True

    def __init__(self, texts: list[str]) -> None:
        self.texts = texts
        self.calls = 0
        self.stats = BackendStats()

    def model_hash(self) -> str:
        return "sha256:fake"

    def sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None) -> list[Sample]:
        self.calls += 1
        return [Sample(text=t, logprob=-float(i), tokens=3, seed=settings.seed_for(i))
                for i, t in enumerate(self.texts[: settings.n])]


def test_cache_returns_identical_candidates_without_the_backend(tmp_path: Path, mlx_backend) -> None:
    spec = load_spec(FEE)
    g = grammar_for_hole(spec, "fee_expr")
    cache = SampleCache(tmp_path / "samples")
    settings = SampleSettings(n=6, temperature=1.0, seed=3, max_tokens=48)
    first = sample_hole(mlx_backend, _short_prompt("fee_expr"), settings, g, cache=cache)
    assert not first.from_cache and first.cache_key

    class _Forbidden(_Recorder):
        name = mlx_backend.name

        def model_hash(self) -> str:
            return mlx_backend.model_hash()

        def sample(self, *a, **k):  # type: ignore[override]
            raise AssertionError("a cached rerun must not sample")

    again = sample_hole(_Forbidden([]), _short_prompt("fee_expr"), settings, g, cache=cache)
    assert again.from_cache and again.cache_key == first.cache_key
    assert [c.to_json() for c in again.candidates] == [c.to_json() for c in first.candidates]
    # any change of settings, prompt or grammar is another key
    other = _Recorder(["amount"])
    sample_hole(other, _short_prompt("fee_expr"), SampleSettings(n=1, seed=4), g, cache=cache)
    assert other.calls == 1


def test_aggregate_counts_and_ranks() -> None:
    g = grammar_for_hole(load_spec(FEE), "fee_expr")
    samples = [
        Sample("(safe_div (* amount bps) 10000)", logprob=-3.0),
        Sample("(safe_div  (* amount bps)\n 10000)", logprob=-2.0),  # same term, other spacing
        Sample("amount", logprob=-1.0),
        Sample("(+ amount 1)", logprob=-0.5),  # a term, not of the grammar
        Sample("(safe_div (* amount", hit_token_limit=True, finish="length"),
        Sample("no term here!", logprob=-9.0),
    ]
    cands, counts = aggregate(samples, g, "term")
    assert [(c.term, c.count, c.in_grammar) for c in cands] == [
        ("(safe_div (* amount bps) 10000)", 2, True), ("amount", 1, True), ("(+ amount 1)", 1, False)]
    assert cands[0].logprob == -2.0
    assert "+" in cands[2].explanation or "amount" in cands[2].explanation
    assert counts == {"token_limit": 1, "over_size": 0, "unparsable": 1, "errors": 0, "in_grammar": 3}


def test_extract_terms_from_free_text() -> None:
    text = ("Sure! Here are candidates:\n```\n1. (safe_div (* amount bps) 10000)\n- `amount`\n"
            "* (min a b), (max a b)\n```\nThe fee is amount * bps / 10000.")
    assert extract_terms(text) == ["(safe_div (* amount bps) 10000)", "amount", "(min a b)", "(max a b)"]
    assert extract_terms('["(+ a 1)", "b", "(+ a 1)"]') == ["(+ a 1)", "b"]
    assert extract_terms("(+ a (* b") == []
    assert extract_terms("The answer is: x") == []


def test_hints_for_spec_full_prompt(mlx_backend) -> None:
    spec = load_spec(FEE)
    results = hints_for_spec(spec, mlx_backend, SampleSettings(n=4, temperature=1.0, seed=1, max_tokens=48))
    assert [r.hole_id for r in results] == ["fee_expr"]
    r = results[0]
    assert r.mode == "term" and r.constrained
    assert all(c.in_grammar for c in r.candidates)
    assert r.stats["prompt_tokens"] > 200


def test_a_row_past_the_node_limit_ends_and_no_other_sample_changes(mlx_backend) -> None:
    spec = load_spec(FEE)
    lark = bounded_lark_text(grammar_for_hole(spec, "fee_expr"), max_nodes=15)
    free = SampleSettings(n=12, temperature=1.2, seed=3, max_tokens=64)
    unbounded = mlx_backend.sample(_short_prompt("fee_expr"), free, lark)
    limit = 3
    bounded = mlx_backend.sample(_short_prompt("fee_expr"), replace(free, max_nodes=limit), lark)
    by_seed = {s.seed: s for s in unbounded}
    cut = [s for s in bounded if s.finish == "size"]
    assert cut and len(bounded) == len(unbounded)  # some rows ended early, every row came back
    for s in bounded:
        before = by_seed[s.seed]
        if s.finish == "size":  # the unbounded row grew past the limit too, from the same start
            assert term_nodes(s.text) == limit + 1 and term_nodes(before.text) > limit
            assert before.text.startswith(s.text.rstrip())
        else:  # within the limit: the very same sample
            assert (s.text, s.finish) == (before.text, before.finish) and term_nodes(s.text) <= limit
