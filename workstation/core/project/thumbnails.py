"""Small 8-bit previews of a case's image for the worklist (middle slice, display window applied)."""
from __future__ import annotations

import numpy as np


def thumbnail(paths: list[str], size: int = 64) -> np.ndarray:
    """uint8 array (h, w) or (h, w, 3), longest side `size`. A series is previewed from its middle
    file, so only one slice is read. Raises workstation.core.io.ImageReadError on unreadable files."""
    from workstation.core.io import read_volume

    volume = read_volume(paths[len(paths) // 2])
    plane = volume.array[volume.array.shape[0] // 2]
    centre, width = volume.default_window()
    low = centre - width / 2.0
    step = max(1, int(np.ceil(max(plane.shape[:2]) / size)))
    h = (plane.shape[0] // step) * step or plane.shape[0]
    w = (plane.shape[1] // step) * step or plane.shape[1]
    plane = plane[:h, :w].astype(np.float32)
    if step > 1:  # block mean: cheap and free of the aliasing of plain striding
        shape = (h // step, step, w // step, step) + plane.shape[2:]
        plane = plane.reshape(shape).mean(axis=(1, 3))
    if volume.is_rgb:
        out = np.clip(plane, 0, 255) if plane.max() <= 255 else plane / plane.max() * 255
    else:
        out = np.clip((plane - low) / max(width, 1e-6), 0.0, 1.0) * 255.0
        if volume.invert:
            out = 255.0 - out
    return np.ascontiguousarray(out.astype(np.uint8))
