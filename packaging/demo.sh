#!/usr/bin/env bash
# Sets everything up (packaging/setup.sh) and runs the main job. Without a display it starts Xvfb.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash packaging/setup.sh
venv="${WORKSTATION_VENV:-$root/.venv}"
sample="$("$venv/bin/python" -c 'from pydicom.data import get_testdata_file; print(get_testdata_file("CT_small.dcm"))')"
exec "$venv/bin/workstation" info "$sample" "$@"
