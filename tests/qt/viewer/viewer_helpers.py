"""Helpers for the viewer tests: phantoms defined in world space (so any voxel grid
and direction can show them), screenshots of VTK panes as numpy arrays, DICOM series writing."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from workstation.core.volume import Volume


def phantom(shape_ijk, spacing, direction, world_fn, dtype=np.int16,
            center=(0.0, 0.0, 0.0), modality="CT") -> Volume:
    """A volume whose voxel (i, j, k) holds world_fn(world points (N, 3)) -> values; the grid is
    centred on `center` whatever its direction, so a phantom is the same patient in any layout."""
    direction = np.asarray(direction, dtype=float)
    size = np.asarray(shape_ijk, dtype=float)
    half = direction @ (np.asarray(spacing) * (size - 1) / 2)
    origin = np.asarray(center) - half
    grid = Volume(np.zeros(tuple(shape_ijk[::-1]), dtype=dtype), spacing, origin, direction,
                  modality=modality)
    k, j, i = np.indices(grid.array.shape).reshape(3, -1)
    world = grid.index_to_world(np.column_stack([i, j, k]))
    values = world_fn(world)
    grid.array = values.reshape(grid.array.shape).astype(dtype)
    return grid


def sphere_fn(center, radius, inside=1000, outside=100):
    center = np.asarray(center, dtype=float)

    def fn(world):
        return np.where(np.linalg.norm(world - center, axis=1) <= radius, inside, outside)
    return fn


def settle(qtbot, viewer) -> None:
    from PySide6.QtWidgets import QApplication

    for _ in range(3):
        QApplication.processEvents()
        viewer.flush()
    qtbot.wait(60)
    viewer.flush()
    QApplication.processEvents()


def grab(widget) -> np.ndarray:
    """What the screen shows of `widget` (VTK content included) as an (h, w, 3) uint8 array."""
    from PySide6.QtGui import QImage

    image = widget.screen().grabWindow(widget.winId()).toImage().convertToFormat(QImage.Format_RGB888)
    width, height = image.width(), image.height()
    buffer = np.frombuffer(image.constBits(), dtype=np.uint8, count=image.sizeInBytes())
    return buffer.reshape(height, image.bytesPerLine())[:, : width * 3].reshape(height, width, 3).copy()


def grey_tolerance(widget) -> float:
    """16-bit displays (pytest-xvfb's default) keep 5-6 bits per channel."""
    return 3.0 if widget.screen().depth() >= 24 else 9.0


def image_rect(pixels: np.ndarray, threshold: int = 8) -> tuple[int, int, int, int]:
    """(x0, x1, y0, y1) bounding the non-black image area (edges inclusive)."""
    mask = pixels.max(axis=2) > threshold
    ys, xs = np.nonzero(mask)
    return xs.min(), xs.max(), ys.min(), ys.max()


def white_centroid(pixels: np.ndarray, threshold: int = 200) -> tuple[float, float] | None:
    mask = pixels.min(axis=2) > threshold  # white: excludes the coloured crosshair lines
    if mask.sum() < 4:
        return None
    ys, xs = np.nonzero(mask)
    return xs.mean(), ys.mean()


def write_dicom_series(volume: Volume, folder: Path) -> Path:
    """Write an axial CT series (one file per k slice) with the volume's geometry; the volume's
    direction must be a standard axial one (i along x, j along y)."""
    import pydicom
    from pydicom.dataset import FileDataset, FileMetaDataset
    from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid

    folder.mkdir(parents=True, exist_ok=True)
    series, study, frame = generate_uid(), generate_uid(), generate_uid()
    row_dir, col_dir = volume.direction[:, 0], volume.direction[:, 1]
    for k in range(volume.array.shape[0]):
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = CTImageStorage
        meta.MediaStorageSOPInstanceUID = generate_uid()
        meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds = FileDataset(str(folder / f"slice{k:03d}.dcm"), {}, file_meta=meta, preamble=b"\0" * 128)
        ds.SOPClassUID, ds.SOPInstanceUID = CTImageStorage, meta.MediaStorageSOPInstanceUID
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.Modality, ds.PatientName, ds.PatientID = "CT", "Phantom^Orientation", "PH001"
        ds.SeriesNumber, ds.InstanceNumber = 1, k + 1
        ds.ImageOrientationPatient = [float(v) for v in (*row_dir, *col_dir)]
        ds.ImagePositionPatient = [float(v) for v in volume.index_to_world([0, 0, k])]
        ds.PixelSpacing = [float(volume.spacing[1]), float(volume.spacing[0])]  # row, column spacing
        ds.SliceThickness = float(volume.spacing[2])
        ds.Rows, ds.Columns = volume.array.shape[1], volume.array.shape[2]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.PixelData = np.ascontiguousarray(volume.array[k].astype("<i2")).tobytes()
        pydicom.dcmwrite(ds.filename, ds, enforce_file_format=True)
    return folder
