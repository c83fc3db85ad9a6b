"""What the scanner and the file add to a phantom's true signal: a smooth receive bias, Gibbs
ringing, motion ghosts, Rician noise at a drawn SNR, the storage type and intensity scale, and the
voxel axes (LPS or RAS; an oblique head comes from the pose)."""
from __future__ import annotations

import numpy as np

STORAGES = ("int16", "uint16", "float", "float_x0.1", "float_x10")


def bias_field(rng, shape, amplitude: float) -> np.ndarray:
    """exp of a random quadratic over the field of view: 1 +- amplitude."""
    axes = [np.linspace(-1, 1, n, dtype=np.float32) for n in shape[::-1]]  # x, y, z
    x, y, z = axes[0][None, None, :], axes[1][None, :, None], axes[2][:, None, None]
    c = rng.normal(scale=amplitude / 2.0, size=9)
    log_field = (c[0] * x + c[1] * y + c[2] * z + c[3] * x * x + c[4] * y * y + c[5] * z * z
                 + c[6] * x * y + c[7] * x * z + c[8] * y * z)
    return np.exp(log_field).astype(np.float32)


def ringing(rng, signal: np.ndarray) -> np.ndarray:
    """Gibbs ringing: k-space truncated (no apodisation) along one in-plane axis."""
    axis = int(rng.integers(1, 3))
    n = signal.shape[axis]
    keep = int(n * rng.uniform(0.55, 0.8))
    spec = np.fft.fftshift(np.fft.fft(signal, axis=axis), axes=axis)
    cut = np.zeros(n, bool)
    cut[(n - keep) // 2:(n - keep) // 2 + keep] = True
    shape = [1] * signal.ndim
    shape[axis] = n
    spec = spec * cut.reshape(shape)
    return np.abs(np.fft.ifft(np.fft.ifftshift(spec, axes=axis), axis=axis)).astype(np.float32)


def motion(rng, signal: np.ndarray) -> np.ndarray:
    """Motion ghosts: a random subset of phase-encode lines acquired with the head shifted."""
    axis = int(rng.integers(1, 3))
    n = signal.shape[axis]
    spec = np.fft.fft(signal, axis=axis)
    freq = np.fft.fftfreq(n)
    moved = rng.random(n) < rng.uniform(0.05, 0.25)
    shift = rng.uniform(0.5, 2.5)  # voxels
    phase = np.where(moved, np.exp(-2j * np.pi * freq * shift), 1.0)
    shape = [1] * signal.ndim
    shape[axis] = n
    return np.abs(np.fft.ifft(spec * phase.reshape(shape), axis=axis)).astype(np.float32)


def rician(rng, signal: np.ndarray, sigma: float) -> np.ndarray:
    """Magnitude of signal plus complex Gaussian noise: the background is Rician (not zero)."""
    real = signal + rng.normal(scale=sigma, size=signal.shape).astype(np.float32)
    imag = rng.normal(scale=sigma, size=signal.shape).astype(np.float32)
    return np.hypot(real, imag)


def store(rng, magnitude: np.ndarray, wm_level: float, storage: str) -> np.ndarray:
    """The stored voxel values for `storage`, with white matter near a typical level for it."""
    if storage == "int16":
        gain = rng.uniform(600, 1200) / wm_level
        return np.clip(np.round(magnitude * gain), 0, 32767).astype(np.int16)
    if storage == "uint16":
        return np.round(magnitude * (4095.0 / max(float(magnitude.max()), 1e-6))).astype(np.uint16)
    if storage == "float":
        return (magnitude * (rng.uniform(0.4, 0.8) / wm_level)).astype(np.float32)
    if storage in ("float_x0.1", "float_x10"):
        factor = 0.1 if storage == "float_x0.1" else 10.0
        return (magnitude * (rng.uniform(600, 1200) / wm_level) * factor).astype(np.float32)
    raise ValueError(f"unknown storage {storage!r}; choose from {', '.join(STORAGES)}")


def to_ras_axes(array: np.ndarray, spacing, origin) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same image with its i and j axes reversed (x to the right, y anterior): world positions
    unchanged. Returns (array, origin, direction)."""
    nk, nj, ni = array.shape[:3]
    new_origin = np.asarray(origin, float) + np.array([(ni - 1) * spacing[0], (nj - 1) * spacing[1], 0.0])
    return np.ascontiguousarray(array[:, ::-1, ::-1]), new_origin, np.diag([-1.0, -1.0, 1.0])
