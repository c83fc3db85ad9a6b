"""Modality rescale (value = stored * slope + intercept) into the narrowest honest dtype. Kept free
of pydicom so that non-DICOM reads do not pay pydicom's import time."""
from __future__ import annotations

import numpy as np


def rescaled_dtype(stored: np.dtype, bits: tuple[int, bool], slopes, intercepts, sample=None) -> np.dtype:
    """Stored dtype when there is no rescale; int16/int32 for integer slope and intercept, sized
    from the values of `sample` when given (else from BitsStored); float32 otherwise. A later slice
    that does not fit widens the array (`rescale_into`)."""
    stored = np.dtype(stored)
    pairs = set(zip(slopes, intercepts))
    if pairs <= {(1.0, 0.0)}:
        return stored
    if stored.kind == "f" or any(s != int(s) or i != int(i) for s, i in pairs):
        return np.dtype(np.float32)
    nbits = bits[0] if 0 < bits[0] <= stored.itemsize * 8 else stored.itemsize * 8
    lo, hi = (-(2 ** (nbits - 1)), 2 ** (nbits - 1) - 1) if stored.kind == "i" else (0, 2 ** nbits - 1)
    if sample is not None and sample.size:
        lo, hi = int(sample.min()), int(sample.max())
    return _int_type_for([v for s, i in pairs for v in (s * lo + i, s * hi + i)])


def _int_type_for(values) -> np.dtype:
    for dt in (np.int16, np.int32):
        info = np.iinfo(dt)
        if info.min <= min(values) and max(values) <= info.max:
            return np.dtype(dt)
    return np.dtype(np.int64)


def rescale_into(out: np.ndarray, k: int, src: np.ndarray, slope: float, intercept: float) -> np.ndarray:
    """out[k] = src * slope + intercept. Returns `out`, or a widened copy in the rare case a file's
    values exceed what its BitsStored promised."""
    if out.dtype.kind in "iu" and src.dtype.kind in "iu" and src.size:
        lo, hi = int(src.min()), int(src.max())
        ends = (lo * slope + intercept, hi * slope + intercept)
        info = np.iinfo(out.dtype)
        if min(ends) < info.min or max(ends) > info.max:
            wider = _int_type_for([min(ends), max(ends), info.min, info.max])
            out = out.astype(wider if wider.itemsize > out.dtype.itemsize else np.int64)
    if out.dtype.kind == "f":
        np.multiply(src, np.float64(slope), out=out[k], casting="unsafe")
        if intercept:
            out[k] += np.float32(intercept)
        return out
    out[k] = src  # integer arithmetic below may wrap mid-way; the final value fits (checked above)
    if slope != 1:
        out[k] *= out.dtype.type(int(slope))
    if intercept:
        out[k] += out.dtype.type(int(intercept))
    return out
