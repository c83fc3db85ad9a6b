"""Masks saved per case and reader as .nii.gz, every version's sha256 in the audit trail."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from workstation.core.project.config import ProjectError
from workstation.core.segmentation import store
from workstation.core.segmentation.editor import SegmentationEditor
from workstation.core.segmentation.grid import Grid


def test_versions_are_audited_and_checked_on_load(seg_project):
    vol = store.case_volume(seg_project, "s0")
    grid = Grid.of(vol)
    ed = SegmentationEditor(grid, vol.array)
    ed.dab("lesion", (0.0, -20.0, 10.0), 6.0)
    first = store.save_mask(seg_project, "s0", "ann", "lesion", ed.mask("lesion"), grid)
    ed.dab("lesion", (8.0, -20.0, 10.0), 6.0)
    second = store.save_mask(seg_project, "s0", "ann", "lesion", ed.mask("lesion"), grid)
    assert first.sha256 != second.sha256
    for v in (first, second):
        assert hashlib.sha256((Path(seg_project.directory) / v.file).read_bytes()).hexdigest() == v.sha256
    assert [h["sha256"] for h in store.history(seg_project, "s0", "ann", "lesion")] == [first.sha256, second.sha256]
    assert seg_project.verify().ok
    assert [s.name for s in store.segments(seg_project)] == ["lesion"]
    (latest,) = store.latest_versions(seg_project, "s0", "ann")
    mask, loaded_grid = store.load_mask(seg_project, latest)
    assert np.array_equal(mask, ed.mask("lesion")) and loaded_grid.same_as(grid)
    assert latest.volume_mm3 == pytest.approx(ed.volume_mm3("lesion"))
    # saved masks are not detection candidates
    assert seg_project.candidate_states("s0") == {}
    # a file changed behind the audit's back is refused
    path = Path(seg_project.directory) / latest.file
    path.write_bytes(path.read_bytes()[:-8] + b"\0" * 8)
    with pytest.raises(ProjectError, match="sha256 differs"):
        store.load_mask(seg_project, latest)


def test_bad_names_and_grids_say_why(seg_project, tmp_path):
    grid = Grid((4, 5, 6), (1.0, 1.0, 1.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    with pytest.raises(ProjectError, match="bad segment name"):
        store.add_segment(seg_project, "../x")
    with pytest.raises(ProjectError, match="no case"):
        store.save_mask(seg_project, "nope", "ann", "lesion", grid.empty(), grid)
    import SimpleITK as sitk

    other = tmp_path / "other.nii.gz"
    sitk.WriteImage(sitk.Image(6, 5, 4, sitk.sitkUInt8), str(other))
    moved = Grid((4, 5, 6), (1.0, 1.0, 2.0), (0.0, 0.0, 0.0), tuple(np.eye(3).ravel()))
    with pytest.raises(ProjectError, match="not on the case's image grid"):
        store.read_mask_file(other, moved)
    assert store.read_mask_file(other, grid).shape == (4, 5, 6)


def test_a_2d_mask_file_fits_a_2d_image(tmp_path):
    import SimpleITK as sitk

    grid = Grid((1, 5, 6), (0.5, 0.5, 1.0), (1.0, 2.0, 0.0), tuple(np.eye(3).ravel()))
    image = sitk.GetImageFromArray(np.eye(5, 6, dtype=np.uint8) * 7)
    image.SetSpacing((0.5, 0.5))
    image.SetOrigin((1.0, 2.0))
    sitk.WriteImage(image, str(tmp_path / "m.nii.gz"))
    mask = store.read_mask_file(tmp_path / "m.nii.gz", grid)
    assert mask.shape == (1, 5, 6) and np.array_equal(mask[0], np.eye(5, 6, dtype=np.uint8))
    image.SetSpacing((0.6, 0.5))
    sitk.WriteImage(image, str(tmp_path / "m.nii.gz"))
    with pytest.raises(ProjectError, match="not on the case's image grid"):
        store.read_mask_file(tmp_path / "m.nii.gz", grid)
