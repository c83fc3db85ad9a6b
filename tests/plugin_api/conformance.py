"""The checks every plugin must pass, shared by the conformance suite and the third-party test."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from workstation.core.volume import Volume
from workstation.plugin_api import Plugin, PluginError, PluginManifest, prediction_problems
from workstation.plugin_host import PluginEntry, load_factory


def synthetic_volume(manifest: PluginManifest, seed: int = 0) -> Volume:
    """A random image of the size and spacing the manifest declares (64 per axis where it declares none)."""
    spec = manifest.input
    size = tuple(spec.size) if spec.size else (64,) * spec.dims
    spacing = tuple(spec.spacing) if spec.spacing else (1.0,) * spec.dims
    shape = tuple(reversed(size)) if spec.dims == 3 else (1, size[1], size[0])
    rng = np.random.default_rng(seed)
    array = rng.integers(0, 1000, shape).astype(np.int16)
    if 1 not in spec.channels:
        array = rng.integers(0, 255, shape + (3,)).astype(np.uint8)
    return Volume(array, spacing=spacing + (1.0,) * (3 - len(spacing)))


def check_plugin(entry: PluginEntry) -> None:
    assert entry.error is None, entry.error
    manifest = entry.manifest
    assert manifest.problems() == []
    assert PluginManifest.from_dict(manifest.to_dict()) == manifest  # the JSON form round-trips
    plugin = load_factory(manifest)(checkpoint=None, options={"allow_untrained": True, "heatmap": manifest.heatmap})
    assert isinstance(plugin, Plugin)
    plugin.load("cpu")
    effective = replace(manifest, task=getattr(plugin, "task", None) or manifest.task,
                        classes=tuple(getattr(plugin, "classes", None) or manifest.classes))
    assert effective.problems() == []
    volumes = [synthetic_volume(manifest, seed) for seed in (0, 1)]
    if manifest.kind == "report_labeler":
        try:  # a report labeler reads text: on images it must refuse cleanly, or answer validly
            predictions = plugin.predict(volumes, None, lambda: False)
        except PluginError:
            return
    else:
        progress = []
        predictions = plugin.predict(volumes, progress.append, lambda: False)
        assert all(0 <= p <= 1 for p in progress)
    assert len(predictions) == len(volumes)
    for volume, prediction in zip(volumes, predictions):
        assert prediction_problems(effective, volume.array.shape[:3], prediction) == []
        if manifest.heatmap and manifest.kind == "classifier":
            assert prediction.heatmap is not None
