"""Stage 2's measurements of each candidate that need the whole volume, not only its patch: its
mirror image across the mid-sagittal plane (symmetry.py) and where it sits in the brain
(atlas.py). CONTEXT_FEATURES is the order a training cache stores them in."""
from __future__ import annotations

import numpy as np

from plugins.microbleeds.atlas import ATLAS_FEATURES, atlas_features
from plugins.microbleeds.symmetry import MIRROR_FEATURES, volume_mirror_features

CONTEXT_FEATURES = MIRROR_FEATURES + ATLAS_FEATURES


def volume_context(work, found, kji: np.ndarray, names=CONTEXT_FEATURES) -> dict[str, np.ndarray]:
    """The context features among `names` at working-grid voxels `kji` of a screened volume."""
    out: dict[str, np.ndarray] = {}
    if set(MIRROR_FEATURES) & set(names):
        out.update(volume_mirror_features(work, found, kji))
    if set(ATLAS_FEATURES) & set(names):
        out.update(atlas_features(work, kji))
    return out
