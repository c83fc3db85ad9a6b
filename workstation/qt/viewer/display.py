"""Window/level presets and the grey mapping the views apply (plain numpy, no Qt).

A window is (center, width): a value v shows as grey 255 * clip((v - (center - width/2)) / width,
0, 1), inverted when `invert` is on. The presets per modality are data
(`resources/presets/window.json`): fixed windows in stored units (Hounsfield units for CT),
percentiles of the image (MR, PET and anything without a calibrated scale) and the header's VOI
window (X-rays). An image without a modality that holds Hounsfield units counts as CT.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from workstation.core import resources
from workstation.core.volume import Volume

HEADER_PRESET = "Header (VOI)"
PRESETS_FILE = ("presets", "window.json")


@dataclass(frozen=True)
class Preset:
    name: str
    window: tuple[float, float] | None = None       # (center, width), stored units
    percentiles: tuple[float, float] | None = None  # (low, high) of the image's values
    header: bool = False                            # the DICOM VOI window


def _preset(entry: dict) -> Preset:
    window, percentiles = entry.get("window"), entry.get("percentiles")
    return Preset(str(entry["name"]), tuple(float(v) for v in window) if window else None,
                  tuple(float(v) for v in percentiles) if percentiles else None, bool(entry.get("header")))


@functools.lru_cache(maxsize=None)
def _table() -> tuple[dict[str, tuple[Preset, ...]], tuple[Preset, ...], tuple[str, ...]]:
    data = resources.read_json(*PRESETS_FILE)
    modalities = {name.upper(): tuple(_preset(e) for e in entries) for name, entries in data["modalities"].items()}
    return modalities, tuple(_preset(e) for e in data["default"]), tuple(data.get("unknown_modality_also", ()))


def presets_for(modality: str, signed: bool = True) -> list[Preset]:
    """The presets of a modality ('CT', 'MR', ...), best first; an unknown one gets the defaults
    followed, when its values can be negative (`signed`), by the presets of `unknown_modality_also`
    (CT: an unlabelled scan may still be one; a photo or an X-ray picture cannot)."""
    modalities, default, also = _table()
    modality = (modality or "").upper()
    if modality in modalities:
        return list(modalities[modality])
    names, out = set(), []
    extra = [p for m in also for p in modalities.get(m.upper(), ())] if signed else []
    for preset in list(default) + extra:
        if preset.name not in names:
            names.add(preset.name)
            out.append(preset)
    return out


def all_presets() -> dict[str, Preset]:
    """Every preset by name (what `--preset NAME` accepts on any image)."""
    modalities, default, _ = _table()
    found: dict[str, Preset] = {}
    for preset in [p for group in modalities.values() for p in group] + list(default):
        found.setdefault(preset.name, preset)
    return found


def _sample(volume: Volume) -> np.ndarray:
    sample = volume.array[..., 0] if volume.is_rgb else volume.array
    flat = sample.ravel()[:: max(1, sample.size // 500_000)]  # plenty for a display window
    if flat.dtype.kind == "f":
        flat = flat[np.isfinite(flat)]
    return flat


def looks_like_ct(volume: Volume) -> bool:
    """Hounsfield units without a modality tag (NIfTI, NRRD): air near -1000 and nothing far below."""
    if volume.is_rgb or volume.kind != "3d":
        return False
    flat = _sample(volume)
    if flat.size == 0:
        return False
    low = float(flat.min())
    return -3100.0 <= low <= -900.0 and float(np.percentile(flat, 99)) < 4000.0


def modality_of(volume: Volume) -> str:
    modality = (volume.modality or "").upper()
    if modality in ("", "OT") and looks_like_ct(volume):
        return "CT"
    return modality


def _listed(volume: Volume) -> list[Preset]:
    flat = _sample(volume)
    signed = flat.size > 0 and float(flat.min()) < 0
    return [p for p in presets_for(modality_of(volume), signed) if not p.header or volume.window is not None]


def preset_names(volume: Volume | None) -> list[str]:
    """Presets that make sense for this image, best first (the header's only when it has one)."""
    return [] if volume is None else [p.name for p in _listed(volume)]


def preset_windows(volume: Volume) -> list[tuple[str, tuple[float, float]]]:
    """(name, (center, width)) of every preset listed for this image; percentiles in one pass."""
    listed = _listed(volume)
    wanted = sorted({v for p in listed if p.percentiles for v in p.percentiles})
    values = dict(zip(wanted, _percentiles(volume, wanted))) if wanted else {}
    out = []
    for preset in listed:
        if preset.header:
            out.append((preset.name, tuple(float(v) for v in volume.window)))
        elif preset.window:
            out.append((preset.name, preset.window))
        else:
            out.append((preset.name, _window_between(values[preset.percentiles[0]],
                                                     values[preset.percentiles[1]], volume)))
    return out


def _percentiles(volume: Volume, wanted: list[float]) -> list[float]:
    flat = _sample(volume)
    if flat.size == 0:
        return [0.0] * len(wanted)
    return [float(v) for v in np.percentile(flat, wanted)]


def _window_between(lo: float, hi: float, volume: Volume) -> tuple[float, float]:
    if hi <= lo:
        flat = _sample(volume)
        lo, hi = (float(flat.min()), float(flat.max())) if flat.size else (0.0, 1.0)
    return ((lo + hi) / 2.0, max(hi - lo, 1e-6))


def percentile_window(volume: Volume, low: float, high: float) -> tuple[float, float]:
    if _sample(volume).size == 0:
        return (0.0, 1.0)
    lo, hi = _percentiles(volume, [low, high])
    return _window_between(lo, hi, volume)


def preset_window(volume: Volume, name: str) -> tuple[float, float]:
    preset = all_presets().get(name)
    if preset is None:
        raise KeyError(f"unknown window preset {name!r} (known: {', '.join(all_presets())})")
    if preset.header:
        if volume.window is None:
            raise KeyError(f"{name!r}: this image has no window in its header")
        return tuple(float(v) for v in volume.window)
    if preset.window:
        return preset.window
    return percentile_window(volume, *preset.percentiles)


def ct_presets() -> dict[str, tuple[float, float]]:
    return {p.name: p.window for p in presets_for("CT") if p.window}


def initial_window(volume: Volume) -> tuple[float, float]:
    """What a volume opens with: RGB as stored, the header's VOI window (X-ray, CT), a soft-tissue
    window for CT (or Hounsfield units) without one, else the 1st-99th percentile."""
    if volume.is_rgb:
        return (127.5, 255.0)
    if volume.window is not None:
        return tuple(float(v) for v in volume.window)
    if volume.kind == "2d" and volume.array.dtype == np.uint8 and modality_of(volume) in ("", "OT", "SC"):
        return percentile_window(volume, 0.0, 100.0)  # a picture (JPEG, PNG) as it was made: its full range
    if modality_of(volume) == "CT" and _sample(volume).size and float(_sample(volume).min()) < -500:
        return ct_presets()["CT abdomen"]
    return percentile_window(volume, 1.0, 99.0)


def grey(values, center: float, width: float, invert: bool = False) -> np.ndarray:
    """The grey level (0..255, float) a value renders as: the reference the tests check."""
    g = np.clip((np.asarray(values, dtype=float) - (center - width / 2.0)) / width, 0.0, 1.0) * 255.0
    return 255.0 - g if invert else g


def __getattr__(name: str):
    if name == "CT_PRESETS":  # the fixed CT windows by name, read from the presets file
        return ct_presets()
    raise AttributeError(name)
