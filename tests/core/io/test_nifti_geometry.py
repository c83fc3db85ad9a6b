"""NIfTI geometry computed without SimpleITK (`nifti_geometry.itk_geometry`) must equal what
SimpleITK's `ReadImage` gives, for every layout: qform/sform choices, oblique and flipped axes,
units, 2D/4D, scaling, NaN. Files are written with nibabel; a few header fields nibabel would
normalise are patched in the bytes. Layouts the direct reader hands to SimpleITK are checked too:
they must be declined (not guessed) and still read like SimpleITK."""
from __future__ import annotations

import gzip
import struct
import subprocess
import sys

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk

from workstation.core.io import ImageReadError, itk, nifti, read_volume
from workstation.core.io.nifti_geometry import itk_geometry

SHAPE = (7, 6, 5)


def _rotation(seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).normal(size=(3, 3)))
    q = q @ np.diag(np.sign(np.diag(r)))
    return q if np.linalg.det(q) > 0 else -q


def _affine(rotation=np.eye(3), zooms=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0)) -> np.ndarray:
    affine = np.eye(4)
    affine[:3, :3] = np.asarray(rotation) @ np.diag(zooms)
    affine[:3, 3] = offset
    return affine


def _write(path, data, qform=None, sform=None, qcode=1, scode=1, patch=None, header=None):
    img = nib.Nifti1Image(data, qform if qform is not None else sform, header=header)
    img.set_qform(qform, code=qcode if qform is not None else 0)
    img.set_sform(sform, code=scode if sform is not None else 0)
    raw = bytearray(img.to_bytes())
    for offset, fmt, value in patch or ():
        struct.pack_into(("<" if raw[0] == 92 else ">") + fmt, raw, offset, *(value if isinstance(value, tuple) else (value,)))
    path.write_bytes(gzip.compress(bytes(raw)) if path.name.endswith(".gz") else bytes(raw))
    return path


def _data(shape=SHAPE, dtype=np.int16):
    return np.arange(np.prod(shape)).reshape(shape).astype(dtype)


R1, R2 = _rotation(1), _rotation(2)
FLIP_X = np.diag([-1.0, 1, 1])  # det < 0: nibabel writes qfac = -1
ANISO = (0.7, 1.3, 2.9)
A_OBLIQUE = _affine(R1, ANISO, (-80.5, 101.25, -33.0))
A_OTHER = _affine(R2, ANISO, (12.0, -40.0, 7.5))
A_FLIPPED = _affine(R1 @ FLIP_X, ANISO, (5.0, 6.0, 7.0))
A_AXIAL = _affine(np.eye(3), ANISO, (1.0, 2.0, 3.0))
SHEAR = A_OBLIQUE.copy()
SHEAR[:3, 1] += 0.3 * SHEAR[:3, 0]

