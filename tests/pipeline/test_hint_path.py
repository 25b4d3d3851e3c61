"""A hint's path from generation to answer, counted: the term is parsed once, checked
against the grammar once, and verified by Z3 at most once per obligation set."""
from __future__ import annotations

import sys
from collections import Counter
from typing import Any

import pytest

from esso_ngs.grammar import membership
from esso_ngs.lang import sexpr
from esso_ngs.lang.expr import Expr
from esso_ngs.neural.backend import BackendStats, Prompt, Sample, SampleSettings
from esso_ngs.pipeline import two_stage
from esso_ngs.pipeline.extension import NeuralHintsExtension
from esso_ngs.pipeline.host import hints_via_extension
from esso_ngs.pipeline.two_stage import GenerateOptions, ModelChoice, ModelPlan
from esso_ngs.formats import load_spec
from esso_ngs.synth import SynthOptions, synthesize
from esso_ngs.verify import verifier
from esso_ngs.verify.tiers import ValidationSettings

from .helpers import INTENDED, spec_file

FEE = INTENDED["fee_bps"]["fee_expr"]
WRONG = "(safe_div (* amount fee_bps) 100)"


class _Model:
    """A backend double: the same two answers for every prompt."""

    name = "fake"
    model_id = "fake"
    supports_constraints = False

    def __init__(self) -> None:
        self.stats = BackendStats()

    def model_hash(self) -> str:
        return "fake"

    def sample(self, prompt: Prompt, settings: SampleSettings, constraint_text: str | None) -> list[Sample]:
        return [Sample(text=FEE), Sample(text=WRONG), Sample(text=FEE)]


def _text(term: Any) -> str:
    return term.strip() if isinstance(term, str) else sexpr.to_sexpr(term)


@pytest.fixture
def counted(monkeypatch: pytest.MonkeyPatch) -> Counter:
    """Counts, per canonical term text, parses, grammar checks and verifier runs."""
    calls: Counter = Counter()
    parse, check, verify_terms = sexpr.parse_term, membership.check_term, verifier.verify_terms

    def parse_term(text: str) -> Expr:
        calls["parse", text.strip()] += 1
        return parse(text)

    def check_(g: Any, term: Any) -> Any:
        calls["check", _text(term)] += 1
        return check(g, term)

    def verify_terms_(spec: Any, terms: Any, *args: Any, **kwargs: Any) -> Any:
        calls["verify", tuple(sorted((h, _text(t)) for h, t in terms.items()))] += 1
        return verify_terms(spec, terms, *args, **kwargs)

    # Every module that imported a function by name gets the counting one.
    for name, mod in list(sys.modules.items()):
        if not name.startswith("esso_ngs"):
            continue
        if getattr(mod, "parse_term", None) is parse:
            monkeypatch.setattr(mod, "parse_term", parse_term)
        if getattr(mod, "check_term", None) is check:
            monkeypatch.setattr(mod, "check_term", check_)
    monkeypatch.setattr(verifier, "verify_terms", verify_terms_)
    return calls


@pytest.mark.parametrize("tier", ["cheap", "full"])
def test_a_hint_is_parsed_checked_and_verified_once(counted: Counter, tier: str,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    spec = load_spec(spec_file("fee_bps"))
    monkeypatch.setitem(two_stage._BACKENDS, ("fake", "m", ()), _Model())
    ext = NeuralHintsExtension()
    ext.configure_plan(ModelPlan(ModelChoice("fake", "m", samples=3)),
                       GenerateOptions(validation=ValidationSettings(tier=tier, example_inputs=2000)), rounds=1)
    host = hints_via_extension(ext, spec, rounds=1)
    result = synthesize(spec, host.hints, SynthOptions(timeout_ms=60_000))
    hole = result.hole("fee_expr")
    assert hole.status == "solved" and hole.term == FEE and hole.found_by == "hint"
    for term in (FEE, WRONG):
        assert counted["parse", term] == 1, term  # read once from the model's text
        assert counted["check", term] == 1, term  # one grammar check, at sampling
    # Z3: the full tier verifies the answer and the synthesizer takes its verdict; the
    # wrong term is refuted on the examples tier (full) or, as a hint, by the verifier's
    # sampling (cheap): never twice.
    assert counted["verify", (("fee_expr", FEE),)] == 1
    assert counted["verify", (("fee_expr", WRONG),)] <= 1
    assert hole.z3_calls == (0 if tier == "full" else 1)


class _ForeignExtension:
    """Another package's `neural_hints` object: plain ranked terms through the protocol."""

    name = "foreign"

    def __init__(self) -> None:
        self.calls: list[tuple[Any, Any, Any]] = []

    def hints_for(self, hole: Any, kernel: Any, synth: Any, examples: Any) -> list[str]:
        self.calls.append((hole, kernel, synth))
        return [WRONG, FEE]


def test_a_foreign_extension_goes_through_the_protocol() -> None:
    spec = load_spec(spec_file("fee_bps"))
    ext = _ForeignExtension()
    host = hints_via_extension(ext, spec, rounds=2)
    assert len(ext.calls) == 1  # a foreign host's list has no `.passing`: one round
    hole, kernel, synth = ext.calls[0]
    assert hole.hole_id == "fee_expr" and kernel is spec.kernel and synth is spec.synth
    hints = host.hints["fee_expr"]
    assert [(h.term, h.score, h.source, h.expr is not None) for h in hints] == [
        (WRONG, 1.0, "foreign", True), (FEE, 0.5, "foreign", True)]
    result = synthesize(spec, host.hints, SynthOptions(timeout_ms=60_000))
    assert result.hole("fee_expr").term == FEE and result.hole("fee_expr").winning_hint == 1
