"""Device choice. No GPU here: torch's availability checks are mocked for the selection logic only."""
from __future__ import annotations

import pytest
import torch

from workstation.core import settings
from workstation.ml import device as dev


@pytest.fixture
def gpus(monkeypatch):
    def set_(cuda=False, mps=False):
        monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
        monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)
    return set_


@pytest.mark.parametrize("cuda, mps, expected", [(True, True, "cuda"), (False, True, "mps"), (False, False, "cpu")])
def test_auto_prefers_cuda_then_mps_then_cpu(gpus, cuda, mps, expected):
    gpus(cuda=cuda, mps=mps)
    assert dev.choose_device("auto") == expected


def test_auto_respects_what_the_plugin_supports(gpus):
    gpus(cuda=True, mps=True)
    assert dev.choose_device("auto", supported=("cpu",)) == "cpu"
    assert dev.choose_device("auto", supported=("mps", "cpu")) == "mps"


def test_explicit_requests(gpus):
    gpus(cuda=True)
    assert dev.choose_device("cuda") == "cuda" and dev.choose_device("cuda:1") == "cuda:1"
    assert dev.choose_device("cpu") == "cpu"
    gpus(cuda=False)
    with pytest.raises(dev.DeviceUnavailable, match="no CUDA GPU is visible"):
        dev.choose_device("cuda")
    with pytest.raises(dev.DeviceUnavailable, match="runs on cpu, not cuda"):
        dev.choose_device("cuda", supported=("cpu",))
    with pytest.raises(dev.DeviceUnavailable, match="unknown device 'tpu'"):
        dev.choose_device("tpu")


def test_cli_overrides_settings():
    settings.update(device="cpu")
    try:
        assert dev.requested_device(None) == "cpu"
        assert dev.requested_device("cuda") == "cuda"
        settings.update(device="auto")
        assert dev.requested_device(None) == "auto"
    finally:
        settings.update(device="auto")


def test_autocast_only_on_cuda():
    ctx = dev.autocast("cuda")
    assert isinstance(ctx, torch.autocast) and ctx.fast_dtype == torch.float16
    assert not isinstance(dev.autocast("cpu"), torch.autocast)
