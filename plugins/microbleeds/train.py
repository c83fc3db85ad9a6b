"""Reproducible training of the stage-2 network from phantoms (the shipped weights come from this).

    nice .venv/bin/python -m plugins.microbleeds.train --volumes 32 --seed 1000 --threads 2 \
        --cache /tmp/mb_train.npz --out plugins/microbleeds/weights/patchnet.pt

Recipe: domain-randomised phantoms (`make_phantom(seed, i, style="random")`: skull on/off, SNR
8-40, four grids, tilts, RAS/LPS axes, storage types, ringing, motion, bleeds down to a 20 %
signal drop; the held-out evaluation uses another seed); stage 1 on each, exactly as at run time;
its candidates are labelled microbleed when they hit one (centre within the radius, >= 2 mm), else
hard negative (the top of stage 1's own ranking plus a random share of the rest); every true
microbleed adds jittered patches centred on it. AdamW, one-cycle learning rate, class-balanced
batches, flips / axis permutations / contrast / noise augmentation. About 25 minutes on 2 threads."""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from plugins.microbleeds.screening import CHANNELS, PATCH_SHAPE, STAGE1_CANDIDATES, extract_patches, prepare, screen

WEIGHTS = Path(__file__).parent / "weights" / "patchnet.pt"


NEGATIVES_TOP, NEGATIVES_RANDOM = 150, 100


def _volume_examples(seed: int, index: int, jitter_copies: int, rng) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    from workstation.core.phantoms import make_phantom  # the training recipe, not the runtime plugin

    ph = make_phantom(seed, index, style="random")
    vol = ph.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    found = screen(work, STAGE1_CANDIDATES)
    lesions = ph.truth["lesions"]
    label = np.zeros(len(found.centres), np.float32)
    diam = np.zeros(len(found.centres), np.float32)
    extra_kji, extra_d = [], []
    if lesions:
        centres = np.array([les["centre"] for les in lesions])
        d = np.array([les["diameter_mm"] for les in lesions])
        dist = np.linalg.norm(found.centres[:, None] - centres[None], axis=2)
        hit = dist <= np.maximum(d / 2, 2.0)[None]
        label = hit.any(axis=1).astype(np.float32)
        diam = np.where(label > 0, d[np.where(hit, dist, np.inf).argmin(axis=1)], 0).astype(np.float32)
        base = np.round(work.to_index(centres)).astype(int)
        for _ in range(jitter_copies):
            extra_kji.append(base + rng.integers(-1, 2, size=base.shape))
            extra_d.append(d)
    rest = np.arange(NEGATIVES_TOP, len(label))
    pick = np.concatenate([np.arange(min(NEGATIVES_TOP, len(label))),
                           rng.choice(rest, size=min(NEGATIVES_RANDOM, len(rest)), replace=False)])
    pick = np.union1d(pick, np.flatnonzero(label > 0))
    kji = np.concatenate([found.kji[pick]] + extra_kji) if extra_kji else found.kji[pick]
    labels = np.concatenate([label[pick]] + [np.ones(len(e), np.float32) for e in extra_d])
    diams = np.concatenate([diam[pick]] + [np.asarray(e, np.float32) for e in extra_d])
    return extract_patches(work, kji).astype(np.float16), labels, diams


def build_dataset(seed: int, volumes: int, cache: Path | None, jitter_copies: int = 3):
    if cache is not None and cache.exists():
        data = np.load(cache)
        if int(data["seed"]) == seed and int(data["volumes"]) == volumes:
            return data["x"], data["y"], data["d"], data["volume"]
    rng = np.random.default_rng(seed)
    xs, ys, ds, vs = [], [], [], []
    for index in range(volumes):
        t0 = time.perf_counter()
        x, y, d = _volume_examples(seed, index, jitter_copies, rng)
        xs.append(x), ys.append(y), ds.append(d), vs.append(np.full(len(y), index, np.int32))
        print(f"volume {index + 1}/{volumes}: {len(y)} patches, {int(y.sum())} microbleed "
              f"({time.perf_counter() - t0:.1f} s)", flush=True)
    out = tuple(np.concatenate(a) for a in (xs, ys, ds, vs))
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        np.savez(cache, x=out[0], y=out[1], d=out[2], volume=out[3], seed=seed, volumes=volumes)
    return out


