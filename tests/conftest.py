"""Suite-wide: no test re-executes the process (OpenBLAS preload) or measures backends for
`auto`, and torch uses one thread whatever the machine's load (the same sums every run)."""
from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _no_reexec_no_probe(monkeypatch: pytest.MonkeyPatch) -> None:
    # The CLI runs in-process in tests: a re-exec would replace pytest itself.
    monkeypatch.setenv("ESSO_NGS_OPENBLAS", "none")
    monkeypatch.setenv("ESSO_NGS_AUTO_BACKEND", "mlx")
    monkeypatch.setenv("ESSO_NGS_TORCH_THREADS", "1")
