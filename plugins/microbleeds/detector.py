"""The microbleed detector plugin object: `build(checkpoint=None, options=None)` -> MicrobleedDetector.

Per volume: the image goes to the 1 mm LPS working grid and its brain is extracted; stage 1
(screening.py) proposes up to `max_candidates` dark blobs inside the brain; stage 2 scores a patch
around each: by default boosted trees on the patch's physical measurements (features.py,
trees.py; option `stage2="trees"`) and on the candidate's place in the volume (context.py: its
mirror image across the mid-sagittal plane, symmetry.py; where it sits in a registered MNI152
template, atlas.py), or the patch CNN (model.py; `stage2="cnn"`), which estimates
each candidate's diameter either way; overlapping candidates are merged (the best score wins); candidates
scoring at least `min_score` are returned with their centre (world mm, LPS, refined to the
darkness-weighted centroid), diameter (regressed by the network) and score. With the option
`brain_mask` (or `heatmap`) the prediction also carries the screened brain on the input's own
voxel grid as a HeatMap (target "brain", method "brain-mask": 1 inside, 0 outside), so a viewer
can overlay what was screened."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from plugins.microbleeds.canonical import to_input_grid
from plugins.microbleeds.screening import STAGE1_CANDIDATES, extract_patches, prepare, screen
from workstation.plugin_api import Cancelled, Candidate, CheckpointMissing, HeatMap, PluginError, Prediction, Volume

SHIPPED_WEIGHTS = Path(__file__).parent / "weights" / "patchnet.pt"
SHIPPED_TREES = Path(__file__).parent / "weights" / "stage2_trees.npz"
STAGE2 = ("trees", "cnn")
# test-time augmentation: the patch as it is and flipped along each axis (the network was trained
# with flips); logits and log diameters are averaged. Chosen on the project's own phantoms (series
# 777: sensitivity at <= 1 FP/subject 0.76 -> 0.79, CPM 0.73 -> 0.80; all 8 flips: 0.76 / 0.79).
TTA_FLIPS = ((), (2,), (3,), (4,))


def build(checkpoint: str | None = None, options: dict | None = None) -> "MicrobleedDetector":
    return MicrobleedDetector(checkpoint, options or {})


def weights_identity(checkpoint: Path, trees: Path | None) -> str:
    """The sha256 a prediction records: the CNN checkpoint's, or with the stage-2 trees, the hash
    of both files' hashes (either file changed is another model)."""
    import hashlib

    cnn = hashlib.sha256(Path(checkpoint).read_bytes()).hexdigest()
    if trees is None:
        return cnn
    return hashlib.sha256((cnn + hashlib.sha256(Path(trees).read_bytes()).hexdigest()).encode()).hexdigest()


def refine_centres(work, kji: np.ndarray, radius: int = 2) -> np.ndarray:
    """Darkness-weighted centroid (world mm) around each working-grid voxel, inside the brain."""
    offsets = np.stack(np.meshgrid(*[np.arange(-radius, radius + 1)] * 3, indexing="ij"), -1).reshape(-1, 3)
    pts = np.asarray(kji, int)[:, None, :] + offsets[None]
    pts = np.clip(pts, 0, np.array(work.array.shape) - 1)
    at = (pts[..., 0], pts[..., 1], pts[..., 2])
    dark = np.where(work.mask[at], np.clip(-work.log[at], 0.0, None), 0.0) ** 2
    weights = dark / np.maximum(dark.sum(axis=1, keepdims=True), 1e-6)
    centroid = (weights[..., None] * pts).sum(axis=1)
    centroid = np.where(dark.sum(axis=1, keepdims=True) > 1e-6, centroid, kji)
    return work.to_world(centroid)


