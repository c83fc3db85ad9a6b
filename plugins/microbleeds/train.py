"""Reproducible training of the stage-2 network from phantoms (the shipped weights come from this).

    nice .venv/bin/python -m plugins.microbleeds.train --volumes 32 --validation-volumes 3 --seed 1000 \
        --threads 1 --epochs 6 --samples-per-epoch 4800 --cache /tmp/mb_train_v2 \
        --out plugins/microbleeds/weights/patchnet.pt

Recipe: domain-randomised phantoms (`make_phantom(seed, i, style="random")`: skull on/off, SNR
8-40, four grids, tilts, RAS/LPS axes, storage types, ringing, motion, a warped and ventricle-
scaled anatomy, sharper or softer tissue boundaries, bleeds down to a 20 % signal drop with soft or
sharp edges, cortical/bridging/subependymal veins; the held-out evaluation uses another seed);
stage 1 on each, exactly as at run time; every one of its candidates is labelled microbleed when it
hits one (centre within the radius, >= 2 mm), else hard negative; patches centred on each drawn
mimic (vessels end-on, veins, calcifications, flow voids, skull-base streaks) are negatives too;
every true microbleed adds jittered patches centred on it. AdamW, one-cycle learning rate,
class-balanced batches with online hard-negative mining (see `train`), flips / axis permutations /
contrast / blur / noise augmentation."""
from __future__ import annotations

import argparse
import hashlib
import json
import time
from pathlib import Path

import numpy as np

from plugins.microbleeds.insertion import inserted_batch
from plugins.microbleeds.screening import CHANNELS, PATCH_SHAPE, STAGE1_CANDIDATES, extract_patches, prepare, screen
from plugins.microbleeds.context import CONTEXT_FEATURES, volume_context

WEIGHTS = Path(__file__).parent / "weights" / "patchnet.pt"


NEGATIVES_TOP, NEGATIVES_RANDOM = STAGE1_CANDIDATES, 0  # every candidate stage 2 sees at run time
EXTRA_OFFSET = 10000  # volume index offset of the second series' examples
MIMIC_COPIES = 2  # jittered negatives centred on each mimic the generator drew (vessels end-on, ...)


def _mimic_negatives(ph, work, lesion_centres: np.ndarray, lesion_d: np.ndarray, rng) -> np.ndarray:
    """Working-grid voxels at the mimics (and jittered copies) that lie in the brain, clear of
    every bleed: negatives that look most like a microbleed."""
    centres = np.array([m["centre"] for m in ph.truth.get("mimics", [])]).reshape(-1, 3)
    if len(centres) and len(lesion_centres):
        dist = np.linalg.norm(centres[:, None] - lesion_centres[None], axis=2)
        centres = centres[(dist > lesion_d[None] / 2 + 3.0).all(axis=1)]
    base = np.round(work.to_index(centres)).astype(int)
    base = base[(base >= 0).all(axis=1) & (base < np.array(work.mask.shape)).all(axis=1)]
    base = base[work.mask[tuple(base.T)]] if len(base) else base
    out = np.concatenate([base + rng.integers(-1, 2, size=base.shape) for _ in range(MIMIC_COPIES)] + [base])
    return np.clip(out, 0, np.array(work.mask.shape) - 1)


