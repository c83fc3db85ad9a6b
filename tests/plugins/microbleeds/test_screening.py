"""Stage 1 (classical screening) on a real-brain phantom, and the patch geometry stage 2 sees."""
import numpy as np
import pytest

from plugins.microbleeds.screening import PATCH_SHAPE, extract_patches, prepare, screen
from workstation.core.phantoms import make_phantom


@pytest.mark.parametrize("resolution", ["1mm", "0.5x0.5x2mm"])
def test_screening_proposes_every_planted_microbleed(resolution):
    ph = make_phantom(seed=31, index=1, resolution=resolution, n_microbleeds=8)
    vol = ph.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    found = screen(work, max_candidates=400)
    assert 50 < len(found.centres) <= 400
    assert np.all(np.diff(found.response) <= 0)
    for les in ph.truth["lesions"]:
        dist = np.linalg.norm(found.centres - les["centre"], axis=1)
        assert dist.min() <= max(les["diameter_mm"] / 2, 2.0), les


def test_work_grid_keeps_world_coordinates(phantom_1mm):
    vol = phantom_1mm.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    les = phantom_1mm.truth["lesions"][0]
    k, j, i = np.round(work.to_index(les["centre"])[0]).astype(int)
    assert work.array[k, j, i] < 0.7  # the planted focus is dark on the working grid too
    assert np.allclose(work.to_world(work.to_index(les["centre"])), les["centre"])


def test_patches_are_centred_and_padded():
    log = np.zeros((30, 30, 30), np.float32)
    log[5, 6, 7] = -3.0
    patches = extract_patches(log, np.array([[5, 6, 7], [29, 29, 29]]))  # the 2nd reaches past the edge
    assert patches.shape == (2,) + PATCH_SHAPE
    centre = tuple(s // 2 for s in PATCH_SHAPE)
    assert patches[0][centre] == -3.0 and patches[0].sum() == -3.0
    assert patches[1].sum() == 0.0


def test_an_empty_image_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="no head found"):
        prepare(np.zeros((20, 20, 20), np.float32), (1, 1, 1), (0, 0, 0), np.eye(3))
