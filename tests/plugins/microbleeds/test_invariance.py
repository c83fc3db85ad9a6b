"""The detector works in a canonical 1 mm LPS frame with intensities normalised inside the brain,
so the same phantom stored another way gives the same detections: flipped voxel axes, RAS axes, an
oblique grid, intensities x0.1 and x10 as float, and a 0.5 x 0.5 x 2 mm grid. Every planted bleed
is found (score >= 0.5) in both or in neither, at centres within 1.5 mm; the number of strong false
positives differs by at most 2 (an oblique or anisotropic resampling blurs the image a little, and
a mimic near the 0.5 threshold may cross it)."""
import numpy as np
import pytest
import SimpleITK as sitk

from plugins.microbleeds.detector import build
from workstation.plugin_api import Volume

def _image(vol: Volume):
    img = sitk.GetImageFromArray(np.ascontiguousarray(vol.array, np.float32))
    img.SetSpacing(vol.spacing)
    img.SetOrigin(vol.origin)
    img.SetDirection(tuple(np.asarray(vol.direction, float).ravel()))
    return img


def _resampled(vol: Volume, spacing, direction) -> Volume:
    img = _image(vol)
    direction = np.asarray(direction, float)
    size_mm = np.array(vol.size) * np.array(vol.spacing)
    size = [int(np.ceil(s / sp)) + 12 for s, sp in zip(size_mm, spacing)]
    centre = np.asarray(vol.index_to_world((np.array(vol.size) - 1) / 2.0)).ravel()
    origin = centre - direction @ ((np.array(size) - 1) / 2.0 * np.array(spacing))
    out = sitk.Resample(img, size, sitk.Transform(), sitk.sitkLinear, tuple(origin), tuple(spacing),
                        tuple(direction.ravel()), 0.0, sitk.sitkFloat32)
    return Volume(sitk.GetArrayFromImage(out), spacing=tuple(spacing), origin=tuple(origin), direction=direction)


def _rotation(ax_deg, ay_deg):
    a, b = np.deg2rad([ax_deg, ay_deg])
    rx = np.array([[1, 0, 0], [0, np.cos(a), -np.sin(a)], [0, np.sin(a), np.cos(a)]])
    ry = np.array([[np.cos(b), 0, np.sin(b)], [0, 1, 0], [-np.sin(b), 0, np.cos(b)]])
    return rx @ ry


def variants(vol: Volume) -> dict[str, Volume]:
    arr = vol.array
    nk, nj, ni = arr.shape
    sp = np.array(vol.spacing)
    flip_k = Volume(np.ascontiguousarray(arr[::-1]), spacing=vol.spacing,
                    origin=tuple(np.asarray(vol.origin) + [0, 0, (nk - 1) * sp[2]]), direction=np.diag([1.0, 1, -1]))
    ras = Volume(np.ascontiguousarray(arr[:, ::-1, ::-1]), spacing=vol.spacing,
                 origin=tuple(np.asarray(vol.origin) + [(ni - 1) * sp[0], (nj - 1) * sp[1], 0]),
                 direction=np.diag([-1.0, -1, 1]))
    return {
        "flipped": flip_k,
        "ras": ras,
        "oblique": _resampled(vol, (1.0, 1.0, 1.0), _rotation(15, 10)),
        "x0.1": Volume((arr * 0.1).astype(np.float32), spacing=vol.spacing, origin=vol.origin, direction=vol.direction),
        "x10": Volume((arr * 10.0).astype(np.float32), spacing=vol.spacing, origin=vol.origin, direction=vol.direction),
        "0.5x0.5x2mm": _resampled(vol, (0.5, 0.5, 2.0), np.eye(3)),
    }


@pytest.fixture(scope="module")
def detector():
    det = build(None, {})
    det.load("cpu")
    return det


@pytest.fixture(scope="module")
def stored_otherwise(phantom_1mm):
    return variants(phantom_1mm.volume)


@pytest.fixture(scope="module")
def reference(detector, phantom_1mm):
    return detector.detect(phantom_1mm.volume)


def _bleed_hits(cands, lesions) -> list:
    """Per planted bleed: the centre of its best hit scoring >= 0.5, else None."""
    out = []
    for les in lesions:
        hits = [c for c in cands if c.score >= 0.5
                and np.linalg.norm(np.subtract(c.centre_mm, les["centre"])) <= max(les["diameter_mm"] / 2, 2.0)]
        out.append(np.array(max(hits, key=lambda c: c.score).centre_mm) if hits else None)
    return out


@pytest.mark.parametrize("name", ["flipped", "ras", "oblique", "x0.1", "x10", "0.5x0.5x2mm"])
def test_same_detections_whatever_the_storage(detector, reference, stored_otherwise, phantom_1mm, name):
    lesions = phantom_1mm.truth["lesions"]
    ref = _bleed_hits(reference, lesions)
    assert sum(h is not None for h in ref) >= len(lesions) - 1  # the reference finds the bleeds
    other = detector.detect(stored_otherwise[name])
    got = _bleed_hits(other, lesions)
    for les, a, b in zip(lesions, ref, got):
        assert (a is None) == (b is None), les
        if a is not None:
            assert np.linalg.norm(a - b) <= 1.5, les
    # false positives: about as many, whatever the storage
    strong_fp = [sum(c.score >= 0.5 for c in cands) - sum(h is not None for h in hits)
                 for cands, hits in ((reference, ref), (other, got))]
    assert abs(strong_fp[0] - strong_fp[1]) <= 2
