"""The source images of a case as pydicom datasets in slice order, and the world (LPS mm) position
of every pixel of each, which is all a SEG frame or an SR reference needs."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from workstation.core.export.output import ExportError, missing_image


def load_sources(case_id: str, paths) -> list[pydicom.Dataset]:
    datasets = []
    for p in paths:
        if not Path(p).exists():
            raise missing_image(case_id, p)
        try:
            datasets.append(pydicom.dcmread(p))
        except Exception:
            raise ExportError(f"case {case_id!r}: {Path(p).name} is not DICOM; SEG and SR need DICOM "
                              f"source images") from None
    if not datasets:
        raise ExportError(f"case {case_id!r} has no images")
    if any("ImagePositionPatient" not in d or "PixelSpacing" not in d for d in datasets):
        return datasets  # projection images (CR, DX): one frame, no patient geometry
    normal = np.cross(*np.reshape([float(v) for v in datasets[0].ImageOrientationPatient], (2, 3)))
    return sorted(datasets, key=lambda d: float(np.dot(normal, [float(v) for v in d.ImagePositionPatient])))


def pixel_world(ds: pydicom.Dataset) -> np.ndarray:
    """(rows, columns, 3) world coordinates of the pixel centres of one slice."""
    row_dir, col_dir = np.reshape([float(v) for v in ds.ImageOrientationPatient], (2, 3))
    dr, dc = (float(v) for v in ds.PixelSpacing)  # row spacing, column spacing
    r, c = np.mgrid[0:int(ds.Rows), 0:int(ds.Columns)]
    origin = np.array([float(v) for v in ds.ImagePositionPatient])
    return origin + r[..., None] * dr * col_dir + c[..., None] * dc * row_dir


def has_geometry(datasets) -> bool:
    return all("ImagePositionPatient" in d and "ImageOrientationPatient" in d and "PixelSpacing" in d
               for d in datasets)
