"""The mid-sagittal plane and the mirror features: a symmetric head tilted by a known rotation gives
back its plane; a dark focus with a twin at the mirrored place reads as bilateral, one without as
unilateral."""
import numpy as np
import pytest
from scipy import ndimage

from plugins.microbleeds.symmetry import MIRROR_FEATURES, Plane, midsagittal_plane, mirror_features

SHAPE = (90, 110, 100)  # k, j, i (1 mm)


def _symmetric_brain(seed=0):
    """Random smooth texture, mirror-symmetric in i about i = 50, inside an ellipsoid; k and j
    have no symmetry (so only the left-right plane fits)."""
    rng = np.random.default_rng(seed)
    tex = ndimage.gaussian_filter(rng.normal(size=SHAPE), 3.0)
    tex = tex + tex[:, :, ::-1][:, :, [SHAPE[2] - 1] + list(range(SHAPE[2] - 1))]  # i -> 100 - i: about i = 50
    k, j, i = np.indices(SHAPE)
    mask = ((k - 45) / 38.0) ** 2 + ((j - 55) / 48.0) ** 2 + ((i - 50) / 40.0) ** 2 < 1
    img = np.where(mask, 1.0 + 0.15 * tex / tex.std(), 0.0)
    return img.astype(np.float32), mask


def _rotate(a, angles_deg, order=1):
    """Rotate about the grid centre: `angles_deg` about the k axis (yaw, in the j-i plane) then
    about the j axis (roll, in the k-i plane). Returns the volume and the rotation matrix (kji)."""
    yaw, roll = np.deg2rad(angles_deg)
    rz = np.array([[1, 0, 0], [0, np.cos(yaw), -np.sin(yaw)], [0, np.sin(yaw), np.cos(yaw)]])
    ry = np.array([[np.cos(roll), 0, -np.sin(roll)], [0, 1, 0], [np.sin(roll), 0, np.cos(roll)]])
    rot = ry @ rz
    centre = (np.array(SHAPE) - 1) / 2.0
    # output q = rot (p - c) + c  <=>  p = rot^T (q - c) + c
    out = ndimage.affine_transform(a.astype(np.float32), rot.T, offset=centre - rot.T @ centre, order=order)
    return out, rot, centre


@pytest.mark.parametrize("angles", [(0.0, 0.0), (12.0, -8.0), (-18.0, 15.0)])
def test_the_plane_of_a_tilted_symmetric_brain_is_found(angles):
    img, mask = _symmetric_brain()
    rimg, rot, centre = _rotate(img, angles)
    rmask = _rotate(mask.astype(np.float32), angles)[0] > 0.5
    plane = midsagittal_plane(np.log(np.clip(rimg, 0.05, None)), rmask)
    true_normal = rot @ np.array([0.0, 0.0, 1.0])
    true_offset = float(true_normal @ (rot @ (np.array([45.0, 55.0, 50.0]) - centre) + centre))
    angle = np.degrees(np.arccos(min(1.0, abs(float(plane.normal @ true_normal)))))
    assert angle < 2.0
    assert abs(np.sign(plane.normal @ true_normal) * plane.offset - true_offset) < 1.5
    assert plane.score > 0.8


def _with_foci(img, places):
    out = img.copy()
    k, j, i = np.indices(SHAPE)
    for c in places:
        r2 = (k - c[0]) ** 2 + (j - c[1]) ** 2 + (i - c[2]) ** 2
        out *= 1 - 0.5 * np.exp(-r2 / (2 * 1.5 ** 2))
    return out


def test_a_focus_with_a_mirrored_twin_reads_bilateral_and_one_without_unilateral():
    img, mask = _symmetric_brain(1)
    twin_a, twin_b, alone = (40, 50, 30), (40, 50, 70), (55, 70, 35)
    img = _with_foci(img, [twin_a, twin_b, alone])
    log = np.log(np.clip(img, 0.05, None)).astype(np.float32)
    response = (2.0 ** 2) * ndimage.gaussian_laplace(log, 2.0)
    plane = Plane(np.array([0.0, 0.0, 1.0]), 50.0, 1.0)
    kji = np.array([twin_a, alone])
    f = mirror_features(log, response, mask, kji, response[tuple(kji.T)], plane)
    assert set(f) == set(MIRROR_FEATURES)
    assert f["mirror_response"][0] > 0.8 and f["mirror_response"][1] < 0.3
    assert f["mirror_ncc"][0] > 0.9 > f["mirror_ncc"][1]
    assert f["midline_mm"][0] == pytest.approx(20.0) and f["midline_mm"][1] == pytest.approx(15.0)
    assert f["mirror_brain"].tolist() == [1.0, 1.0]


def test_no_candidates_give_empty_columns():
    img, mask = _symmetric_brain()
    f = mirror_features(img, img, mask, np.zeros((0, 3)), np.zeros(0), Plane(np.array([0, 0, 1.0]), 50.0, 1.0))
    assert all(len(v) == 0 for v in f.values())


def test_on_a_phantom_the_bleeds_have_no_twin_and_the_iron_dark_pallidum_has(phantom_1mm):
    from plugins.microbleeds.screening import prepare, screen
    from plugins.microbleeds.symmetry import volume_mirror_features

    vol = phantom_1mm.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    found = screen(work)
    bleeds = np.array([les["centre"] for les in phantom_1mm.truth["lesions"]])
    to_world = np.linalg.inv(np.asarray(phantom_1mm.truth["template_from_world"]))
    pallidum = (to_world @ np.array([[19.0, 3.0, -1.0, 1.0], [-19.0, 3.0, -1.0, 1.0]]).T).T[:, :3]  # MNI, LPS mm
    kji = np.round(work.to_index(np.concatenate([bleeds, pallidum]))).astype(int)
    f = volume_mirror_features(work, found, kji)
    n = len(bleeds)
    assert (f["mirror_response"][:n] < 0.3).all()
    # one pallidum also holds a drawn calcification: similar, not identical
    assert (f["mirror_response"][n:] > 0.8).all() and (f["mirror_ncc"][n:] > 0.7).all()
    assert f["mirror_ncc"][n:].min() > f["mirror_ncc"][:n].max()
    assert (f["midline_mm"][n:] > 15).all() and (f["mirror_brain"] == 1).all()
