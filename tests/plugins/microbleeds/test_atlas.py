"""Where a candidate sits: the template registration recovers a phantom's known pose, holds on
another real head (the held-out generator's pydeface head, which the template was not made from,
with a brain mask that runs on into the neck), and the site distances and the CSF share read as
they should at known places."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from plugins.microbleeds.atlas import ATLAS_FEATURES, SITES_RAS, Atlas, atlas_features, to_atlas
from plugins.microbleeds.screening import prepare

SITES_LPS = np.array([s for sites in SITES_RAS.values() for s in sites]) * [-1.0, -1.0, 1.0]


def _work(volume, direction=None, origin=None):
    return prepare(volume.array, volume.spacing, volume.origin if origin is None else origin,
                   volume.direction if direction is None else direction)


def _rotation(ax_deg, ay_deg):
    a, b = np.radians(ax_deg), np.radians(ay_deg)
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    return rx @ ry


def test_registration_recovers_the_phantom_pose_also_when_the_file_is_rotated(phantom_1mm):
    vol = phantom_1mm.volume
    truth = np.array(phantom_1mm.truth["template_from_world"])  # world mm -> template LPS mm
    world_of_sites = (SITES_LPS - truth[:3, 3]) @ np.linalg.inv(truth[:3, :3]).T
    A, t = to_atlas(_work(vol), Atlas.load())
    err = np.linalg.norm(world_of_sites @ A.T + t - SITES_LPS, axis=1)
    assert err.max() < 3.0, err
    # the same voxels written with a direction rotated 20 and 15 degrees: another world frame
    rot = _rotation(20, 15)
    direction = rot @ np.asarray(vol.direction, float).reshape(3, 3)
    origin = rot @ np.asarray(vol.origin, float)
    A2, t2 = to_atlas(_work(vol, direction.ravel(), origin), Atlas.load())
    err = np.linalg.norm((world_of_sites @ rot.T) @ A2.T + t2 - SITES_LPS, axis=1)
    assert err.max() < 3.0, err


def test_registration_holds_on_an_independent_head_with_its_neck(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[3]))
    from tests.heldout import base as base_mod
    from tests.heldout import generator as gen
    from workstation.plugin_api import Volume

    cache = Path(os.environ.get("WORKSTATION_HELDOUT_CACHE") or Path.home() / ".cache" / "workstation" / "heldout")
    try:
        base = base_mod.load_base(cache)
    except base_mod.BaseUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    scene = gen.make_subject(base, seed=5, index=1)
    calcs = [m for m in scene["mimics"] if m["type"].startswith("calcification")]
    scene = {**scene, "lesions": [], "mimics": []}  # the head alone: the registration sees anatomy only
    grid = gen.variant_grid(base, "aniso113", seed=5)
    data = gen.render(base, scene, grid, variant_seed=0).astype(np.float32)
    volume = Volume(np.ascontiguousarray(data.transpose(2, 1, 0)), tuple(grid.spacing), tuple(grid.origin),
                    tuple(np.asarray(grid.direction, float).ravel()), modality="MR")
    work = _work(volume)
    kji = np.round(work.to_index([c["centre"] for c in calcs])).astype(int)
    f = atlas_features(work, kji)
    for c, pineal, choroid, pallidum in zip(calcs, f["site_pineal_mm"], f["site_choroid_mm"], f["site_pallidum_mm"]):
        near = {"pineal": pineal, "choroid": choroid, "pallidum": pallidum}
        site = next(k for k in near if k in c["type"])
        assert near[site] < 6.0, (c, near)


def test_site_distances_and_csf_share_at_known_template_places():
    atlas = Atlas.load()

    class Identity:  # the template itself on a 1 mm grid, as a working image
        k, j, i = (np.arange(n) for n in np.array(atlas.image.shape) * 2)
        array = np.repeat(np.repeat(np.repeat(atlas.image, 2, 0), 2, 1), 2, 2).astype(np.float32)
        mask = np.repeat(np.repeat(np.repeat(atlas.brain, 2, 0), 2, 1), 2, 2)
        origin = atlas.origin - 0.5
        spacing = 1.0

        def to_world(self, kji):
            return self.origin + np.asarray(kji, float).reshape(-1, 3)[:, ::-1]

    work = Identity()
    kji = np.round((SITES_LPS - work.origin)[:, ::-1]).astype(int)
    f = atlas_features(work, kji, atlas)
    assert set(f) == set(ATLAS_FEATURES)
    assert f["site_pineal_mm"][0] < 3.0 and f["site_choroid_mm"][1:3].max() < 3.0 and f["site_pallidum_mm"][3:5].max() < 3.0
    csf = f["atlas_csf"]
    assert csf[0] > 0.5, csf  # the pineal sits in the CSF of the quadrigeminal cistern
    assert min(csf[1], csf[2]) > 0.25, csf  # the choroid plexus in the trigone's CSF (2 mm grid)
    assert max(csf[3], csf[4]) < 0.1, csf  # the pallidum is grey matter
    assert f["atlas_depth_mm"].min() > 20  # all deep in the brain
    outside = atlas_features(work, np.round((np.array([[0.0, 0.0, -80.0]]) - work.origin)[:, ::-1]).astype(int), atlas)
    assert outside["atlas_depth_mm"][0] < -5  # below the cerebellum, in the neck


def test_a_slab_of_the_brain_gets_no_atlas_measurements_and_is_still_scored(phantom_1mm):
    from plugins.microbleeds.detector import build
    from workstation.plugin_api import Volume

    vol = phantom_1mm.volume
    k0 = vol.array.shape[0] // 2
    step = np.asarray(vol.direction, float).reshape(3, 3) @ (np.array([0, 0, k0]) * np.asarray(vol.spacing))
    slab = Volume(np.ascontiguousarray(vol.array[k0:k0 + 30]), vol.spacing, tuple(np.asarray(vol.origin) + step),
                  vol.direction, modality="MR")
    work = _work(slab)
    f = atlas_features(work, np.argwhere(work.mask)[:5])
    assert set(f) == set(ATLAS_FEATURES) and all(np.isnan(v).all() for v in f.values())
    detector = build(None, {})
    detector.load("cpu")
    found = detector.detect(slab)
    assert found and all(np.isfinite(c.score) for c in found)
