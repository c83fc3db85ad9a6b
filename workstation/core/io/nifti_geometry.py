"""NIfTI-1 geometry exactly as ITK 5.4's NiftiImageIO + ImageFileReader give it (SimpleITK 2.x).

ITK's rules (itkNiftiImageIO.cxx, ReadImageInformation and SetImageIOOrientationFromNIfTI, on top
of nifti1_io.c's nifti_convert_nhdr2nim), reproduced step by step:
- size: trailing size-1 dimensions above the third are dropped (4D with t=1 is 3D);
- spacing: pixdim (0 or non-finite -> 1) scaled to mm (metres x1000, microns /1000), the 4th axis
  to seconds; the origin is scaled to mm as well; a negative pixdim becomes positive and flips that direction column (the reader);
- matrices are built in single precision as nifti1_io does: qto_xyz from the quaternion (qfac from
  the sign of pixdim[0]; diag(pixdim) when qform_code is 0), sto_xyz from srow (all zero when
  sform_code is 0);
- no code set: origin 0, identity direction;
- otherwise the sform is used when it is an invertible affine whose normalised 3x3 is orthonormal
  (within 1e-4) and qform_code is 0, or sform_code is SCANNER_ANAT, or (sform_code 2..4 with a
  qform) the two describe the same space per an SVD comparison; else the qform;
- RAS -> LPS: the first two rows change sign, columns are normalised.

Where ITK's answer hinges on a numerical test this code cannot reproduce bit for bit (values near
a tolerance, the SVD comparison of two forms that are neither clearly equal nor clearly different,
ITK_NIFTI_SFORM_PERMISSIVE repairs, a read ITK would refuse), `UnsupportedNifti` is raised and the
caller asks SimpleITK instead: a slower read, never a different geometry.
"""
from __future__ import annotations

import os

import numpy as np

from workstation.core.io.nifti import UnsupportedNifti

_SPACE_SCALE = {1: 1e3, 2: 1.0, 3: 1e-3}  # metre, mm, micron
_TIME_SCALE = {8: 1.0, 16: 1e-3, 24: 1e-6}  # s, ms, us


def itk_geometry(header: dict) -> tuple[tuple[int, ...], list[float], list[float], np.ndarray]:
    """(size, spacing, origin, direction) in ITK's dimension (2, 3 or 4) and LPS mm; direction is a
    dim x dim matrix whose columns are the axes."""
    dims, pixdim = header["dims"], list(header["pixdim"])
    ndim = dims[0]
    for axis in range(1, ndim + 1):
        if pixdim[axis] == 0 or not np.isfinite(pixdim[axis]):
            pixdim[axis] = 1.0
    dim = ndim
    while dim > 3 and dims[dim] == 1:
        dim -= 1
    if dim < 2:
        raise UnsupportedNifti("1-dimensional image")
    space = _SPACE_SCALE.get(header["xyzt_units"] & 0x07, 1.0)
    time = _TIME_SCALE.get(header["xyzt_units"] & 0x38, 1.0)
    size = tuple(int(d) for d in dims[1:dim + 1])
    # float32 pixdim times a double scale, as ITK does (dx * spacingscale)
    spacing = [float(np.float32(pixdim[a + 1])) * (space if a < 3 else time) for a in range(dim)]

    matrix = _chosen_matrix(header, pixdim, metric_mm=space == 1.0)
    origin = [0.0] * dim
    direction = np.eye(dim)
    if matrix is not None:
        lps = matrix.astype(np.float64)
        lps[:2] *= -1.0
        shown = min(dim, 3)
        origin[:shown] = list(lps[:shown, 3] * space)  # ITK 5.4 scales the origin too
        for col in range(shown):
            column = np.zeros(dim)
            column[:shown] = lps[:shown, col]
            norm = np.linalg.norm(column)
            direction[:, col] = column / norm if norm > 0 else column
    for axis in range(dim):  # ImageFileReader: spacing > 0, the axis flips instead
        if spacing[axis] < 0:
            spacing[axis] = -spacing[axis]
            direction[:, axis] *= -1.0
    if abs(np.linalg.det(direction)) < 1e-6:
        raise UnsupportedNifti("degenerate direction")  # ITK refuses it: let it say why
    return size, spacing, origin, direction


def _chosen_matrix(header: dict, pixdim: list[float], metric_mm: bool) -> np.ndarray | None:
    """ITK's choice between sto_xyz and qto_xyz (float32 4x4, RAS), or None when neither code is set."""
    qcode = max(int(header["qform_code"]), 0)
    scode = max(int(header["sform_code"]), 0)
    if qcode == 0 and scode == 0:
        return None
    qto = _qto_xyz(header, pixdim) if qcode else np.diag(np.float32([pixdim[1], pixdim[2], pixdim[3], 1.0]))
    sto = np.zeros((4, 4), np.float32)
    if scode:
        sto[:3] = np.float32(header["srow"])
        sto[3, 3] = 1.0
        if not np.all(np.isfinite(sto)):
            raise UnsupportedNifti("non-finite sform")

    prefer_sform = _forms_similar(sto, qto)
    if not prefer_sform or scode:
        if _sform_orthonormal(sto, pixdim):
            if qcode == 0 or scode == 1:
                prefer_sform = True
            elif not metric_mm:  # unknown whether ITK compares the forms before or after scaling
                raise UnsupportedNifti("sform/qform comparison in metres or microns")
            else:
                prefer_sform = _svd_similar(sto, qto)
        elif os.environ.get("ITK_NIFTI_SFORM_PERMISSIVE") is not None:
            raise UnsupportedNifti("ITK_NIFTI_SFORM_PERMISSIVE repairs this sform")
    if prefer_sform:
        return sto
    if qcode:
        return qto
    raise UnsupportedNifti("no orthonormal form")  # ITK refuses the file: let it say so