# name -> writer(path); all of these must be read without SimpleITK
DIRECT = {
    "qform only": lambda p: _write(p, _data(), qform=A_OBLIQUE),
    "qform only axial": lambda p: _write(p, _data(), qform=A_AXIAL),
    "qform only negative qfac": lambda p: _write(p, _data(), qform=A_FLIPPED),
    "sform only code 1": lambda p: _write(p, _data(), sform=A_OBLIQUE, scode=1),
    "sform only code 2": lambda p: _write(p, _data(), sform=A_OBLIQUE, scode=2),
    "sform only code 4": lambda p: _write(p, _data(), sform=A_FLIPPED, scode=4),
    "both equal 1/1": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OBLIQUE),
    "both equal 1/2": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OBLIQUE, scode=2),
    "both equal 1/4 flipped": lambda p: _write(p, _data(), qform=A_FLIPPED, sform=A_FLIPPED, scode=4),
    "both equal isotropic axial 1/2": lambda p: _write(p, _data(), qform=_affine(), sform=_affine(), scode=2),
    "both equal isotropic oblique 1/3": lambda p: _write(p, _data(), qform=_affine(R2, (1.5,) * 3, (4, 5, 6)),
                                                         sform=_affine(R2, (1.5,) * 3, (4, 5, 6)), scode=3),
    "both equal axial 1/2": lambda p: _write(p, _data(), qform=A_AXIAL, sform=A_AXIAL, scode=2),
    "both differ s1": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OTHER, scode=1),
    "both differ s2": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OTHER, scode=2),
    "both differ s4": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OTHER, scode=4),
    "differ by offset s2": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=_affine(R1, ANISO, (0, 0, 9)), scode=2),
    "differ by spacing s3": lambda p: _write(p, _data(), qform=A_OBLIQUE,
                                             sform=_affine(R1, (0.7, 1.3, 3.5), (-80.5, 101.25, -33.0)), scode=3),
    "sheared sform with qform": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=SHEAR, scode=1),
    "sheared sform code 2 with qform": lambda p: _write(p, _data(), qform=A_OTHER, sform=SHEAR, scode=2),
    "no codes": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OBLIQUE, qcode=0, scode=0),
    "2D": lambda p: _write(p, _data((7, 6)), qform=A_OBLIQUE, sform=A_OBLIQUE),
    "2D axial": lambda p: _write(p, _data((7, 6)), qform=A_AXIAL),
    "3D one slice": lambda p: _write(p, _data((7, 6, 1)), qform=A_OBLIQUE, sform=A_OBLIQUE),
    "4D": lambda p: _write(p, _data((7, 6, 5, 3)), qform=A_OBLIQUE, sform=A_OBLIQUE),
    "4D one frame": lambda p: _write(p, _data((7, 6, 5, 1)), qform=A_OTHER, sform=A_OTHER, scode=2),
    "int16 scl_slope": lambda p: _write(p, _data(), qform=A_OBLIQUE, patch=[(112, "f", 0.5), (116, "f", -3.0)]),
    "float32 NaN": lambda p: _write(p, np.where(_data() % 7 == 0, np.nan, _data()).astype(np.float32), sform=A_OTHER),
    "big-endian": lambda p: _write(p, _data().astype(">i2"), qform=A_FLIPPED, sform=A_FLIPPED,
                                   header=nib.Nifti1Header(endianness=">")),
    "metres": lambda p: _write(p, _data(), qform=A_OBLIQUE, patch=[(123, "B", 1)]),
    "metres both differ s1": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OTHER, patch=[(123, "B", 1)]),
    "microns": lambda p: _write(p, _data(), sform=A_OTHER, patch=[(123, "B", 3)]),
    "4D milliseconds": lambda p: _write(p, _data((7, 6, 5, 2)), qform=A_AXIAL, patch=[(123, "B", 2 | 16), (92, "f", 250.0)]),
    "sform scales differ from pixdim": lambda p: _write(p, _data(), sform=A_OTHER, patch=[(80, "f", 2.0)]),
}
DIRECT.update({f"random oblique {seed}": (lambda p, s=seed: _write(
    p, _data(), qform=_affine(_rotation(s) @ (FLIP_X if s % 2 else np.eye(3)), (0.5 + s % 3, 1.0, 2.0 - s % 2 * 0.75),
                              (s * 3.0, -s, 2 * s)),
    sform=_affine(_rotation(s) @ (FLIP_X if s % 2 else np.eye(3)), (0.5 + s % 3, 1.0, 2.0 - s % 2 * 0.75),
                  (s * 3.0, -s, 2 * s)), scode=1 + s % 4)) for seed in range(10, 20)})

