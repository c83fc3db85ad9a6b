"""Non-DICOM files: NIfTI read here (`nifti`, `nifti_geometry`: ITK's geometry without importing
SimpleITK), and through SimpleITK NRRD, MetaImage, 2D pictures (PNG, JPEG, TIFF, BMP; 8/16-bit, grey
or RGB) and any NIfTI layout the direct reader leaves to it. ITK gives LPS geometry (it flips
NIfTI's RAS affine). SimpleITK is imported only when used: it costs ~90 MiB and 0.2 s."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workstation.core.io import checks, nifti
from workstation.core.io.capture import capture
from workstation.core.io.errors import ImageReadError, check_cancel
from workstation.core.io.limits import check_size
from workstation.core.io.nifti_geometry import itk_geometry
from workstation.core.io.rescale import rescale_into, rescaled_dtype
from workstation.core.volume import Volume

VOLUME_SUFFIXES = (".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd")
PICTURE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff", ".bmp")
ITK_SUFFIXES = VOLUME_SUFFIXES + PICTURE_SUFFIXES
_IO_FOR_SUFFIX = {".nii": "NiftiImageIO", ".nii.gz": "NiftiImageIO", ".nrrd": "NrrdImageIO",
                  ".nhdr": "NrrdImageIO", ".mha": "MetaImageIO", ".mhd": "MetaImageIO",
                  ".png": "PNGImageIO", ".jpg": "JPEGImageIO", ".jpeg": "JPEGImageIO",
                  ".tif": "TIFFImageIO", ".tiff": "TIFFImageIO", ".bmp": "BMPImageIO"}


def itk_suffix(path: Path) -> str | None:
    """The recognised suffix of `path` ('.nii.gz' counts as one), or None."""
    name = path.name.lower()
    for suffix in sorted(ITK_SUFFIXES, key=len, reverse=True):
        if name.endswith(suffix):
            return suffix
    return None


def read_file(path: Path, progress=None, cancel=None) -> Volume:
    path = Path(path)
    check_cancel(cancel)
    suffix = itk_suffix(path)
    try:
        volume = _read_nifti(path) if suffix in (".nii", ".nii.gz") else None
    except nifti.DamagedNifti as exc:
        raise ImageReadError(path, f"cannot read NIfTI file: {exc}") from None
    if volume is None:
        volume = _read_with_simpleitk(path, suffix, cancel)
    if progress:
        progress(1.0, path.name)
    return volume


def _read_with_simpleitk(path: Path, suffix: str | None, cancel) -> Volume:
    """Header first (the size limit is checked before any pixel is decoded), then the pixels; what
    ITK's C libraries print (libjpeg's "Premature end of JPEG file", libpng, VNL) is captured, and
    a message of lost data refuses the file."""
    import SimpleITK as sitk

    reader = sitk.ImageFileReader()
    reader.SetFileName(str(path))
    if suffix:
        reader.SetImageIO(_IO_FOR_SUFFIX[suffix])  # the suffix decides; no probing of every IO
    _itk_call(reader.ReadImageInformation, path, suffix)
    size = tuple(reader.GetSize())
    components = reader.GetNumberOfComponents()
    check_size(path, size[::-1] + ((components,) if components > 1 else ()))
    check_cancel(cancel)
    image, notes = _itk_call(reader.Execute, path, suffix)
    check_cancel(cancel)
    volume = volume_from_image(image, path)
    volume.warnings.extend(f"decoder: {line}" for line in notes)
    return volume


def _itk_call(call, path: Path, suffix: str | None):
    import SimpleITK as sitk

    with capture() as said:
        shown = sitk.ProcessObject.GetGlobalWarningDisplay()
        sitk.ProcessObject.SetGlobalWarningDisplay(False)  # ITK's own warnings are not the pixels' state
        try:
            result = call()
        except RuntimeError as exc:
            raise ImageReadError(path, _itk_reason(exc, suffix)) from None
        finally:
            sitk.ProcessObject.SetGlobalWarningDisplay(shown)
    damage = said.damage()
    if damage:
        raise ImageReadError(path, f"damaged image data: the decoder reports: {damage[:200]}")
    return result, said.notes()


def _read_nifti(path: Path) -> Volume | None:
    """Header, geometry (as ITK computes it) and voxels read here; the voxels keep NaN/Inf, which
    ITK's NIfTI library zeroes. None when the layout is left to SimpleITK entirely (after checking
    that the file is complete: ITK would zero-fill what is missing)."""
    try:
        header = nifti.read_header(path)
        size, spacing, origin, direction = itk_geometry(header)
    except nifti.UnsupportedNifti:
        nifti.verify_complete(path)
        return None
    ndim = header["dims"][0]
    check_size(path, [int(d) for d in header["dims"][1:ndim + 1]][::-1])
    voxels, (slope, inter) = nifti.read_voxels(path, header)
    voxels = voxels.reshape(size[::-1])  # ITK drops trailing size-1 axes above the third
    if (slope, inter) != (1.0, 0.0):
        dtype = rescaled_dtype(voxels.dtype, (0, False), [slope], [inter], sample=voxels)
        scaled = np.empty(voxels.shape, dtype=dtype)
        flat_in, flat_out = voxels.reshape(1, -1), scaled.reshape(1, -1)
        voxels = rescale_into(flat_out, 0, flat_in[0], slope, inter).reshape(voxels.shape)
    volume = _assemble(voxels, len(size), 1, spacing, origin, direction, size, path, "NiftiImageIO")
    volume.warnings[:0] = header["warnings"]
    return volume


def volume_from_image(image, path: Path) -> Volume:
    import SimpleITK as sitk

    array = sitk.GetArrayFromImage(image)  # one copy, in the image's own pixel type
    io_name = image.GetMetaData("ITK_InputFilterName") if image.HasMetaDataKey("ITK_InputFilterName") else ""
    return _assemble(array, image.GetDimension(), image.GetNumberOfComponentsPerPixel(), list(image.GetSpacing()),
                     list(image.GetOrigin()), image.GetDirection(), image.GetSize(), path, io_name)


def _assemble(array, dim, components, spacing, origin, direction, size, path, io_name) -> Volume:
    warnings: list[str] = []
    direction = np.asarray(direction, dtype=float).reshape(dim, dim)
    frames = 1 if dim == 2 else size[2]
    if dim == 4:
        count = size[3]
        warnings.append(f"4D image: showing volume 1 of {count}")
        array, frames = array[0], count
        spacing, origin, direction = spacing[:3], origin[:3], direction[:3, :3]
    elif dim == 2:
        array = array[np.newaxis]  # one slice; for RGB the channel axis stays last
        spacing, origin = spacing + [1.0], origin + [0.0]
        direction = np.block([[direction, np.zeros((2, 1))], [np.zeros((1, 2)), np.ones((1, 1))]])
    elif dim != 3:
        raise ImageReadError(path, f"{dim}-dimensional images are not supported")
    if components > 1:
        array = _colour(array, components, path, warnings)
    if array.dtype.kind == "f":
        bad = array.size - int(np.count_nonzero(np.isfinite(array)))
        if bad:
            warnings.append(f"{bad} voxel(s) are NaN or infinite (left as they are; statistics ignore them)")
    checks.geometry(path, spacing, origin, direction, orthonormal=dim >= 3)
    return Volume(array=array, spacing=spacing, origin=origin, direction=direction,
                  metadata={"format": io_name} if io_name else {},
                  sources=[path], description=path.name, frames=frames, warnings=warnings)


def _colour(array: np.ndarray, components: int, path: Path, warnings: list[str]) -> np.ndarray:
    if components == 2:  # grey + alpha
        return np.ascontiguousarray(array[..., 0])
    if components == 4:
        alpha = array[..., 3]
        if array.dtype.kind in "iu" and alpha.min() < np.iinfo(array.dtype).max:
            warnings.append("alpha channel dropped")
        array = array[..., :3]
    if components not in (3, 4):
        raise ImageReadError(path, f"{components}-component pixels are not supported")
    if np.array_equal(array[..., 0], array[..., 1]) and np.array_equal(array[..., 0], array[..., 2]):
        return np.ascontiguousarray(array[..., 0])  # a grey picture saved as RGB: keep one channel
    return np.ascontiguousarray(array)


def _itk_reason(exc: RuntimeError, suffix: str | None) -> str:
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    detail = ""
    for ln in lines:
        for marker in ("Description:", "ITK ERROR:", "itk::ERROR:"):
            if marker in ln:
                detail = ln.split(marker, 1)[1].strip()
        if detail:
            break
    detail = detail or (lines[-1] if lines else "unknown error")
    if ": " in detail and detail.split(": ", 1)[0].endswith(")"):
        detail = detail.split(": ", 1)[1]  # drop "NiftiImageIO(0x55...)" prefixes
    kind = {".nii": "NIfTI", ".nii.gz": "NIfTI", ".nrrd": "NRRD", ".nhdr": "NRRD", ".mha": "MetaImage",
            ".mhd": "MetaImage"}.get(suffix or "", (suffix or "image").lstrip(".").upper())
    return f"cannot read {kind} file: {detail}"[:300]