def _qto_xyz(header: dict, pixdim: list[float]) -> np.ndarray:
    """nifti_quatern_to_mat44: computed in double, stored in float."""
    b, c, d = (_fixed(v) for v in header["quatern"])
    a = 1.0 - (b * b + c * c + d * d)
    if a < 1e-7:
        a = 1.0 / np.sqrt(b * b + c * c + d * d)
        b, c, d, a = b * a, c * a, d * a, 0.0
    else:
        a = np.sqrt(a)
    xd, yd, zd = (float(np.float32(p)) if p > 0 else 1.0 for p in pixdim[1:4])
    if pixdim[0] < 0:
        zd = -zd
    rotation = np.array([
        [(a * a + b * b - c * c - d * d) * xd, 2 * (b * c - a * d) * yd, 2 * (b * d + a * c) * zd],
        [2 * (b * c + a * d) * xd, (a * a + c * c - b * b - d * d) * yd, 2 * (c * d - a * b) * zd],
        [2 * (b * d - a * c) * xd, 2 * (c * d + a * b) * yd, (a * a + d * d - c * c - b * b) * zd]])
    out = np.zeros((4, 4), np.float32)
    out[:3, :3] = rotation
    out[:3, 3] = [_fixed(v) for v in header["qoffset"]]
    out[3, 3] = 1.0
    return out


def _fixed(value: float) -> float:
    """FIXED_FLOAT: non-finite header floats read as 0."""
    return float(np.float32(value)) if np.isfinite(value) else 0.0


def _forms_similar(sto: np.ndarray, qto: np.ndarray) -> bool:
    """ITK's quick element-wise test (3x3 within 1e-5, translation and bottom row within 1e-7)."""
    diff = (sto - qto).astype(np.float64)
    if np.max(np.abs(diff[:3, :3])) > 1e-5:
        return False
    return np.sum(np.abs(diff[:, 3])) <= 1e-7 and np.sum(np.abs(diff[3, :])) <= 1e-7


def _sform_orthonormal(sto: np.ndarray, pixdim: list[float]) -> bool:
    """IsAffine (bottom row 0 0 0 1, invertible) and the normalised 3x3 orthonormal within 1e-4."""
    m = sto.astype(np.float64)
    if abs(m[3, 3] - 1.0) + np.sum(np.abs(m[3, :3])) > np.finfo(np.float32).eps:
        return False
    singular = np.linalg.svd(m, compute_uv=False)
    condition = singular[-1] / singular[0] if singular[0] > 0 else 0.0
    if condition <= np.finfo(np.float64).eps:
        return False
    if condition < 1e-10:
        raise UnsupportedNifti("sform nearly singular")
    rotation = sto[:3, :3].copy()
    for col in range(3):
        norm = np.float32(np.sqrt(np.sum(rotation[:, col].astype(np.float64) ** 2)))
        if norm != 0:
            rotation[:, col] = rotation[:, col] / norm
    deviation = np.max(np.abs((rotation @ rotation.T).astype(np.float64) - np.eye(3)))
    if 0.5e-4 < deviation < 2e-4:
        raise UnsupportedNifti("sform orthonormality at ITK's tolerance")
    return deviation <= 1e-4


def _svd_similar(sto: np.ndarray, qto: np.ndarray) -> bool:
    """ITK compares the two forms' singular values, left singular vectors (sU * inv(qU) ~ I),
    offsets and bottom rows, each within 1e-4. The singular values and offsets are canonical; the
    singular vectors are not (signs, and any basis when spacings are equal), so only the clear
    cases are decided here: forms that are numerically the same (either answer then gives the
    same geometry) or whose row spaces differ beyond what 1e-4 could hide."""
    s3, q3 = sto[:3, :3].astype(np.float64), qto[:3, :3].astype(np.float64)
    ws, wq = np.linalg.svd(s3, compute_uv=False), np.linalg.svd(q3, compute_uv=False)
    spacing_gap = np.max(np.abs(ws - wq))
    offset_gap = np.max(np.abs((sto[:3, 3] - qto[:3, 3]).astype(np.float64)))
    if spacing_gap > 2e-4 or offset_gap > 1e-4:
        return False
    if 0.5e-4 < spacing_gap or offset_gap > 1e-6:
        raise UnsupportedNifti("sform and qform differ near ITK's tolerance")
    scale = float(ws[0])
    if np.max(np.abs(s3 @ s3.T - q3 @ q3.T)) > 1e-2 * scale * scale + 1e-3 * scale:
        return False  # different left singular spaces: no choice of signs makes sU ~ qU
    if np.max(np.abs(s3 - q3)) <= 2e-6 * max(scale, 1.0):
        return True
    raise UnsupportedNifti("sform and qform related by a flip or permutation")
