"""`workstation open` as a user runs it: a subprocess that loads, renders, saves a screenshot of
the whole window and exits; bad input gives one line and a non-zero exit."""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
import SimpleITK as sitk
from PySide6.QtGui import QImage

from viewer_helpers import phantom, sphere_fn

CENTRE = (12.0, -8.0, 5.0)


def workstation(*args, tmp_path):
    env = dict(os.environ, WORKSTATION_TIMING="1")
    return subprocess.run([sys.executable, "-m", "workstation.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=tmp_path)


@pytest.fixture
def nifti(tmp_path):
    volume = phantom((64, 64, 32), (1.0, 1.0, 2.0), np.eye(3), sphere_fn(CENTRE, 7.0))
    image = sitk.GetImageFromArray(volume.array)
    image.SetSpacing(volume.spacing)
    image.SetOrigin(volume.origin)
    path = tmp_path / "sphere.nii.gz"
    sitk.WriteImage(image, str(path))
    return path


@pytest.mark.gui
@pytest.mark.slow
def test_open_with_screenshot_renders_the_images_into_a_png(tmp_path, nifti):
    out = tmp_path / "shot.png"
    result = workstation("open", nifti, "--screenshot", out, "--layout", "mpr", "--window", 1000,
                         "--level", 500, "--point", ",".join(map(str, CENTRE)), "--size", "760x540",
                         tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "first frame at" in result.stderr
    image = QImage(str(out))
    # at least the size asked for (other panels may need more width)
    assert image.width() >= 760 and image.height() >= 540
    # the sphere (1000 at W 1000 / L 500 = white) is in the picture, in all three views
    pixels = np.array([[image.pixelColor(x, y).lightness() for x in range(0, image.width(), 2)]
                       for y in range(0, image.height(), 2)])
    white = pixels > 245
    assert white.sum() > 100
    columns = np.nonzero(white.any(axis=0))[0]
    assert columns.max() - columns.min() > 150  # more than one pane shows it


@pytest.mark.gui
def test_open_reports_bad_input_in_one_line(tmp_path):
    missing = workstation("open", tmp_path / "nope.nii", "--screenshot", tmp_path / "x.png", tmp_path=tmp_path)
    assert missing.returncode == 2 and "nope.nii" in missing.stderr
    assert len(missing.stderr.strip().splitlines()) == 1
    junk = tmp_path / "junk.nii.gz"
    junk.write_bytes(b"\x00garbage")
    broken = workstation("open", junk, "--screenshot", tmp_path / "x.png", tmp_path=tmp_path)
    assert broken.returncode == 1 and "junk.nii.gz" in broken.stderr
    assert not (tmp_path / "x.png").exists()
    bad_point = workstation("open", junk, "--point", "1,2", tmp_path=tmp_path)
    assert bad_point.returncode == 2 and "X,Y,Z" in bad_point.stderr


def screenshot_pixels(path) -> np.ndarray:
    image = QImage(str(path)).convertToFormat(QImage.Format_Grayscale8)
    buffer = np.frombuffer(image.constBits(), np.uint8, image.sizeInBytes())
    return buffer.reshape(image.height(), image.bytesPerLine())[:, : image.width()]


def sample(name):
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    assert path is not None, f"pydicom-data file {name} missing (install the 'samples' extra)"
    return path


@pytest.mark.gui
@pytest.mark.slow
def test_screenshot_of_a_project_waits_for_the_first_case_and_exits_cleanly(tmp_path):
    """The issue's case: a 2D project saved before its first image loaded ("Reading ... 0 %"), then
    aborted with "QThread: Destroyed while thread is still running" (exit 134)."""
    from workstation.core.project import Project

    folder = tmp_path / "xrays"
    project = Project.create(folder, "binary", ["normal", "abnormal"])
    try:
        project.add_cases([{"paths": [sample(name)], "case_id": name.split(".")[0]}
                           for name in ("RG1_UNCR.dcm", "RG3_UNCR.dcm")])
    finally:
        project.close()
    out = tmp_path / "project.png"
    result = workstation("open", folder, "--screenshot", out, "--size", "780x560", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "QThread" not in result.stderr and "Reading" not in result.stderr
    pixels = screenshot_pixels(out)
    # the X-ray is in the picture: a large bright, textured area right of the worklist
    right = pixels[60:-40, pixels.shape[1] // 2:]
    assert (right > 100).mean() > 0.3 and right.std() > 25


@pytest.mark.gui
@pytest.mark.slow
def test_screenshot_of_a_plain_image_shows_it_large(tmp_path):
    out = tmp_path / "ct.png"
    result = workstation("open", sample("693_UNCR.dcm"), "--screenshot", out, "--size", "780x560", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    pixels = screenshot_pixels(out)
    # a head CT slice (brain window from its header) in the 2D layout with no panels beside it:
    # the head spans most of the window's height and is centred
    inner = pixels[:, 60:-60] > 60  # leaving out the corner texts
    rows = np.nonzero(inner.sum(axis=1) > 40)[0]
    columns = np.nonzero(inner[60:-30].sum(axis=0) > 20)[0] + 60
    assert rows.max() - rows.min() > 0.6 * pixels.shape[0]
    assert abs((columns.min() + columns.max()) / 2 - pixels.shape[1] / 2) < 0.1 * pixels.shape[1]


@pytest.mark.gui
@pytest.mark.slow
def test_screenshot_applies_the_opening_window_to_every_pane(tmp_path, nifti):
    """Without --window the views made for the layout still take the image's opening window (a
    bug once left views made after the image arrived black)."""
    out = tmp_path / "auto.png"
    result = workstation("open", nifti, "--screenshot", out, "--size", "760x540", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    pixels = screenshot_pixels(out)[60:-30]
    assert (pixels > 230).sum() > 300  # the sphere (1000 in 100) at the top of the 1-99 % window
    # and 100, the 1st percentile, black in every pane: no pane kept VTK's default grey window
    assert ((pixels > 60) & (pixels < 200)).mean() < 0.03
