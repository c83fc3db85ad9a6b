"""Fixtures for the batch tests: one Dask cluster of 2 worker processes for the whole session (the
model is loaded once per worker and reused by every test), a tiny densenet2d checkpoint, and real
images: the 16 chest X-rays, and 200 distinct 96x96 crops of them as PNG files."""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

CLASSES = ("NORMAL", "PNEUMONIA")
TINY_2D = {"name": "DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1, "init_features": 8,
           "growth_rate": 8, "block_config": [2, 2]}


@pytest.fixture(scope="session")
def checkpoint(tmp_path_factory) -> Path:
    import torch

    from workstation.ml.checkpoint import output_size, save_checkpoint
    from workstation.ml.networks import build_network

    torch.manual_seed(0)
    arch = dict(TINY_2D, out_channels=output_size("binary", list(CLASSES)))
    path = tmp_path_factory.mktemp("weights") / "tiny.pt"
    save_checkpoint(path, build_network(arch).state_dict(), plugin_id="densenet2d", task="binary",
                    classes=list(CLASSES), architecture=arch, preprocessing={"size": [64, 64], "spacing": None},
                    metadata={"note": "batch tests"})
    return path


@pytest.fixture(scope="session")
def xrays() -> Path:
    from workstation.core.io.samples import SampleError, chest_xrays

    try:
        return chest_xrays()
    except SampleError as exc:
        pytest.fail(f"the chest X-ray samples are needed: {exc}")


@pytest.fixture(scope="session")
def crops(xrays, tmp_path_factory) -> Path:
    """200 PNG crops (96x96, distinct content) in 4 sub-folders."""
    from PIL import Image

    root = tmp_path_factory.mktemp("crops")
    sources = sorted(xrays.glob("*/*.jpeg"))
    n = 0
    for k, source in enumerate(sources):
        pixels = np.asarray(Image.open(source).convert("L"))
        for j in range(13 if k < 8 else 12):  # 8*13 + 8*12 = 200
            y = 100 + 37 * j
            x = 150 + 29 * j
            folder = root / f"set{n % 4}"
            folder.mkdir(exist_ok=True)
            Image.fromarray(pixels[y:y + 96, x:x + 96]).save(folder / f"crop{n:03d}.png")
            n += 1
    assert n == 200
    return root


@pytest.fixture(scope="session")
def cluster():
    from distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, scheduler_port=0,
                      dashboard_address=":0", silence_logs=logging.ERROR) as c:
        yield c


@pytest.fixture
def client(cluster):
    from distributed import Client

    with Client(cluster.scheduler_address) as c:
        yield c


@pytest.fixture
def serial():
    return serial_scores


def serial_scores(checkpoint, paths) -> dict[str, list[float]]:
    """A plain loop of the same plugin in this process: path -> probabilities."""
    from workstation.core.io import read_volume
    from workstation.plugin_host import usable_manifest
    from workstation.plugin_host.discovery import load_factory

    plugin = load_factory(usable_manifest("densenet2d"))(checkpoint=str(checkpoint), options={})
    plugin.load("cpu")
    out = {}
    for path in paths:
        (prediction,) = plugin.predict([read_volume(path)], lambda f: None, lambda: False)
        out[str(path)] = [float(v) for v in prediction.probabilities.values]
    return out
