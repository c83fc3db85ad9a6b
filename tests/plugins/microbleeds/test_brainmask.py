"""Brain extraction inside the detector: on the real MNI152 brain inside a synthetic head (skull,
scalp, sinuses, Rician noise, bias), the extracted brain overlaps the template's own brain mask
with Dice >= 0.95, whatever the grid; a skull-stripped input keeps its edge."""
import numpy as np
import pytest

from plugins.microbleeds.brainmask import extract_brain, head_mask
from plugins.microbleeds.canonical import to_work_grid
from workstation.core.phantoms import make_phantom
from workstation.core.phantoms.anatomy import load_anatomy


def template_brain_on(shape, origin, truth) -> np.ndarray:
    """The template's brain mask carried to a working grid by the phantom's own pose."""
    anat = load_anatomy()
    matrix = np.array(truth["template_from_world"])
    k, j, i = np.indices(shape).reshape(3, -1)
    world = np.asarray(origin) + np.stack([i, j, k], 1).astype(float)
    idx = np.round(world @ matrix[:3, :3].T + matrix[:3, 3] - np.asarray(anat.origin)).astype(int)[:, ::-1]
    ok = np.all((idx >= 0) & (idx < np.array(anat.shape)), axis=1)
    out = np.zeros(len(world), bool)
    out[ok] = anat.brain[tuple(idx[ok].T)]
    return out.reshape(shape)


def dice(a, b) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize("resolution", ["1mm", "0.5x0.5x2mm"])
def test_brain_extraction_matches_the_template_mask_with_skull(resolution):
    ph = make_phantom(seed=77, index=0, resolution=resolution, n_microbleeds=4)
    assert ph.truth["acquisition"]["skull"]
    vol = ph.volume
    work, origin = to_work_grid(vol.array, vol.spacing, vol.origin, vol.direction)
    masks = extract_brain(work)
    truth = template_brain_on(work.shape, origin, ph.truth)
    assert not masks.skull_stripped
    assert dice(masks.brain, truth) >= 0.95
    # the skull and scalp are outside: the head is much larger than the brain found
    assert head_mask(work).sum() > 1.3 * masks.brain.sum()


def test_skull_stripped_input_keeps_its_edge():
    ph = make_phantom(seed=77, index=0, resolution="1mm", n_microbleeds=2)
    vol = ph.volume
    work, origin = to_work_grid(vol.array, vol.spacing, vol.origin, vol.direction)
    truth = template_brain_on(work.shape, origin, ph.truth)
    stripped = np.where(truth, work, 0.0).astype(np.float32)
    masks = extract_brain(stripped)
    assert masks.skull_stripped
    assert dice(masks.brain, truth) >= 0.95


def test_a_blank_image_has_no_head():
    with pytest.raises(ValueError, match="no head found"):
        extract_brain(np.zeros((40, 40, 40), np.float32))