# left to SimpleITK on purpose: ITK's choice depends on numerics we do not reproduce, or the layout
DECLINED = {
    "sform = qform with a flipped column, code 2": lambda p: _write(
        p, _data(), qform=A_AXIAL, sform=A_AXIAL @ np.diag([1.0, -1, 1, 1]), scode=2),
    "isotropic, rotations differ, code 2": lambda p: _write(
        p, _data(), qform=_affine(R1, (1.5,) * 3), sform=_affine(R2, (1.5,) * 3), scode=2),
    "metres both differ s2": lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OTHER, scode=2,
                                              patch=[(123, "B", 1)]),
    "5D": lambda p: _write(p, _data((4, 3, 2, 2, 2)), qform=A_AXIAL),
    "RGB": lambda p: _write(p, np.zeros((4, 3, 2), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")]), qform=A_AXIAL),
    "vector intent": lambda p: _write(p, _data((4, 3, 2, 1, 3)).astype(np.float32), qform=A_AXIAL,
                                      patch=[(68, "h", 1007)]),
}
# both readers refuse these
REFUSED = {
    "sheared sform without qform": lambda p: _write(p, _data(), sform=SHEAR, scode=2),
}
# ITK reads these (flipping an axis, zeroing a NaN); they are damaged headers and refused here
DAMAGED = {
    "negative pixdim": (lambda p: _write(p, _data(), qform=A_OBLIQUE, patch=[(80, "f", -0.7)]), "pixdim is negative"),
    "negative pixdim sform": (lambda p: _write(p, _data(), sform=A_OTHER, patch=[(84, "f", -1.3)]),
                              "pixdim is negative"),
    "zero pixdim": (lambda p: _write(p, _data(), qform=A_OBLIQUE, patch=[(88, "f", 0.0)]), "pixdim is zero"),
    "NaN pixdim": (lambda p: _write(p, _data(), sform=A_OTHER, patch=[(84, "f", float("nan"))]), "pixdim is not finite"),
    "qform NaN quaternion": (lambda p: _write(p, _data(), qform=A_OBLIQUE, patch=[(256, "f", float("nan"))]),
                             "qform is not finite"),
    "quaternion over 1": (lambda p: _write(p, _data(), qform=A_OBLIQUE, patch=[(256, "3f", (0.8, 0.7, 0.6))]),
                          "invalid qform quaternion"),
    "NaN sform": (lambda p: _write(p, _data(), qform=A_OBLIQUE, sform=A_OTHER, patch=[(300, "f", float("nan"))]),
                  "sform is not finite"),
    "all-zero sform": (lambda p: _write(p, _data(), sform=A_OTHER, patch=[(280 + 4 * k, "f", 0.0) for k in range(12)]),
                       "sform is degenerate"),
}


def _sitk_geometry(path):
    image = sitk.ReadImage(str(path))
    return image, (image.GetSize(), image.GetSpacing(), image.GetOrigin(),
                   np.reshape(image.GetDirection(), (image.GetDimension(),) * 2))


def _check(path):
    image, (size, spacing, origin, direction) = _sitk_geometry(path)
    vol = read_volume(path)
    expected = itk.volume_from_image(image, path)
    assert vol.size == expected.size
    np.testing.assert_allclose(vol.spacing, expected.spacing, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(vol.origin, expected.origin, atol=1e-5)
    np.testing.assert_allclose(vol.direction, expected.direction, atol=1e-5)
    return vol, expected, (size, spacing, origin, direction)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("name", sorted(DIRECT))
def test_geometry_matches_simpleitk(name, suffix, tmp_path):
    path = DIRECT[name](tmp_path / f"image{suffix}")
    # the direct path must decide this layout by itself (no fall-back to SimpleITK)
    my_size, my_spacing, my_origin, my_direction = itk_geometry(nifti.read_header(path))
    vol, expected, (size, spacing, origin, direction) = _check(path)
    assert my_size == tuple(size)
    np.testing.assert_allclose(my_spacing, spacing, rtol=1e-6, atol=1e-5)
    np.testing.assert_allclose(my_origin, origin, atol=1e-5)
    np.testing.assert_allclose(my_direction, direction, atol=1e-5)
    assert vol.metadata.get("format") == "NiftiImageIO"
    if vol.array.dtype.kind == "f" and np.isnan(vol.array).any():
        assert any("NaN" in w for w in vol.warnings)  # ITK zeroes NaN; the direct reader keeps them
        np.testing.assert_array_equal(np.nan_to_num(vol.array), expected.array)
    else:
        np.testing.assert_allclose(vol.array, expected.array, rtol=1e-6)
        assert vol.array.dtype == expected.array.dtype


@pytest.mark.parametrize("name", sorted(DECLINED))
def test_declined_layouts_are_left_to_simpleitk(name, tmp_path):
    path = DECLINED[name](tmp_path / "image.nii.gz")
    with pytest.raises(nifti.UnsupportedNifti):
        itk_geometry(nifti.read_header(path))
    try:
        itk.volume_from_image(sitk.ReadImage(str(path)), path)
    except (RuntimeError, ImageReadError):
        with pytest.raises(ImageReadError, match="image.nii.gz"):
            read_volume(path)
        return
    _check(path)


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_files_itk_refuses_are_refused(name, tmp_path):
    path = REFUSED[name](tmp_path / "image.nii")
    with pytest.raises(RuntimeError):
        sitk.ReadImage(str(path))
    with pytest.raises(ImageReadError, match="image.nii"):
        read_volume(path)


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
@pytest.mark.parametrize("name", sorted(DAMAGED))
def test_damaged_geometry_is_refused_with_its_reason(name, suffix, tmp_path):
    write, reason = DAMAGED[name]
    path = write(tmp_path / f"image{suffix}")
    with pytest.raises(ImageReadError, match=reason) as info:
        read_volume(path)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_permissive_sform_is_left_to_simpleitk(tmp_path, monkeypatch):
    path = REFUSED["sheared sform without qform"](tmp_path / "image.nii")
    monkeypatch.setenv("ITK_NIFTI_SFORM_PERMISSIVE", "1")
    with pytest.raises(nifti.UnsupportedNifti):
        itk_geometry(nifti.read_header(path))
    _check(path)  # SimpleITK reads it in this process: the variable is read at each read


def test_reading_nifti_does_not_import_simpleitk(tmp_path):
    path = DIRECT["both differ s2"](tmp_path / "image.nii.gz")
    code = ("import sys; import workstation.core.io as io; v = io.read_volume(sys.argv[1]); "
            "print(v.size, 'SimpleITK' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, check=True).stdout
    assert out.split()[-1] == "False", out
