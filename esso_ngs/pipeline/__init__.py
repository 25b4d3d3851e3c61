"""The hint pipeline: generate -> validate (verify.tiers) -> rank -> hints file / synthesizer.

    aggregate.py   candidates merged over stages and rounds, ranked
    two_stage.py   model choice (options or config file), small -> large escalation
    hintsfile.py   esso-llm-hints/v1 from rankings, and ranked hints back from a file
    extension.py   the ESSO extension `neural_hints` (entry point group esso.extensions)
    host.py        esso-ngs as a host of that protocol (synth --neural-hints)
    batch.py       run directories: per-spec hints/results, summary.json, resumable; the driver
    executor.py    where per-spec tasks run: this process or local worker processes; retry policy
    ray_executor.py  on a Ray cluster, hints from model-holding actors (Ray imported only here)
    sweep.py       sweep files: one run directory per configuration
    report.py      table and speedup plot of a run
    compare.py     configurations side by side
    records.py     JSONL records of solutions and failed candidates
"""
from ..verify.candidate import TIERS, Candidate, Checks, rank, rank_key
from ..verify.tiers import ValidationSettings, check_cheap, check_examples, check_full, validate
from .aggregate import HoleRanking
from .hintsfile import hints_data, hints_from_rankings, ranked_hints, write_ranked_hints
from .two_stage import GenerateOptions, ModelChoice, ModelPlan, generate_ranked, plan_from_config

__all__ = [
    "Candidate", "HoleRanking", "rank", "rank_key",
    "hints_data", "hints_from_rankings", "ranked_hints", "write_ranked_hints",
    "TIERS", "Checks", "ValidationSettings", "check_cheap", "check_examples", "check_full", "validate",
    "GenerateOptions", "ModelChoice", "ModelPlan", "generate_ranked", "plan_from_config",
]