def _volume_examples(seed: int, index: int, jitter_copies: int, rng,
                     half_drop_share: float = 0.0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    from workstation.core.phantoms import make_phantom  # the training recipe, not the runtime plugin

    ph = make_phantom(seed, index, style="random", half_drop_share=half_drop_share)
    vol = ph.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    found = screen(work, STAGE1_CANDIDATES)
    lesions = ph.truth["lesions"]
    centres = np.array([les["centre"] for les in lesions]).reshape(-1, 3)
    d = np.array([les["diameter_mm"] for les in lesions])
    mimic_kji = _mimic_negatives(ph, work, centres, d, rng)
    label = np.zeros(len(found.centres), np.float32)
    diam = np.zeros(len(found.centres), np.float32)
    extra_kji, extra_d = [], []
    if lesions:
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
    kji = np.concatenate([found.kji[pick], mimic_kji.reshape(-1, 3)] + extra_kji)
    labels = np.concatenate([label[pick], np.zeros(len(mimic_kji), np.float32)]
                            + [np.ones(len(e), np.float32) for e in extra_d])
    diams = np.concatenate([diam[pick], np.zeros(len(mimic_kji), np.float32)]
                           + [np.asarray(e, np.float32) for e in extra_d])
    measured = volume_context(work, found, kji)
    context = np.stack([measured[name] for name in CONTEXT_FEATURES], 1).astype(np.float32)
    return extract_patches(work, kji).astype(np.float16), labels, diams, context


def build_dataset(seed: int, volumes: int, cache: Path | None, jitter_copies: int = 3, half_drop_share: float = 0.0):
    """Patches, labels, diameters, volume index and the volume-level context of each patch (in
    CONTEXT_FEATURES order) of phantoms 0..volumes-1 of series `seed`. With
    `cache` (a folder) each volume's examples are kept in a file of their own and reused, so an
    interrupted build resumes where it stopped. Each volume draws from its own generator."""
    xs, ys, ds, vs, cs = [], [], [], [], []
    for index in range(volumes):
        t0 = time.perf_counter()
        path = None if cache is None else Path(cache) / f"s{seed}_{index:03d}.npz"
        if path is not None and path.exists():
            data = np.load(path)
            if "context" not in data or data["context"].shape[1] != len(CONTEXT_FEATURES):
                raise SystemExit(f"{path} is a cache of an older recipe (other context features): use another --cache")
            x, y, d, c = data["x"], data["y"], data["d"], data["context"]
        else:
            x, y, d, c = _volume_examples(seed, index, jitter_copies, np.random.default_rng([seed, index, 99]),
                                          half_drop_share)
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
                np.savez(path.with_suffix(".tmp.npz"), x=x, y=y, d=d, context=c)
                path.with_suffix(".tmp.npz").replace(path)
            print(f"volume {index + 1}/{volumes}: {len(y)} patches, {int(y.sum())} microbleed "
                  f"({time.perf_counter() - t0:.1f} s)", flush=True)
        xs.append(x), ys.append(y), ds.append(d), vs.append(np.full(len(y), index, np.int32)), cs.append(c)
    return tuple(np.concatenate(a) for a in (xs, ys, ds, vs, cs))


def _augment(x: np.ndarray, rng) -> np.ndarray:
    """x: (n, 2, k, j, i); channel 0 log intensity, channel 1 brain mask. Flips and axis orders
    (any orientation), contrast, a blur along one axis for part of the batch (thicker slices and
    smoother anatomy than the phantom had), noise of a per-patch level (SNR)."""
    from scipy import ndimage

    for axis in (2, 3, 4):
        if rng.random() < 0.5:
            x = np.flip(x, axis=axis)
    x = np.transpose(x, (0, 1) + tuple(2 + rng.permutation(3)))  # any axis order: any orientation
    x = np.array(x, np.float32)
    blur = rng.random(len(x)) < 0.3
    if blur.any():
        axis = 1 + int(rng.integers(3))
        x[blur, 0] = ndimage.gaussian_filter1d(x[blur, 0], rng.uniform(0.4, 1.0), axis=axis, mode="nearest")
    x[:, 0] *= rng.uniform(0.75, 1.25, size=(len(x), 1, 1, 1)).astype(np.float32)
    noise = rng.uniform(0.0, 0.06, size=(len(x), 1, 1, 1)).astype(np.float32)
    x[:, 0] += noise * rng.standard_normal(size=x[:, 0].shape, dtype=np.float32)
    return x


def _logits(net, x: np.ndarray, batch: int = 512) -> np.ndarray:
    import torch

    net.eval()
    with torch.no_grad():
        return torch.cat([net(torch.from_numpy(x[i:i + batch].astype(np.float32)))[:, 0]
                          for i in range(0, len(x), batch)]).numpy()


def train(x, y, d, epochs: int, samples_per_epoch: int, seed: int, positive_fraction: float = 0.3,
          batch: int = 64, lr: float = 2e-3, hard_share: float = 0.5, mined: int = 4000, init: Path | None = None,
          insert_share: float = 0.0, csf_share: float = 0.0):
    """Class-balanced batches; from the second epoch on, `hard_share` of each batch's negatives come
    from the hardest quarter of `mined` negatives scored by the network after the previous epoch
    (online hard-negative mining: the negatives that would be false positives at <= 1 per subject).
    With `init` (a checkpoint) training starts from its weights (fine-tuning) instead of scratch.
    `insert_share` of each batch's positives are bleeds drawn into negative patches (insertion.py),
    and `csf_share` of the batch are such draws inside CSF, labelled negative."""
    import torch
    from torch.nn import functional as F

    from plugins.microbleeds.model import PatchNet

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = PatchNet()
    if init is not None:
        blob = torch.load(init, map_location="cpu", weights_only=True)
        net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
    opt = torch.optim.AdamW(net.parameters(), lr=lr, weight_decay=1e-4)
    steps = epochs * (samples_per_epoch // batch)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    pos, neg = np.flatnonzero(y > 0.5), np.flatnonzero(y < 0.5)
    n_pos = int(round(batch * positive_fraction))
    n_ins, n_csf = int(round(n_pos * insert_share)), int(round(batch * csf_share))
    hard = None
    for epoch in range(epochs):
        if epoch > 0 and hard_share > 0:
            scored = rng.choice(neg, min(mined, len(neg)), replace=False)
            hard = scored[np.argsort(-_logits(net, x[scored]))[:max(1, len(scored) // 4)]]
        net.train()
        total, t0 = 0.0, time.perf_counter()
        n_hard = int(round((batch - n_pos) * hard_share)) if hard is not None else 0
        for _ in range(samples_per_epoch // batch):
            idx = np.concatenate([rng.choice(pos, n_pos - n_ins), rng.choice(neg, batch - n_pos - n_hard - n_csf)]
                                 + ([rng.choice(hard, n_hard)] if n_hard else []))
            xs, ys, ds = x[idx].astype(np.float32), y[idx], d[idx]
            if n_ins or n_csf:
                xi, yi, di = inserted_batch(x, neg, n_ins, n_csf, rng)
                xs, ys, ds = np.concatenate([xs, xi]), np.concatenate([ys, yi]), np.concatenate([ds, di])
            xb = torch.from_numpy(_augment(xs, rng))
            yb = torch.from_numpy(np.ascontiguousarray(ys, np.float32))
            db = torch.from_numpy(np.log(np.maximum(ds, 1.0)).astype(np.float32))
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


def validate(net, x, y, volume) -> dict:
    """Patch AUC, and the share of positive patches scored above the threshold that lets one
    negative per validation volume through (the <= 1 FP/subject operating point, on patches)."""
    logits = _logits(net, x)
    from sklearn.metrics import roc_auc_score

    neg = np.sort(logits[y < 0.5])[::-1]
    n_volumes = len(np.unique(volume))
    threshold = neg[min(n_volumes, len(neg)) - 1] if len(neg) else -np.inf
    return {"auc": float(roc_auc_score(y, logits)), "n": int(len(y)), "positives": int(y.sum()),
            "sensitivity_at_1fp_per_volume": float((logits[y > 0.5] > threshold).mean())}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=1000, help="phantom series used for training")
    parser.add_argument("--volumes", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1, help="torch threads (1-2 on a shared machine)")
    parser.add_argument("--validation-volumes", type=int, default=4, help="last volumes of the series kept out")
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--samples-per-epoch", type=int, default=6400)
    parser.add_argument("--cache", type=Path, default=None,
                        help="folder of per-volume patch files (reused if present; an interrupted build resumes)")
    parser.add_argument("--out", type=Path, default=WEIGHTS)
    parser.add_argument("--init", type=Path, default=None, help="start from these weights (fine-tune)")
    parser.add_argument("--extra-seed", type=int, default=None,
                        help="a second training series, drawn with --extra-half-drop-share (all of it trains)")
    parser.add_argument("--extra-volumes", type=int, default=0)
    parser.add_argument("--extra-half-drop-share", type=float, default=0.5,
                        help="share of the second series' bleeds drawn as plain sigmoids (no halo)")
    parser.add_argument("--extra-cache", type=Path, default=None)
    parser.add_argument("--lr", type=float, default=2e-3, help="peak learning rate of the one-cycle schedule")
    parser.add_argument("--insert-share", type=float, default=0.0,
                        help="share of each batch's positives drawn into negative patches (insertion.py)")
    parser.add_argument("--csf-share", type=float, default=0.0,
                        help="share of each batch drawn as dark foci inside CSF, labelled negative")
    args = parser.parse_args(argv)
    import torch

    torch.set_num_threads(args.threads)
    started = time.perf_counter()
    x, y, d, vol, _ = build_dataset(args.seed, args.volumes, args.cache)
    train_rows = vol < args.volumes - args.validation_volumes
    if args.extra_seed is not None and args.extra_volumes > 0:
        extra = build_dataset(args.extra_seed, args.extra_volumes, args.extra_cache,
                              half_drop_share=args.extra_half_drop_share)
        x, y, d = (np.concatenate([a, b]) for a, b in zip((x, y, d), extra[:3]))
        vol = np.concatenate([vol, extra[3] + EXTRA_OFFSET])
        train_rows = np.concatenate([train_rows, np.ones(len(extra[1]), bool)])
    print(f"{len(y)} patches, {int(y.sum())} microbleed; {time.perf_counter() - started:.0f} s", flush=True)
    net = train(x[train_rows], y[train_rows], d[train_rows], args.epochs, args.samples_per_epoch, args.seed,
                lr=args.lr, init=args.init, insert_share=args.insert_share, csf_share=args.csf_share)
    val = validate(net, x[~train_rows], y[~train_rows], vol[~train_rows]) if (~train_rows).any() else {}
    print("validation", json.dumps(val), flush=True)
    meta = {"patch_shape": list(PATCH_SHAPE), "channels": CHANNELS, "train_seed": args.seed, "style": "random",
            "stage1_candidates": STAGE1_CANDIDATES, "volumes": args.volumes,
            "validation_volumes": args.validation_volumes, "epochs": args.epochs,
            "samples_per_epoch": args.samples_per_epoch, "validation": val,
            "negatives": "all stage-1 candidates + mimic-centred patches; online hard-negative mining",
            "extra_series": None if args.extra_seed is None else {
                "seed": args.extra_seed, "volumes": args.extra_volumes, "half_drop_share": args.extra_half_drop_share},
            "insert_share": args.insert_share, "csf_share": args.csf_share,
            "init": None if args.init is None else {"path": args.init.name, "sha256": hashlib.sha256(
                args.init.read_bytes()).hexdigest()[:16]}, "lr": args.lr,
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
