"""The training generator's domain randomisation and the training set's hard negatives."""
import numpy as np
import pytest

from workstation.core.phantoms import lesions as L
from workstation.core.phantoms.anatomy import load_anatomy
from workstation.core.phantoms.warp import Warp


@pytest.fixture(scope="module")
def warp():
    return Warp(np.random.default_rng(5), amplitude_mm=3.0, ventricle_gain=0.3)


def test_warp_moves_the_anatomy_and_inverts_for_the_truth(warp):
    rng = np.random.default_rng(1)
    anat = load_anatomy()
    points = np.asarray(anat.origin) + rng.uniform(30, 150, size=(50, 3))
    shown = warp.template_point(points)
    moved = np.linalg.norm(shown - points, axis=1)
    assert moved.max() > 0.5  # the deformation is real
    assert moved.max() < 12.0  # and smooth, not a scramble
    back = warp.template_point(warp.warped_point(points))
    assert np.abs(back - points).max() < 0.05  # a bleed drawn at the warped point shows its tissue


def test_warp_of_the_grid_agrees_with_the_warp_of_a_point(warp):
    anat = load_anatomy()
    x, _, _ = anat.world_grid()
    image = np.broadcast_to(x, anat.shape).astype(np.float32)  # each voxel holds its own x (mm)
    warped = warp.apply(image, anat)
    k, j, i = 80, 100, 90
    p = np.asarray(anat.origin) + np.array([i, j, k], float)
    assert warped[k, j, i] == pytest.approx(warp.template_point(p)[0], abs=0.01)


def test_ventricle_gain_enlarges_the_ventricles():
    from scipy import ndimage

    anat = load_anatomy()
    deep_csf = ((anat.csf > 0.5) & (ndimage.distance_transform_edt(anat.brain) >= 10)).astype(np.float32)
    sizes = [Warp(np.random.default_rng(0), 0.0, gain).apply(deep_csf, anat).sum() for gain in (0.0, 0.3)]
    assert sizes[1] > 1.1 * sizes[0]  # gain 0.3 enlarges the deep CSF by ~14 %


def test_soft_edged_bleed_has_its_half_drop_at_the_stated_radius():
    grid = L.Grid((41, 41, 41), (0.25, 0.25, 0.25), (-5.0, -5.0, -5.0))
    factor = np.ones(grid.shape, np.float32)
    labels = np.zeros(grid.shape, np.uint16)
    L.stamp_microbleed(factor, labels, grid, 1, (0.0, 0.0, 0.0), 3.0, np.eye(3), (1.0, 1.0), 0.6, 0.0,
                       edge_mm=0.8, halo=False)
    centre = factor[20, 20, 20]
    at_radius = factor[20, 20, 26]  # 1.5 mm from the centre along x
    assert centre == pytest.approx(1 - 0.6 / (1 + np.exp(-1.5 / 0.8)), abs=0.02)  # a soft edge: less than the full drop
    assert at_radius == pytest.approx(0.7, abs=0.05)
    assert factor[20, 20, 39] > 0.9  # 4.75 mm out: tissue again


def test_random_style_bleeds_lie_where_the_truth_says_despite_the_warp():
    from workstation.core.phantoms import make_phantom

    ph = make_phantom(31, 2, resolution="1x1x3mm", style="random")
    assert "sharpness" in ph.truth["contrast"]
    vol = ph.volume
    inv = np.linalg.inv(np.asarray(vol.direction, float).reshape(3, 3) * np.asarray(vol.spacing))
    for les in ph.truth["lesions"]:
        ijk = np.round(inv @ (np.asarray(les["centre"]) - np.asarray(vol.origin))).astype(int)
        assert ph.labels[ijk[2], ijk[1], ijk[0]] == les["id"]
    kinds = {m["type"] for m in ph.truth["mimics"]}
    assert {"surface_vein", "vessel_end_on"} <= kinds
    # normal anatomy is bilateral: this phantom's calcifications and flow voids include mirrored
    # pairs (MNI x -> -x within the 1.5 mm jitter of each), which a bleed never has
    to_mni = np.asarray(ph.truth["template_from_world"])
    for kind in ("calcification", "flow_void"):
        at = np.array([(to_mni @ np.r_[m["centre"], 1.0])[:3] for m in ph.truth["mimics"] if m["type"] == kind])
        mirrored = at * [-1, 1, 1]
        gaps = np.linalg.norm(at[:, None] - mirrored[None], axis=2)
        assert (gaps[np.abs(at[:, 0]) > 5] < 8).any(), kind


def test_mimic_negatives_are_in_the_brain_and_clear_of_bleeds(phantom_1mm):
    from plugins.microbleeds.screening import prepare
    from plugins.microbleeds.train import _mimic_negatives

    vol = phantom_1mm.volume
    work = prepare(vol.array, vol.spacing, vol.origin, vol.direction)
    les = phantom_1mm.truth["lesions"]
    centres = np.array([x["centre"] for x in les])
    d = np.array([x["diameter_mm"] for x in les])
    kji = _mimic_negatives(phantom_1mm, work, centres, d, np.random.default_rng(0))
    assert len(kji) >= 10
    assert (kji >= 0).all() and (kji < np.array(work.mask.shape)).all()
    world = work.to_world(kji)
    gap = np.linalg.norm(world[:, None] - centres[None], axis=2) - d[None] / 2
    assert gap.min() > 3.0 - np.sqrt(3) - 0.01  # 3 mm clear, less a one-voxel jitter


def test_validation_reports_the_one_fp_per_volume_operating_point():
    import torch

    from plugins.microbleeds.train import validate

    class MeanDarkness(torch.nn.Module):
        def forward(self, x):
            return torch.stack([x[:, 0].mean(dim=(1, 2, 3)), x[:, 0].mean(dim=(1, 2, 3))], dim=1)

    values = np.array([5, 4, 3, 2, 1, 0.5, 0.2, 0.1], np.float32)  # the logit each patch gets
    x = np.broadcast_to(values[:, None, None, None, None], (8, 2, 2, 2, 2)).copy()
    y = np.array([1, 0, 1, 0, 1, 0, 0, 0], np.float32)
    volume = np.array([0, 0, 1, 1, 0, 0, 1, 1])
    out = validate(MeanDarkness(), x, y, volume)
    # two volumes: the second-best negative (2) is the threshold; positives 5 and 3 pass, 1 does not
    assert out["sensitivity_at_1fp_per_volume"] == pytest.approx(2 / 3)
    assert out["positives"] == 3


def test_a_solid_calcification_is_one_round_focus_as_dark_as_asked():
    from scipy import ndimage

    from workstation.core.phantoms import lesions as L

    grid = L.Grid((40, 40, 40), (1.0, 1.0, 1.0), (-20.0, -20.0, -20.0))
    for seed in range(5):
        factor = np.ones(grid.shape, np.float32)
        foci = L.stamp_calcification(factor, grid, np.random.default_rng(seed), (0.0, 0.0, 0.0), 0.8, solid=True)
        assert len(foci) == 1 and np.allclose(foci[0], 0.0)
        assert abs(factor[20, 20, 20] - 0.2) < 0.05  # the centre keeps 1 - depth of the signal
        dark = factor < 0.6
        labels, n = ndimage.label(dark)
        assert n == 1
        pts = np.argwhere(dark).astype(float)
        eig = np.linalg.eigvalsh(np.cov(pts.T))
        assert eig.max() / eig.min() < 1.3  # round, not a cluster