def merge_overlapping(centres: np.ndarray, diameters: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """Indices kept after suppressing candidates inside a better-scored one (radius >= 2.5 mm)."""
    order = np.argsort(-scores, kind="stable")
    kept: list[int] = []
    for n in order:
        if all(np.linalg.norm(centres[n] - centres[m]) > max(diameters[m] / 2, 2.5) for m in kept):
            kept.append(int(n))
    return np.asarray(kept, int)


class MicrobleedDetector:
    def __init__(self, checkpoint: str | None, options: dict):
        self.checkpoint = Path(checkpoint) if checkpoint else SHIPPED_WEIGHTS
        self.max_candidates = int(options.get("max_candidates", STAGE1_CANDIDATES))
        self.min_score = float(options.get("min_score", 0.05))
        self.stage2 = str(options.get("stage2", "trees"))
        if self.stage2 not in STAGE2:
            raise PluginError(f"microbleeds: stage2 must be one of {', '.join(STAGE2)}, not {self.stage2!r}")
        self.trees_path = Path(options.get("trees", SHIPPED_TREES))
        self.trees = None
        # the trees score; the CNN then only estimates diameters, for which one pass is enough
        self.flips = TTA_FLIPS if bool(options.get("tta", self.stage2 == "cnn")) else ((),)
        self.brain_mask = bool(options.get("brain_mask", False) or options.get("heatmap", False))
        self.last_work = None
        self.allow_untrained = bool(options.get("allow_untrained", False))
        self.net = None
        self.device = "cpu"
        self.weights_sha256 = ""
        self.meta: dict = {}
        self.timings: dict[str, float] = {}

    def load(self, device: str) -> None:
        import torch

        from plugins.microbleeds.model import PatchNet

        net = PatchNet()
        if self.checkpoint.is_file():
            blob = torch.load(self.checkpoint, map_location="cpu", weights_only=True)
            net.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in blob["state_dict"].items()})
            self.meta = dict(blob.get("meta") or {})
        elif not self.allow_untrained:
            raise CheckpointMissing(f"microbleeds: no weights at {self.checkpoint}")
        if self.stage2 == "trees":
            from zipfile import BadZipFile

            from plugins.microbleeds.trees import TreeEnsemble

            if not self.trees_path.is_file():
                raise CheckpointMissing(f"microbleeds: no stage-2 trees at {self.trees_path}")
            try:
                self.trees = TreeEnsemble.load(self.trees_path)
            except (OSError, KeyError, ValueError, BadZipFile) as exc:
                raise PluginError(f"microbleeds: cannot read the stage-2 trees {self.trees_path.name}: {exc}") from None
        if self.checkpoint.is_file():
            self.weights_sha256 = weights_identity(self.checkpoint, self.trees_path if self.trees is not None else None)
        self.device = device
        self.net = net.to(device).eval()

    def scores(self, patches: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(probability, diameter mm) per patch (n, CHANNELS, 20, 20, 20), averaged over `flips`."""
        import torch

        out = []
        with torch.inference_mode():
            for start in range(0, len(patches), 256):
                x = torch.from_numpy(np.ascontiguousarray(patches[start:start + 256], np.float32)).to(self.device)
                raw = sum(self.net(torch.flip(x, f) if f else x).float() for f in self.flips) / len(self.flips)
                out.append(raw.cpu().numpy())
        raw = np.concatenate(out) if out else np.zeros((0, 2), np.float32)
        return 1.0 / (1.0 + np.exp(-raw[:, 0])), np.exp(np.clip(raw[:, 1], np.log(1.0), np.log(20.0)))

    def detect(self, volume: Volume, cancel=None) -> list[Candidate]:
        if self.net is None:
            raise PluginError("microbleeds: load() was not called")
        if volume.is_rgb or volume.kind != "3d" or min(volume.array.shape) < 8:
            raise PluginError(f"microbleeds needs a 3D grey volume, got shape {volume.array.shape}")
        t0 = time.perf_counter()
        try:
            work = prepare(volume.array, volume.spacing, volume.origin, volume.direction)
        except ValueError as exc:
            raise PluginError(f"microbleeds: {exc}") from None
        t_prep = time.perf_counter()
        found = screen(work, self.max_candidates)
        t1 = time.perf_counter()
        if cancel is not None and cancel():
            raise Cancelled()
        patches = extract_patches(work, found.kji)
        prob, diam = self.scores(patches)
        if self.trees is not None and len(patches):
            from plugins.microbleeds.context import volume_context
            from plugins.microbleeds.features import feature_matrix

            context = volume_context(work, found, found.kji, self.trees.names)
            prob = self.trees.predict_proba(feature_matrix(patches, self.trees.names, context))
        t2 = time.perf_counter()
        centres = refine_centres(work, found.kji)
        keep = merge_overlapping(centres, diam, prob)
        keep = keep[prob[keep] >= self.min_score]
        self.timings = {"prepare_s": t_prep - t0, "stage1_s": t1 - t0, "stage2_s": t2 - t1, "candidates_stage1": len(found.kji)}
        self.last_work = work
        return [Candidate(tuple(centres[n]), float(diam[n]), float(prob[n]), "microbleed") for n in keep]

    def predict(self, batch, progress=None, cancel=None) -> list[Prediction]:
        out = []
        for n, volume in enumerate(batch):
            if cancel is not None and cancel():
                raise Cancelled()
            candidates = tuple(self.detect(volume, cancel))
            heatmap = None
            if self.brain_mask:
                mask = to_input_grid(self.last_work.mask, self.last_work.origin, volume)
                heatmap = HeatMap(mask.astype(np.float32), target="brain", method="brain-mask")
            out.append(Prediction(candidates=candidates, heatmap=heatmap))
            if progress is not None:
                progress((n + 1) / len(batch))
        return out
