"""Microbleed detection time on a 256 x 256 x 150 head volume (skull, scalp, noise), brain extraction
included (goal: <= 30 s on 2 CPU cores).

    nice .venv/bin/python benchmarks/bench_detect.py [--device cpu|cuda] [--repeats 3]

Stage 1 is a classical multiscale LoG screen, not a network, so the baselines are:
  * the stage-2 network's raw forward pass on the same candidate patches (what the detector adds
    on top of the screen), and
  * a plain MONAI `sliding_window_inference` pass of the stage-2 network's convolutional trunk over
    the whole volume: the cost of screening densely with a CNN, which the LoG screen replaces.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def bench_volume():
    """A 1 mm clinical-style phantom (a head with skull) placed in a 256 x 256 x 150 grid (padded
    in-plane with Rician-like background, cut in z)."""
    from workstation.core.phantoms import make_phantom
    from workstation.core.volume import Volume

    ph = make_phantom(seed=90210, index=0, resolution="1mm", n_microbleeds=8)
    src = ph.volume.array
    rng = np.random.default_rng(0)
    background = np.percentile(src, 5)
    out = np.abs(rng.normal(scale=max(float(background), 1.0), size=(150, 256, 256))).astype(src.dtype)
    k0 = max(0, (src.shape[0] - 150) // 2)
    part = src[k0:k0 + 150]
    j0, i0 = (256 - part.shape[1]) // 2, (256 - part.shape[2]) // 2
    out[:part.shape[0], j0:j0 + part.shape[1], i0:i0 + part.shape[2]] = part
    origin = np.asarray(ph.volume.origin) - np.array([i0, j0, -k0], float)
    return Volume(out, spacing=(1.0, 1.0, 1.0), origin=tuple(origin)), ph


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()
    import torch
    from monai.inferers import sliding_window_inference

    from plugins.microbleeds.detector import build
    from plugins.microbleeds.screening import extract_patches, prepare, screen

    torch.set_num_threads(args.threads)
    volume, ph = bench_volume()
    det = build(None, {})
    det.load(args.device)
    det.detect(volume)  # warm-up (imports, allocator)

    total, prep, stage1, stage2 = [], [], [], []
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        cands = det.detect(volume)
        total.append(time.perf_counter() - t0)
        prep.append(det.timings["prepare_s"])
        stage1.append(det.timings["stage1_s"])
        stage2.append(det.timings["stage2_s"])

    work = prepare(volume.array, volume.spacing, volume.origin, volume.direction)
    patches = extract_patches(work, screen(work, det.max_candidates).kji)
    x = torch.from_numpy(patches.astype(np.float32)).to(args.device)
    raw = []
    with torch.inference_mode():
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            for start in range(0, len(x), 256):
                det.net(x[start:start + 256])
            if args.device == "cuda":
                torch.cuda.synchronize()
            raw.append(time.perf_counter() - t0)

    trunk = det.net.features
    dense_in = torch.from_numpy(np.stack([work.log, work.mask.astype(np.float32)])[None]).to(args.device)
    dense_runs = []
    with torch.inference_mode():
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            sliding_window_inference(dense_in, roi_size=(64, 64, 64), sw_batch_size=2, predictor=trunk, overlap=0.25)
            if args.device == "cuda":
                torch.cuda.synchronize()
            dense_runs.append(time.perf_counter() - t0)
    dense = statistics.median(dense_runs)

    result = {
        "volume_shape_kji": list(volume.array.shape), "device": args.device, "threads": args.threads,
        "candidates_stage1": int(det.timings["candidates_stage1"]), "candidates_out": len(cands),
        "detect_s_median": round(statistics.median(total), 3),
        "grid_and_brain_extraction_s": round(statistics.median(prep), 3),
        "stage1_screen_s": round(statistics.median(stage1), 3),
        "stage2_s": round(statistics.median(stage2), 3),
        "baseline_stage2_raw_forward_s": round(statistics.median(raw), 3),
        "baseline_monai_sliding_window_trunk_s": round(dense, 3),
        "ratio_detect_vs_sliding_window": round(statistics.median(total) / dense, 3),
        "goal_s": 30.0,
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
