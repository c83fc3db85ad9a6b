"""A failure gallery for a detector: PNG montages of the microbleeds it missed and of its top false
positives, each as three orthogonal 40 mm views (axial, coronal, sagittal through the point, on a
1 mm grid resampled from the image, so any orientation reads the same way: anterior up, patient
left on the right, as radiologists look), with the score and the size in the caption.

    write_gallery(out_dir, subjects, images, matches)  # -> list of PNG paths

Pillow draws the tiles (no GUI toolkit)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

HALF_MM = 20
ZOOM = 4  # screen pixels per mm
PER_PAGE = 12


@dataclass(frozen=True)
class Tile:
    subject: str
    kind: str          # "missed" or "false positive"
    centre: tuple[float, float, float]
    score: float | None
    diameter_mm: float


def _views(image, centre) -> list[np.ndarray]:
    """Axial, coronal and sagittal 1 mm sections (2*HALF_MM+1 square) through `centre` (LPS mm)."""
    import SimpleITK as sitk

    n = 2 * HALF_MM + 1
    offsets = np.arange(-HALF_MM, HALF_MM + 1, dtype=float)
    out = []
    # rows go from superior/anterior down; columns from patient right to left
    for u_axis, v_axis in ((np.array([1.0, 0, 0]), np.array([0, 1.0, 0])),      # axial: x across, y down
                           (np.array([1.0, 0, 0]), np.array([0, 0, -1.0])),     # coronal: x across, z up
                           (np.array([0, 1.0, 0]), np.array([0, 0, -1.0]))):    # sagittal: y across, z up
        ref = sitk.Image([n, n, 1], sitk.sitkFloat32)
        ref.SetSpacing((1.0, 1.0, 1.0))
        w = np.cross(u_axis, v_axis)
        direction = np.stack([u_axis, v_axis, w], axis=1)
        ref.SetDirection(tuple(direction.ravel()))
        ref.SetOrigin(tuple(np.asarray(centre) + offsets[0] * u_axis + offsets[0] * v_axis))
        sec = sitk.Resample(image, ref, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
        out.append(sitk.GetArrayFromImage(sec)[0])
    return out


def _grey(section: np.ndarray, lo: float, hi: float) -> np.ndarray:
    return (np.clip((section - lo) / max(hi - lo, 1e-6), 0, 1) * 255).astype(np.uint8)


def render_tile(image, tile: Tile, window: tuple[float, float]):
    from PIL import Image, ImageDraw

    side = (2 * HALF_MM + 1) * ZOOM
    canvas = Image.new("RGB", (3 * side + 8, side + 22), (20, 20, 20))
    draw = ImageDraw.Draw(canvas)
    radius = max(tile.diameter_mm / 2, 2.0) * ZOOM
    colour = (255, 80, 80) if tile.kind == "missed" else (255, 200, 40)
    for n, sec in enumerate(_views(image, tile.centre)):
        img = Image.fromarray(_grey(sec, *window)).resize((side, side), Image.NEAREST).convert("RGB")
        x0 = n * (side + 4)
        canvas.paste(img, (x0, 20))
        c = side / 2
        draw.ellipse([x0 + c - radius, 20 + c - radius, x0 + c + radius, 20 + c + radius], outline=colour)
    score = "no candidate" if tile.score is None else f"score {tile.score:.3f}"
    draw.text((4, 3), f"{tile.subject}  {tile.kind}  {score}  {tile.diameter_mm:.1f} mm  "
                      f"({tile.centre[0]:.0f}, {tile.centre[1]:.0f}, {tile.centre[2]:.0f}) LPS", fill=colour)
    return canvas


def tiles_of(subject: str, lesions: Sequence[dict], candidates: Sequence[dict], match, threshold: float,
             top_fp: int) -> list[Tile]:
    """Missed lesions (no hit scoring >= threshold) and the top false positives of one subject."""
    out = []
    for les, s in zip(lesions, match.lesion_scores):
        if not np.isfinite(s) or s < threshold:
            out.append(Tile(subject, "missed", tuple(les["centre"]), None if not np.isfinite(s) else float(s),
                            float(les["diameter_mm"])))
    fps = [c for c, h in zip(candidates, match.hit_lesion) if h < 0]
    fps.sort(key=lambda c: -c["score"])
    for c in fps[:top_fp]:
        out.append(Tile(subject, "false positive", tuple(c["centre"]), float(c["score"]), float(c.get("diameter_mm", 3.0))))
    return out


def write_gallery(out_dir, tiles_by_image: Sequence[tuple[str, list[Tile]]]) -> list[Path]:
    """One montage per PER_PAGE tiles; `tiles_by_image` pairs an image path with its tiles.
    Returns the PNG paths written."""
    from PIL import Image

    from workstation.core.io import read_volume

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rendered = {"missed": [], "false positive": []}
    for path, tiles in tiles_by_image:
        if not tiles:
            continue
        volume = read_volume(path)
        image = _sitk(volume)
        values = np.asarray(volume.array, np.float32)
        window = (float(np.percentile(values, 1)), float(np.percentile(values, 99.5)))
        for tile in tiles:
            rendered[tile.kind].append(render_tile(image, tile, window))
    written = []
    for kind, imgs in rendered.items():
        name = "missed" if kind == "missed" else "false_positives"
        for page in range(0, len(imgs), PER_PAGE):
            chunk = imgs[page:page + PER_PAGE]
            w, h = chunk[0].size
            sheet = Image.new("RGB", (w, h * len(chunk)), (0, 0, 0))
            for n, img in enumerate(chunk):
                sheet.paste(img, (0, n * h))
            path = out / f"{name}_{page // PER_PAGE + 1:02d}.png"
            sheet.save(path)
            written.append(path)
    return written


def _sitk(volume):
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(np.ascontiguousarray(volume.array, np.float32))
    image.SetSpacing(tuple(float(s) for s in volume.spacing))
    image.SetOrigin(tuple(float(o) for o in volume.origin))
    image.SetDirection(tuple(np.asarray(volume.direction, float).ravel()))
    return image
