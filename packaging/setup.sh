#!/usr/bin/env bash
# Sets up everything the app and its tests need on Debian/Ubuntu: system packages for Qt, VTK,
# Xvfb and PostgreSQL, a virtual environment in .venv, torch first (CPU build by default), then the
# package itself with its test extra. Idempotent: a stamp skips the pip work when nothing changed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
venv="${WORKSTATION_VENV:-$root/.venv}"
torch_spec="${WORKSTATION_TORCH:-torch==2.13.0}"

apt_packages=(xvfb xauth libgl1 libegl1 libglu1-mesa libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4
  libxcb-keysyms1 libxcb-image0 libxcb-randr0 libxcb-render-util0 libxcb-shape0 libxcb-xinerama0
  libxcb-xkb1 libxrender1 libxi6 libfontconfig1 libdbus-1-3 postgresql python3-venv
  orthanc orthanc-dicomweb dicom3tools openssl)  # the PACS tests: a private Orthanc, dciodvfy, a test CA
missing=()
for p in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing system packages: ${missing[*]}"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# pip warns about every local index folder it skips on this kind of machine; keep the real messages.
quiet_pip() {
  local log rc=0
  log="$(mktemp)"
  "$@" >"$log" 2>&1 || rc=$?
  grep -v "is ignored: it is neither a file nor a directory" "$log" || true
  rm -f "$log"
  return "$rc"
}

[ -x "$venv/bin/python" ] || python3 -m venv "$venv"
stamp="$venv/.workstation-setup"
want="$(cat pyproject.toml packaging/setup.sh | sha256sum | cut -c1-16)"
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  pip=(quiet_pip "$venv/bin/python" -m pip install -q)
  # torch before anything that depends on it, or pip pulls a multi-GB CUDA build.
  "$venv/bin/python" -c "import torch" 2>/dev/null || "${pip[@]}" "$torch_spec"
  "${pip[@]}" -e ".[test]"
  echo "$want" > "$stamp"
fi
