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
