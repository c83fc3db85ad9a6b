"""The held-out generator itself: bleeds are where the truth says, in every variant's file, as an
independent reader (SimpleITK) sees it; the noise is Rician; a missing base fails in one line.

The base head is fetched with pip (PyPI must be reachable once) and built once (one to two minutes on
a busy 2-core machine), then cached in $WORKSTATION_HELDOUT_CACHE or ~/.cache/workstation/heldout
(not the per-session WORKSTATION_DATA_DIR of conftest), so later runs take about half a minute."""
import os
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from tests.heldout import base as base_mod  # noqa: E402
from tests.heldout import generator as gen  # noqa: E402

CACHE = Path(os.environ.get("WORKSTATION_HELDOUT_CACHE") or Path.home() / ".cache" / "workstation" / "heldout")


@pytest.fixture(scope="module")
def world():
    try:
        base = base_mod.load_base(CACHE)
    except base_mod.BaseUnavailable as exc:  # no PyPI: say so in one line rather than a traceback
        pytest.fail(str(exc), pytrace=False)
    scene = gen.make_subject(base, seed=5, index=1)
    return base, scene, gen.anatomy(base, scene)


def _crop(grid, lo, hi):
    origin = grid.origin + grid.direction @ (grid.spacing * np.asarray(lo))
    return gen.Grid(tuple(np.asarray(hi) - lo), grid.spacing, grid.direction, origin)


@pytest.mark.parametrize("variant", sorted(gen.VARIANTS))
def test_each_bleed_is_a_dark_focus_at_its_truth_centre(world, variant, tmp_path):
    import SimpleITK as sitk
    base, scene, anat = world
    grid = gen.variant_grid(base, variant, seed=5)
    assert scene["lesions"], "the scene has bleeds"
    for les in scene["lesions"]:
        c = np.array(les["centre"])
        r = les["diameter_mm"] / 2
        lo, hi = gen._block(grid, c - r - 6, c + r + 6, np.zeros(3, int), np.array(grid.shape))
        with_bleed = gen.render(base, scene, grid, noise=False, box=(lo, hi), anat=anat)
        without = gen.render(base, {**scene, "lesions": []}, grid, noise=False, box=(lo, hi), anat=anat)
        kind = gen.VARIANTS[variant][2]
        path = tmp_path / f"{les['id']}.nii.gz"
        gen.write_nifti(path, gen.store(with_bleed, scene, kind), _crop(grid, lo, hi))
        img = sitk.ReadImage(str(path), sitk.sitkFloat32)
        arr = sitk.GetArrayFromImage(img).transpose(2, 1, 0)
        ijk = np.rint(img.TransformPhysicalPointToContinuousIndex([float(v) for v in c])).astype(int)
        centre = arr[tuple(ijk)]
        to_world = np.array(img.GetDirection()).reshape(3, 3) * np.array(img.GetSpacing())
        pts = np.stack(np.indices(arr.shape), -1).reshape(-1, 3) @ to_world.T + np.array(img.GetOrigin())
        dist = np.linalg.norm(pts - c, axis=1)
        shell = arr.reshape(-1)[(dist >= r + 2) & (dist <= r + 4)]
        assert centre < np.median(shell), f"{variant} {les['id']}: centre {centre} vs surroundings {np.median(shell)}"
        ratio = with_bleed / np.maximum(without, 1e-6)
        darkest = np.array(np.unravel_index(np.argmin(ratio), ratio.shape))
        found = np.array(img.TransformContinuousIndexToPhysicalPoint([float(v) for v in darkest]))
        tol = 0.5 * np.linalg.norm(grid.spacing) + 0.3
        assert np.linalg.norm(found - c) <= tol, f"{variant} {les['id']}: darkest at {found}, truth {c}"
        assert ratio.min() <= 1 - 0.3 * les["signal_drop"]


def test_variants_cover_the_same_world_head(world):
    base, scene, _ = world
    boxes = {}
    for name in gen.VARIANTS:
        g = gen.variant_grid(base, name, seed=5)
        corners = np.array([[i, j, k] for i in (0, g.shape[0] - 1) for j in (0, g.shape[1] - 1)
                            for k in (0, g.shape[2] - 1)])
        world_pts = corners * g.spacing @ g.direction.T + g.origin
        boxes[name] = (world_pts.min(0), world_pts.max(0))
        for les in scene["lesions"]:
            assert np.all(g.to_index([les["centre"]]) >= 0) and np.all(g.to_index([les["centre"]]) < g.shape)
    ref = boxes["iso1"]
    for name in ("aniso045", "aniso113", "ras", "scale01", "uint16"):
        assert np.allclose(boxes[name][0], ref[0], atol=3.1) and np.allclose(boxes[name][1], ref[1], atol=3.1)


def test_background_noise_is_rician_at_the_scene_snr(world):
    base, scene, anat = world
    grid = gen.variant_grid(base, "iso1", seed=5)
    air = gen.render(base, scene, grid, noise=True, box=((0, 0, grid.shape[2] - 12), (20, 20, grid.shape[2])),
                     anat=anat)
    sigma = scene["contrast"]["wm"] / scene["snr"]
    assert air.mean() == pytest.approx(sigma * np.sqrt(np.pi / 2), rel=0.08)  # Rayleigh mean where signal is 0


def test_truth_file_is_what_evaluate_detections_reads(world, tmp_path):
    from workstation.commands.evaluate_detections import truth_subjects
    _, scene, _ = world
    entry = gen.truth_entry(scene, "hs-001.nii.gz")
    truth = truth_subjects({"schema": gen.SCHEMA, "seed": 5, "subjects": [entry]}, "truth.json")
    assert [les["centre"] for les in truth["hs-001"]] == [les["centre"] for les in scene["lesions"]]
    assert {les["region"] for les in entry["lesions"]} <= set(base_mod.REGIONS)
    assert all(2 <= les["diameter_mm"] <= 10 and 0.2 <= les["signal_drop"] <= 0.7 for les in entry["lesions"])


def test_unfetchable_base_fails_in_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path))
    with pytest.raises(base_mod.BaseUnavailable) as err:
        base_mod.fetch_head(tmp_path / "empty-cache")
    assert "pydeface==2.1.0" in str(err.value) and "\n" not in str(err.value)
