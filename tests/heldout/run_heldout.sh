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
[ ${#VARIANTS[@]} -eq 0 ] && VARIANTS=(iso1 aniso113 aniso045 ras oblique scale01 scale10 uint16 float)
PY="${PYTHON:-$ROOT/.venv/bin/python}"
WS="${WORKSTATION:-$ROOT/.venv/bin/workstation}"
DEVICE="${DEVICE:-cpu}"
mkdir -p "$OUT"; OUT="$(cd "$OUT" && pwd)"
# one variant at a time, generate then detect, so that an interrupted run still scores whole variants
for v in "${VARIANTS[@]}"; do
  (cd "$ROOT" && nice "$PY" -m tests.heldout.generator "$OUT" --n "$N" --seed "$SEED" --variant "$v")
  echo "detect: $v" >&2
  # exit 1 means some volume failed; score.py reports which
  OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nice $WS detect "$OUT/$v"/hs-*.nii.gz --plugin microbleeds \
    --device "$DEVICE" --json --out "$OUT/$v/pred.json" > /dev/null || true
done
cd "$ROOT" && "$PY" -m tests.heldout.score "$OUT"
