#!/usr/bin/env bash
# Installs esso-ngs and everything its tests need (no model downloads, PyPI only).
#   bash scripts/setup.sh          # the package
#   bash scripts/setup.sh --test   # the package and the test tools (incl. Ray, for the executor tests)
set -euo pipefail
cd "$(dirname "$0")/.."
extras=""
[ "${1:-}" = "--test" ] && extras="[test,ray]"
python -m pip install --disable-pip-version-check -q -e ".${extras}"
