"""Window/level presets and the grey mapping the views apply (plain numpy, no Qt).

A window is (center, width): a value v shows as grey 255 * clip((v - (center - width/2)) / width,
0, 1), inverted when `invert` is on. CT presets are in Hounsfield units; MR, photos and anything
without a calibrated scale use percentiles of the data; X-rays use the header's VOI window.
"""
from __future__ import annotations

import numpy as np

from workstation.core.volume import Volume

CT_PRESETS: dict[str, tuple[float, float]] = {  # name -> (center, width)
    "CT brain": (40.0, 80.0),
    "CT subdural": (75.0, 215.0),
    "CT stroke": (32.0, 8.0),
    "CT bone": (600.0, 2800.0),
    "CT lung": (-600.0, 1500.0),
    "CT abdomen": (50.0, 400.0),
}
PERCENTILE_PRESETS: dict[str, tuple[float, float]] = {
    "Auto 1-99%": (1.0, 99.0),
    "Auto 0.5-99.5%": (0.5, 99.5),
    "Full range": (0.0, 100.0),
}
HEADER_PRESET = "Header (VOI)"


def preset_names(volume: Volume | None) -> list[str]:
    """Presets that make sense for this image, best first."""
    if volume is None:
        return []
    names = []
    if volume.window is not None:
        names.append(HEADER_PRESET)
    if volume.modality.upper() == "CT":
        names += list(CT_PRESETS)
    names += list(PERCENTILE_PRESETS)
    if volume.modality.upper() != "CT" and not volume.is_rgb:
        names += list(CT_PRESETS)  # someone may still want them on an unlabelled CT
    return names


def percentile_window(volume: Volume, low: float, high: float) -> tuple[float, float]:
    sample = volume.array[..., 0] if volume.is_rgb else volume.array
    flat = sample.ravel()[:: max(1, sample.size // 500_000)]  # plenty for a display window
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    if flat.size == 0:
        return (0.0, 1.0)
    lo, hi = (float(x) for x in np.percentile(flat, [low, high]))
    if hi <= lo:
        lo, hi = float(flat.min()), float(flat.max())
    return ((lo + hi) / 2.0, max(hi - lo, 1e-6))


def preset_window(volume: Volume, name: str) -> tuple[float, float]:
    if name == HEADER_PRESET and volume.window is not None:
        return tuple(float(v) for v in volume.window)
    if name in CT_PRESETS:
        return CT_PRESETS[name]
    if name in PERCENTILE_PRESETS:
        return percentile_window(volume, *PERCENTILE_PRESETS[name])
    raise KeyError(f"unknown window preset {name!r}")


def initial_window(volume: Volume) -> tuple[float, float]:
    """What a volume opens with: RGB as stored, the header's VOI window (X-ray, CT), a soft-tissue
    window for CT without one, else the 1st-99th percentile."""
    if volume.is_rgb:
        return (127.5, 255.0)
    if volume.window is not None:
        return tuple(float(v) for v in volume.window)
    if volume.modality.upper() == "CT" and volume.array.dtype.kind in "iu" and \
            volume.array.ravel()[:: max(1, volume.array.size // 500_000)].min() < -500:
        return CT_PRESETS["CT abdomen"]
    return percentile_window(volume, 1.0, 99.0)


def grey(values, center: float, width: float, invert: bool = False) -> np.ndarray:
    """The grey level (0..255, float) a value renders as: the reference the tests check."""
    g = np.clip((np.asarray(values, dtype=float) - (center - width / 2.0)) / width, 0.0, 1.0) * 255.0
    return 255.0 - g if invert else g
