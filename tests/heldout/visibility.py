"""How visible each held-out bleed is: its contrast-to-noise ratio on a variant's grid.

`python -m tests.heldout.visibility --n N --seed S [--variant NAME]` re-creates the scenes that
`generator` writes for that seed and prints, per bleed, CNR = (signal without the bleed - signal with
it) / noise sigma at the darkest voxel of the bleed, noise-free renders; then the share of bleeds
above CNR 2, 3 and 5. A bleed below CNR ~3 is hard for any reader: this bounds what a detector can do."""
from __future__ import annotations

import argparse
import sys

import numpy as np

from . import base as base_mod
from . import generator as gen


def bleed_cnr(base, scene, grid, anat) -> list[dict]:
    rows = []
    for les in scene["lesions"]:
        c, r = np.array(les["centre"]), les["diameter_mm"] / 2
        lo, hi = gen._block(grid, c - r - 2, c + r + 2, np.zeros(3, int), np.array(grid.shape))
        with_b = gen.render(base, scene, grid, noise=False, box=(lo, hi), anat=anat)
        without = gen.render(base, {**scene, "lesions": []}, grid, noise=False, box=(lo, hi), anat=anat)
        sigma = scene["contrast"]["wm"] / scene["snr"]
        rows.append({"id": les["id"], "diameter_mm": les["diameter_mm"], "drop": les["signal_drop"],
                     "region": les["region"], "snr": scene["snr"], "cnr": float(np.max(without - with_b) / sigma)})
    return rows


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m tests.heldout.visibility", description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=6)
    p.add_argument("--seed", type=int, default=2026)
    p.add_argument("--variant", default="iso1", choices=sorted(gen.VARIANTS))
    args = p.parse_args(argv)
    base = base_mod.load_base()
    grid = gen.variant_grid(base, args.variant, args.seed)
    rows = []
    for i in range(args.n):
        scene = gen.make_subject(base, args.seed, i)
        rows += bleed_cnr(base, scene, grid, gen.anatomy(base, scene))
    for row in rows:
        print(f"{row['id']:14s} {row['region']:15s} {row['diameter_mm']:5.1f} mm drop {row['drop']:.2f} "
              f"SNR {row['snr']:4.1f}  CNR {row['cnr']:5.1f}")
    cnr = np.array([row["cnr"] for row in rows])
    print(f"{args.variant}: {len(rows)} bleeds; CNR median {np.median(cnr):.1f}; share with CNR >= 2: "
          f"{np.mean(cnr >= 2):.2f}, >= 3: {np.mean(cnr >= 3):.2f}, >= 5: {np.mean(cnr >= 5):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
