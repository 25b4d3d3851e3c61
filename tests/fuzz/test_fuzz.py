"""The fuzz corpus through the CLI (in-process): no traceback, the exit status of its
manifest entry, one error line on exit 2, no partial file, no hang.

`ESSO_FUZZ_MUTATIONS` sets the number of random mutations (default 60); the targeted
cases (one or more per class of issue 11) always run. `benchmarks/bench_fuzz.py`
runs the same corpus and prints the summary line with times and budgets.
"""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from .fuzzgen import cases, corpus_manifest, run_case

SEED = 0
MUTATIONS = int(os.environ.get("ESSO_FUZZ_MUTATIONS", "60"))
CORPUS = cases(SEED, MUTATIONS)
MANIFEST = Path(__file__).with_name("corpus_manifest.json")


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_fuzz_case(case, tmp_path: Path) -> None:
    outcome = run_case(case, tmp_path)
    assert outcome.ok, f"{case.name} ({case.cls}): {outcome.problems}"


def test_corpus_is_reproducible() -> None:
    """The seeded generator gives the checked-in corpus (names, commands, expected
    statuses and file hashes): a fuzz failure can be replayed exactly."""
    want = json.loads(MANIFEST.read_text())
    got = corpus_manifest(cases(want["seed"], want["mutations"]), want["seed"], want["mutations"])
    assert got == want


def test_every_class_is_covered() -> None:
    classes = {c.cls for c in CORPUS}
    assert {"alias", "depth", "duplicate", "io", "budget", "options", "unknown", "memory", "random"} <= classes
