#!/usr/bin/env bash
# Sets everything up (packaging/setup.sh), builds the demo projects and opens them in the main window.
# Without a display (a server, CI) it renders the window on a virtual one and saves a screenshot.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
bash packaging/setup.sh
venv="${WORKSTATION_VENV:-$root/.venv}"
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  exec "$venv/bin/workstation" demo "$@"
fi
shot="${DEMO_SCREENSHOT:-$root/demo.png}"
echo "demo: no display here; rendering on a virtual one and saving $shot"
exec xvfb-run -a -s "-screen 0 1600x1000x24" "$venv/bin/workstation" demo --screenshot "$shot" "$@"
