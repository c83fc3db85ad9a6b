#!/usr/bin/env bash
# Sets everything up (packaging/setup.sh), checks the layer rules, and runs the whole test suite.
# pytest-xvfb starts its own virtual display for the GUI tests. Extra arguments go to pytest.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash packaging/setup.sh
venv="${WORKSTATION_VENV:-$root/.venv}"
"$venv/bin/lint-imports" pyproject.toml
exec "$venv/bin/python" -m pytest "$@"
