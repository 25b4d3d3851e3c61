"""Verification: the obligations of a hole, sample-and-refute, Z3 proof; the candidate
record (`candidate.py`) and the validation tiers that fill in its checks (`tiers.py`)."""
from .domain import Domain, sample_inputs
from .obligations import Obligation, ObligationSet, obligations_for
from .verifier import Counterexample, Verdict, VerifyOptions, verify, verify_terms
from .weak import weak_spec_warnings

__all__ = [
    "Counterexample", "Domain", "Obligation", "ObligationSet", "Verdict", "VerifyOptions",
    "obligations_for", "sample_inputs", "verify", "verify_terms", "weak_spec_warnings",
]
