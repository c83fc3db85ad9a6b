"""An asymmetric phantom (a bright block in the patient's left-anterior-superior octant) written
as NIfTI (RAS affine, i towards the patient's right) and as a DICOM CT series (i towards the
left), read by the application's readers: every view shows left/right, anterior/posterior and
superior/inferior on the same sides for both, as the radiological convention says."""
from __future__ import annotations

import numpy as np
import pytest

from workstation.core.io import read

from viewer_helpers import grab, image_rect, phantom, settle, white_centroid, write_dicom_series

BLOCK_LO, BLOCK_HI = np.array([6.0, -22.0, 6.0]), np.array([22.0, -6.0, 22.0])  # LPS mm
BLOCK_CENTRE = (BLOCK_LO + BLOCK_HI) / 2


def block_fn(world):
    inside = np.all((world >= BLOCK_LO) & (world <= BLOCK_HI), axis=1)
    return np.where(inside, 1000, 100)


def write_nifti(path):
    import nibabel as nib

    shape = (50, 50, 25)
    affine = np.diag([1.0, 1.0, 2.0, 1.0])  # RAS: i to the patient's right, j anterior, k superior
    affine[:3, 3] = -affine[:3, :3] @ ((np.array(shape) - 1) / 2)
    i, j, k = np.indices(shape).reshape(3, -1)
    ras = (affine @ np.vstack([i, j, k, np.ones_like(i)]))[:3].T
    lps = ras * [-1, -1, 1]
    data = block_fn(lps).reshape(shape).astype(np.int16)
    nib.save(nib.Nifti1Image(data, affine), str(path))
    return path


def quadrants(viewer) -> dict[str, tuple[float, float]]:
    """For each view: the block's centre as fractions (across, down) of the image on screen."""
    out = {}
    for name in ("axial", "coronal", "sagittal"):
        view = viewer.views[name]
        view.text.SetVisibility(False)
        view.cross.SetVisibility(False)
    settle_views = [viewer.views[n] for n in ("axial", "coronal", "sagittal")]
    for view in settle_views:
        view.request_render()
    viewer.flush()
    for view in settle_views:
        pixels = grab(view)
        x0, x1, y0, y1 = image_rect(pixels)
        centroid = white_centroid(pixels)
        assert centroid is not None, f"block not seen in the {view.orientation} view"
        out[view.orientation] = ((centroid[0] - x0) / (x1 - x0), (centroid[1] - y0) / (y1 - y0))
    return out


@pytest.mark.gui
def test_nifti_and_dicom_show_the_patient_the_same_way_round(qtbot, viewer, tmp_path):
    dicom_volume = phantom((50, 50, 25), (1.0, 1.0, 2.0), np.eye(3), block_fn)
    write_dicom_series(dicom_volume, tmp_path / "series")
    write_nifti(tmp_path / "phantom.nii.gz")
    seen = {}
    for source in ("series", "phantom.nii.gz"):
        (volume,) = read(tmp_path / source)
        viewer.set_volume(volume, layout="mpr")
        viewer.state.set_window(500.0, 1000.0)
        viewer.state.set_crosshair(BLOCK_CENTRE)
        settle(qtbot, viewer)
        seen[source] = quadrants(viewer)
    for source, views in seen.items():
        axial, coronal, sagittal = views["axial"], views["coronal"], views["sagittal"]
        assert axial[0] > 0.6 and axial[1] < 0.4, (source, "axial: left on the right, anterior up")
        assert coronal[0] > 0.6 and coronal[1] < 0.4, (source, "coronal: left on the right, superior up")
        assert sagittal[0] < 0.4 and sagittal[1] < 0.4, (source, "sagittal: anterior left, superior up")
    for name in ("axial", "coronal", "sagittal"):
        assert np.allclose(seen["series"][name], seen["phantom.nii.gz"][name], atol=0.03), name
