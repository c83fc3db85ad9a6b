"""Stage 1 (classical screening) on real-brain phantoms with skull and noise, and the patch
geometry stage 2 sees."""
import numpy as np
import pytest

from plugins.microbleeds.screening import CHANNELS, PATCH_SHAPE, WorkImage, extract_patches, prepare, screen
from workstation.core.phantoms import make_phantom


@pytest.mark.parametrize("resolution", ["1mm", "0.5x0.5x2mm"])
def test_screening_proposes_every_planted_microbleed_inside_the_brain(resolution):
    ph = make_phantom(seed=31, index=1, resolution=resolution, n_microbleeds=8)
    vol = ph.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    found = screen(work)
    assert 50 < len(found.centres) <= 500
    assert np.all(np.diff(found.response) <= 0)
    assert work.mask[tuple(found.kji.T)].all()  # nothing outside the brain is screened
    for les in ph.truth["lesions"]:
        dist = np.linalg.norm(found.centres - les["centre"], axis=1)
        assert dist.min() <= max(les["diameter_mm"] / 2, 2.0), les


def test_work_grid_keeps_world_coordinates(phantom_1mm):
    vol = phantom_1mm.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    les = phantom_1mm.truth["lesions"][0]
    k, j, i = np.round(work.to_index(les["centre"])[0]).astype(int)
    assert work.array[k, j, i] < 0.8  # the planted focus is dark on the working grid too
    assert np.allclose(work.to_world(work.to_index(les["centre"])), les["centre"])


def test_patches_are_centred_and_padded():
    log = np.zeros((30, 30, 30), np.float32)
    log[5, 6, 7] = -3.0
    work = WorkImage(np.ones_like(log), np.ones(log.shape, bool), log, np.zeros(3))
    patches = extract_patches(work, np.array([[5, 6, 7], [29, 29, 29]]))  # the 2nd reaches past the edge
    assert patches.shape == (2, CHANNELS) + PATCH_SHAPE
    centre = tuple(s // 2 for s in PATCH_SHAPE)
    assert patches[0, 0][centre] == -3.0 and patches[0, 0].sum() == -3.0
    assert patches[1, 0].sum() == 0.0 and patches[1, 1].sum() == 11 ** 3  # mask: voxels 19..29 of each axis


def test_an_empty_image_is_refused_with_a_reason():
    with pytest.raises(ValueError, match="no head found"):
        prepare(np.zeros((20, 20, 20), np.float32), (1, 1, 1), (0, 0, 0), np.eye(3))


def _ball_log(shape, centres, radius=1.5, drop=0.6):
    rr = np.indices(shape).astype(np.float32)
    log = np.zeros(shape, np.float32)
    for c in centres:
        inside = np.sqrt(((rr - np.array(c)[:, None, None, None]) ** 2).sum(0)) <= radius
        log[inside] = np.log(1 - drop)
    return log


def test_where_the_field_of_view_cuts_the_brain_the_cut_is_an_edge():
    # a brain that fills the whole array (the slab ends inside it): a dark focus 1 mm from the
    # array's first slice lies at the cut, one 10 mm in is screened as usual
    shape = (40, 40, 40)
    log = _ball_log(shape, [(1, 20, 20), (10, 20, 20)])
    work = WorkImage(np.exp(log), np.ones(shape, bool), log, np.zeros(3))
    found = screen(work, 50)
    k = found.kji[:, 0]
    assert np.any(np.abs(k - 10) <= 1) and not np.any(k <= 2)