def _augment(x: np.ndarray, rng) -> np.ndarray:
    """x: (n, 2, k, j, i); channel 0 log intensity, channel 1 brain mask."""
    for axis in (2, 3, 4):
        if rng.random() < 0.5:
            x = np.flip(x, axis=axis)
    x = np.transpose(x, (0, 1) + tuple(2 + rng.permutation(3)))  # any axis order: any orientation
    x = np.array(x, np.float32)
    x[:, 0] *= rng.uniform(0.8, 1.2, size=(len(x), 1, 1, 1)).astype(np.float32)
    x[:, 0] += rng.normal(scale=0.03, size=x[:, 0].shape).astype(np.float32)
    return x


def train(x, y, d, epochs: int, samples_per_epoch: int, seed: int, positive_fraction: float = 0.3,
          batch: int = 64, lr: float = 2e-3):
    import torch
    from torch.nn import functional as F

    from plugins.microbleeds.model import PatchNet

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = PatchNet()
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (samples_per_epoch // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    pos, neg = np.flatnonzero(y > 0.5), np.flatnonzero(y < 0.5)
    n_pos = int(round(batch * positive_fraction))
    for epoch in range(epochs):
        net.train()
        total, t0 = 0.0, time.perf_counter()
        for _ in range(samples_per_epoch // batch):
            idx = np.concatenate([rng.choice(pos, n_pos), rng.choice(neg, batch - n_pos)])
            xb = torch.from_numpy(_augment(x[idx].astype(np.float32), rng))
            yb = torch.from_numpy(y[idx])
            db = torch.from_numpy(np.log(np.maximum(d[idx], 1.0)))
            out = net(xb)
            loss = F.binary_cross_entropy_with_logits(out[:, 0], yb)
            is_pos = yb > 0.5
            loss = loss + 0.5 * F.smooth_l1_loss(out[is_pos, 1], db[is_pos], beta=0.2)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"epoch {epoch + 1}/{epochs}: loss {total / (samples_per_epoch // batch):.4f} "
              f"({time.perf_counter() - t0:.0f} s)", flush=True)
    return net


def validate(net, x, y) -> dict:
    import torch

    net.eval()
    with torch.no_grad():
        logits = torch.cat([net(torch.from_numpy(x[i:i + 512].astype(np.float32)))[:, 0]
                            for i in range(0, len(x), 512)]).numpy()
    from sklearn.metrics import roc_auc_score

    return {"auc": float(roc_auc_score(y, logits)), "n": int(len(y)), "positives": int(y.sum())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1000, help="phantom series used for training")
    parser.add_argument("--volumes", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1-2 on a shared machine)")
    parser.add_argument("--validation-volumes", type=int, default=4, help="last volumes of the series kept out")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--samples-per-epoch", type=int, default=6400)
    parser.add_argument("--cache", type=Path, default=None, help="npz of extracted patches (reused if present)")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    x, y, d, vol = build_dataset(args.seed, args.volumes, args.cache)
    train_rows = vol < args.volumes - args.validation_volumes
    print(f"{len(y)} patches, {int(y.sum())} microbleed; {time.perf_counter() - started:.0f} s", flush=True)
    net = train(x[train_rows], y[train_rows], d[train_rows], args.epochs, args.samples_per_epoch, args.seed)
    val = validate(net, x[~train_rows], y[~train_rows]) if (~train_rows).any() else {}
    print("validation", json.dumps(val), flush=True)
    meta = {"patch_shape": list(PATCH_SHAPE), "channels": CHANNELS, "train_seed": args.seed, "style": "random",
            "stage1_candidates": STAGE1_CANDIDATES, "volumes": args.volumes,
            "validation_volumes": args.validation_volumes, "epochs": args.epochs,
            "samples_per_epoch": args.samples_per_epoch, "validation": val,
            "data_sha256": hashlib.sha256(y.tobytes() + d.tobytes()).hexdigest()[:16],
            "train_seconds": round(time.perf_counter() - started, 1),
            "note": "trained on synthetic phantoms only; retrain on real SWI before any clinical use"}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": {k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()},
                "meta": meta}, args.out)
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.2f} MB) in {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
