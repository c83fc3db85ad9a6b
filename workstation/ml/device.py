"""Choosing where a model runs, and running it there at the right precision.

`auto` picks CUDA, then Apple MPS, then the CPU. The user's choice comes from `--device`, else the
settings file's "device", else auto. Torch is imported only inside the functions.
"""
from __future__ import annotations

import contextlib

from workstation.core.errors import WorkstationError

CHOICES = ("auto", "cpu", "cuda", "mps")


class DeviceUnavailable(WorkstationError, RuntimeError):
    pass


def available() -> dict[str, bool]:
    import torch

    mps = getattr(torch.backends, "mps", None)
    return {"cuda": bool(torch.cuda.is_available()),
            "mps": bool(mps is not None and mps.is_available()),
            "cpu": True}


def requested_device(cli_value: str | None = None) -> str:
    """The device the user asked for: the command line wins over the settings file."""
    if cli_value:
        value = cli_value
    else:
        from workstation.core import settings

        value = settings.load().get("device") or "auto"
    value = str(value).lower()
    if value.split(":")[0] not in CHOICES:
        raise DeviceUnavailable(f"unknown device {value!r}: choose one of {', '.join(CHOICES)}")
    return value


def choose_device(requested: str = "auto", supported: tuple[str, ...] = ("cuda", "mps", "cpu")) -> str:
    """A concrete device string ("cpu", "cuda", "cuda:1", "mps") for `requested`, among those the
    plugin `supported`; DeviceUnavailable with the reason when the request cannot be met."""
    requested = (requested or "auto").lower()
    kind = requested.split(":")[0]
    if kind not in CHOICES:
        raise DeviceUnavailable(f"unknown device {requested!r}: choose one of {', '.join(CHOICES)}")
    have = available()
    if kind == "auto":
        for candidate in ("cuda", "mps", "cpu"):
            if candidate in supported and have[candidate]:
                return candidate
        raise DeviceUnavailable(f"none of the plugin's devices {list(supported)} is available")
    if kind not in supported:
        raise DeviceUnavailable(f"this plugin runs on {', '.join(supported)}, not {kind}")
    if not have[kind]:
        why = {"cuda": "no CUDA GPU is visible to torch (a CPU-only torch build, or no driver)",
               "mps": "Apple MPS is not available on this machine"}.get(kind, "")
        raise DeviceUnavailable(f"device {kind!r} was requested but {why}")
    return requested


def autocast(device: str):
    """Mixed precision (float16 autocast) on CUDA; full precision elsewhere."""
    if str(device).startswith("cuda"):
        import torch

        return torch.autocast(device_type="cuda", dtype=torch.float16)
    return contextlib.nullcontext()


def empty_cache(device: str) -> None:
    import torch

    if str(device).startswith("cuda") and torch.cuda.is_available():
        torch.cuda.empty_cache()
