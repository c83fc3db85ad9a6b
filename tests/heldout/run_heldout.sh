#!/usr/bin/env bash
# The held-out microbleed test (issue 13, item 4). Not part of CI: about an hour on 2 CPU cores.
#   tests/heldout/run_heldout.sh [OUT] [N] [SEED] [VARIANT ...]
# Generates N subjects (default 6) per variant (default all nine) from docs/phantom-spec.md on
# pydeface's mean head, runs `workstation detect --plugin microbleeds --json` on each variant folder,
# and prints sensitivity at <= 1 FP/subject, FP/subject, CPM with bootstrap CIs, and sensitivity by
# size and by region (tests/heldout/score.py). Set WORKSTATION=... to run another workstation
# command (e.g. "python -m workstation.cli"), DEVICE=cuda on a GPU machine.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
OUT="${1:-heldout-out}"; N="${2:-6}"; SEED="${3:-2026}"; shift $(( $# < 3 ? $# : 3 )) || true
VARIANTS=("$@")
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=(iso1 aniso045 aniso113 ras oblique scale01 scale10 uint16 float)
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WS="${WORKSTATION:-$ROOT/.venv/bin/workstation}"
DEVICE="${DEVICE:-cpu}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
args=(); for v in "${VARIANTS[@]}"; do args+=(--variant "$v"); done
(cd "$ROOT" && nice "$PY" -m tests.heldout.generator "$OUT" --n "$N" --seed "$SEED" "${args[@]}")
for v in "${VARIANTS[@]}"; do
  echo "detect: $v" >&2
  # exit 1 means some volume failed; score.py reports which
  nice $WS detect "$OUT/$v"/hs-*.nii.gz --plugin microbleeds --device "$DEVICE" --json --out "$OUT/$v/pred.json" \
    > /dev/null || true
done
cd "$ROOT" && "$PY" -m tests.heldout.score "$OUT"
