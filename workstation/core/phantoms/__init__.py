"""SWI-like microbleed phantoms on the real MNI152 brain (see generator.py for the model).

    from workstation.core.phantoms import make_phantom, write_phantom, generate
    ph = make_phantom(seed=3, index=0)          # Phantom(volume, labels, truth)
    generate("out/", n=20, seed=3)               # NIfTI + labels + JSON per volume, truth.json
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

import numpy as np

from workstation.core.phantoms.generator import RESOLUTIONS, STYLES, TRUTH_SCHEMA, Phantom, make_phantom

INDEX_SCHEMA = "workstation.detection-truth/1"
__all__ = ["Phantom", "make_phantom", "write_phantom", "generate", "volume_to_image", "RESOLUTIONS",
           "STYLES", "TRUTH_SCHEMA", "INDEX_SCHEMA"]


def volume_to_image(array: np.ndarray, volume):
    """A SimpleITK image of `array` (numpy order [k, j, i]) with `volume`'s geometry."""
    import SimpleITK as sitk

    image = sitk.GetImageFromArray(array)
    image.SetSpacing(volume.spacing)
    image.SetOrigin(volume.origin)
    image.SetDirection(tuple(np.asarray(volume.direction, float).ravel()))
    return image


def write_phantom(phantom: Phantom, out_dir, name: str) -> dict:
    """Write `name`.nii.gz, `name`_labels.nii.gz and `name`.json; return the truth dict."""
    import SimpleITK as sitk

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    truth = dict(phantom.truth, id=name, image=f"{name}.nii.gz", labels=f"{name}_labels.nii.gz")
    sitk.WriteImage(volume_to_image(phantom.volume.array, phantom.volume), str(out / truth["image"]), True)
    sitk.WriteImage(volume_to_image(phantom.labels, phantom.volume), str(out / truth["labels"]), True)
    (out / f"{name}.json").write_text(json.dumps(truth, indent=1))
    return truth


def generate(out_dir, n: int, seed: int, resolution: str | None = None,
             progress: Callable[[int, int], None] | None = None, style: str = "clinical") -> Path:
    """Write `n` phantoms of series `seed` and a `truth.json` index (the evaluate-detections truth
    file: one subject per volume with its microbleeds). Returns the index path."""
    if n < 1:
        raise ValueError("the number of phantoms must be at least 1")
    if resolution is not None and resolution not in RESOLUTIONS:
        raise ValueError(f"unknown resolution {resolution!r}; choose from {', '.join(RESOLUTIONS)}")
    subjects = []
    for index in range(n):
        name = f"phantom_s{seed}_{index:03d}"
        truth = write_phantom(make_phantom(seed, index, resolution, style=style), out_dir, name)
        subjects.append({"id": name, "image": truth["image"], "labels": truth["labels"],
                         "lesions": truth["lesions"]})
        if progress is not None:
            progress(index + 1, n)
    index_path = Path(out_dir) / "truth.json"
    index_path.write_text(json.dumps({"schema": INDEX_SCHEMA, "seed": seed, "subjects": subjects}, indent=1))
    return index_path
