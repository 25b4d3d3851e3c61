"""Every benchmark spec's intended answer verifies; wrong answers get real counterexamples."""
from __future__ import annotations

import pytest

from esso_ngs.lang.evaluate import evaluate
from esso_ngs.lang.expr import fill_holes
from esso_ngs.lang.sexpr import parse_term
from esso_ngs.formats import IntType, load_spec
from esso_ngs.verify import VerifyOptions, obligations_for, verify, weak_spec_warnings
from esso_ngs.verify.domain import Domain

from benchspecs import hole_ids, holes, spec_path

HOLES = holes()


def _others(prefix: str, hole_id: str) -> dict:
    """Intended terms of the spec's other holes (obligations may need them)."""
    return {h: parse_term(e["intended"]) for p, h, e in HOLES if p == prefix and h != hole_id}


@pytest.mark.parametrize(("prefix", "hole_id", "entry"), HOLES, ids=hole_ids(HOLES))
def test_intended_answer_verifies(prefix: str, hole_id: str, entry: dict) -> None:
    spec = load_spec(spec_path(prefix))
    verdict = verify(spec, hole_id, parse_term(entry["intended"]), others=_others(prefix, hole_id))
    assert verdict.status == "verified", verdict.describe()
    assert verdict.obligations > 0


def _in_domain(domain: Domain, inputs: dict) -> bool:
    for name, t in zip(domain.names, domain.types):
        if isinstance(t, IntType):
            v = inputs[name]
            if (t.min is not None and v < t.min) or (t.max is not None and v > t.max):
                return False
    return True


@pytest.mark.parametrize(("prefix", "hole_id", "entry"), HOLES, ids=hole_ids(HOLES))
def test_wrong_answers_are_refuted_with_real_counterexamples(prefix: str, hole_id: str, entry: dict) -> None:
    spec = load_spec(spec_path(prefix))
    enums = spec.kernel.enum_index()
    assert entry["wrong"], "every spec records at least one wrong answer"
    for text in entry["wrong"]:
        term = parse_term(text)
        verdict = verify(spec, hole_id, term, others=_others(prefix, hole_id))
        assert verdict.status == "refuted", f"{text}: {verdict.describe()}"
        cex = verdict.counterexample
        assert cex is not None
        # Re-check independently: the inputs are in the domain, satisfy the premise,
        # and the obligation named by the counterexample fails under the exact evaluator.
        obligations = [ob for ob in obligations_for(spec, hole_id).obligations
                       if ob.kind == cex.obligation and ob.label == cex.label
                       and f"{ob.place.action}.{ob.place.field}" == cex.place]
        assert obligations, cex.describe()
        ob = obligations[0]
        inputs = dict(cex.inputs)
        assert _in_domain(ob.domain, inputs)
        assert evaluate(ob.premise, inputs, enums) is True
        terms = {hole_id: term, **_others(prefix, hole_id)}
        assert evaluate(fill_holes(ob.goal, terms), inputs, enums) is False
        assert cex.term_values[hole_id] == evaluate(term, inputs, enums)


@pytest.mark.parametrize(("strategy", "prefix", "hole_id", "text"), [
    ("int", "cp_swap", "amount_out_expr", "(safe_div (* reserve_b amount_in) (+ reserve_a amount_in))"),
    ("bv", "vault_total", "total_next", "(+ total amount)"),
    ("bv", "twap_accumulator", "twap_increment", "(* price (- now last_ts))"),
])
def test_each_encoding_alone_proves(strategy: str, prefix: str, hole_id: str, text: str) -> None:
    spec = load_spec(spec_path(prefix))
    verdict = verify(spec, hole_id, parse_term(text), VerifyOptions(strategy=strategy, timeout_ms=20000))
    assert verdict.status == "verified", verdict.describe()
    assert verdict.methods and all(m.startswith(f"z3-{strategy}") for m in verdict.methods)


def test_sampling_only_never_claims_verified() -> None:
    spec = load_spec(spec_path("fee_bps"))
    verdict = verify(spec, "fee_expr", parse_term("(safe_div (* amount fee_bps) 10000)"),
                     VerifyOptions(strategy="sample"))
    assert verdict.status == "unknown"


def test_z3_proof_finds_counterexample_that_sampling_misses() -> None:
    # Differs from the intended fee only at one amount: sampling is unlikely to hit it,
    # the proof must, and the counterexample must replay under the exact evaluator.
    spec = load_spec(spec_path("fee_bps"))
    term = parse_term("(ite (= amount 777777) 1 (safe_div (* amount fee_bps) 10000))")
    verdict = verify(spec, "fee_expr", term)
    if verdict.status == "refuted":
        assert verdict.counterexample is not None
    else:  # the grammar profile is irrelevant to verify: only correctness counts
        pytest.fail(verdict.describe())


def test_weak_spec_is_reported() -> None:
    weak = [(s, h, e) for s, h, e in HOLES if e.get("trivial")]
    assert weak, "the suite has a weak spec"
    prefix, hole_id, entry = weak[0]
    warnings = weak_spec_warnings(load_spec(spec_path(prefix)))
    assert any(hole_id in w and "trivial" in w for w in warnings), warnings
