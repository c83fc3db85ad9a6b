"""Phantoms: the ground truth (JSON and label NIfTI) agrees with what was planted in the voxels;
the tissue contrast is SWI-like; the series is reproducible."""
import json

import numpy as np
import pytest
import SimpleITK as sitk

from workstation.core.phantoms import generate, make_phantom
from workstation.core.phantoms.anatomy import REGIONS, load_anatomy


@pytest.fixture(scope="module", params=["1mm", "0.5x0.5x2mm"])
def phantom(request):
    return make_phantom(seed=11, index=2, resolution=request.param, n_microbleeds=8)


def _world_of_voxels(volume, mask):
    k, j, i = np.nonzero(mask)
    return volume.index_to_world(np.stack([i, j, k], axis=1))


def test_every_lesion_is_labelled_where_the_json_says(phantom):
    vol, labels, truth = phantom.volume, phantom.labels, phantom.truth
    assert len(truth["lesions"]) == 8
    assert set(np.unique(labels)) - {0} == {les["id"] for les in truth["lesions"]}
    voxel_ml = float(np.prod(vol.spacing))
    for les in truth["lesions"]:
        pts = _world_of_voxels(vol, labels == les["id"])
        centroid = pts.mean(axis=0)
        assert np.linalg.norm(centroid - les["centre"]) <= max(vol.spacing) / 2 + 0.3, les
        assert 2.0 <= les["diameter_mm"] <= 10.0
        if les["diameter_mm"] >= 4 * max(vol.spacing) / 2:
            equivalent = (6 * len(pts) * voxel_ml / np.pi) ** (1 / 3)
            assert equivalent == pytest.approx(les["diameter_mm"], rel=0.3), les


def test_lesions_are_dark_foci_with_a_blooming_edge(phantom):
    vol, truth = phantom.volume, phantom.truth
    arr = vol.array.astype(float)
    for les in truth["lesions"]:
        i, j, k = np.round(vol.world_to_index(les["centre"])).astype(int)
        centre = arr[k, j, i]
        r_vox = (les["diameter_mm"] / 2 + les["bloom_mm"] * 3 + 4) / np.array(vol.spacing)
        lo = np.maximum(np.floor([i, j, k] - r_vox).astype(int), 0)
        ring = arr[lo[2]:k + int(r_vox[2]) + 1, lo[1]:j + int(r_vox[1]) + 1, lo[0]:i + int(r_vox[0]) + 1]
        assert centre < 0.75 * np.median(ring), les
        # blooming: just outside the core is still darker than the tissue further out
        k0, j0, i0 = lo[2], lo[1], lo[0]
        kk, jj, ii = np.meshgrid(*(np.arange(a, a + n) for a, n in zip((k0, j0, i0), ring.shape)), indexing="ij")
        pts = vol.index_to_world(np.stack([ii.ravel(), jj.ravel(), kk.ravel()], 1))
        dist = np.linalg.norm(pts - les["centre"], axis=1).reshape(ring.shape)
        r, b = les["diameter_mm"] / 2, les["bloom_mm"]
        near = ring[(dist > r + 0.3) & (dist < r + 0.3 + b)]
        far = ring[(dist > r + 3 * b + 1.5) & (dist < r + 3 * b + 4)]
        assert near.mean() < 0.98 * far.mean(), les


def test_regions_match_the_anatomy(phantom):
    truth = phantom.truth
    anat = load_anatomy()
    template_from_world = np.array(truth["template_from_world"])
    for les in truth["lesions"]:
        p = template_from_world[:3, :3] @ les["centre"] + template_from_world[:3, 3]
        i, j, k = np.round(p - np.asarray(anat.origin)).astype(int)
        assert REGIONS[anat.region[k, j, i] - 1] == les["region"]
    assert {m["type"] for m in truth["mimics"]} >= {"vessel", "flow_void"}


def test_swi_contrast_csf_gm_wm_and_iron(phantom):
    vol, truth = phantom.volume, phantom.truth
    anat = load_anatomy()
    world_from_template = np.linalg.inv(np.array(truth["template_from_world"]))
    rng = np.random.default_rng(0)

    def mean_where(mask):
        k, j, i = np.nonzero(mask)
        pick = rng.choice(len(k), size=min(2000, len(k)), replace=False)
        p_a = np.asarray(anat.origin) + np.stack([i, j, k], 1)[pick]
        p_w = p_a @ world_from_template[:3, :3].T + world_from_template[:3, 3]
        idx = np.round(vol.world_to_index(p_w)).astype(int)
        ok = np.all((idx >= 0) & (idx < np.array(vol.size)), axis=1)
        return float(np.median(vol.array[idx[ok, 2], idx[ok, 1], idx[ok, 0]]))

    csf, gm, wm = mean_where(anat.csf > 0.9), mean_where(anat.gm > 0.85), mean_where(anat.wm > 0.95)
    iron = mean_where(anat.iron > 0.3)
    assert csf > gm > wm > iron


def test_same_seed_same_phantom_other_seed_differs():
    a = make_phantom(5, 0, resolution="1mm")
    b = make_phantom(5, 0, resolution="1mm")
    c = make_phantom(6, 0, resolution="1mm")
    assert np.array_equal(a.volume.array, b.volume.array) and a.truth == b.truth
    assert not np.array_equal(a.volume.array, c.volume.array)


def test_generate_writes_nifti_labels_and_truth(tmp_path):
    index = generate(tmp_path, n=2, seed=3)
    data = json.loads(index.read_text())
    assert data["schema"] == "workstation.detection-truth/1" and len(data["subjects"]) == 2
    for subject in data["subjects"]:
        image = sitk.ReadImage(str(tmp_path / subject["image"]))
        labels = sitk.ReadImage(str(tmp_path / subject["labels"]))
        per_volume = json.loads((tmp_path / f"{subject['id']}.json").read_text())
        assert per_volume["lesions"] == subject["lesions"]
        assert image.GetSize() == labels.GetSize() == tuple(per_volume["size"])
        assert np.allclose(image.GetSpacing(), per_volume["spacing"])
        arr = sitk.GetArrayFromImage(labels)
        for les in subject["lesions"]:  # label voxel centroid read back through the NIfTI geometry
            k, j, i = np.nonzero(arr == les["id"])
            pts = [labels.TransformContinuousIndexToPhysicalPoint((float(a), float(b), float(c)))
                   for a, b, c in zip(i, j, k)]
            assert np.linalg.norm(np.mean(pts, axis=0) - les["centre"]) <= max(image.GetSpacing()) / 2 + 0.3


def test_generate_refuses_bad_arguments(tmp_path):
    with pytest.raises(ValueError, match="at least 1"):
        generate(tmp_path, n=0, seed=1)
    with pytest.raises(ValueError, match="unknown resolution"):
        generate(tmp_path, n=1, seed=1, resolution="3mm")
