from __future__ import annotations

import pickle

import pytest
import torch

from workstation.ml.checkpoint import CheckpointError, load_checkpoint, save_checkpoint, sha256_file


def test_round_trip_keeps_weights_and_metadata(tiny_checkpoint):
    path, model = tiny_checkpoint(task="multiclass", classes=("a", "b", "c"))
    ckpt = load_checkpoint(path, plugin_id="densenet2d")
    assert ckpt.task == "multiclass" and ckpt.classes == ["a", "b", "c"]
    assert ckpt.architecture["out_channels"] == 3 and ckpt.preprocessing["size"] == [64, 64]
    assert ckpt.metadata["note"] == "test" and "created_at" in ckpt.metadata
    assert ckpt.sha256 == sha256_file(path) and len(ckpt.sha256) == 64
    for name, tensor in model.state_dict().items():
        assert torch.equal(ckpt.state_dict[name], tensor)


class _Payload:
    def __reduce__(self):
        return (print, ("this would run on load",))


def test_refuses_pickled_code(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"format": "workstation-checkpoint", "payload": _Payload()}, path)
    with pytest.raises(CheckpointError, match="refused: weights_only"):
        load_checkpoint(path)


def test_refuses_foreign_and_mismatched_files(tmp_path, tiny_checkpoint):
    bare = tmp_path / "bare.pt"
    torch.save({"features.conv0.weight": torch.zeros(1)}, bare)
    with pytest.raises(CheckpointError, match="not a workstation checkpoint .a bare state dict"):
        load_checkpoint(bare)
    with pytest.raises(CheckpointError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.pt")
    path, _ = tiny_checkpoint()
    with pytest.raises(CheckpointError, match="is for plugin 'densenet2d', not 'densenet3d'"):
        load_checkpoint(path, plugin_id="densenet3d")
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(pickle.dumps([1, 2]) + b"junk")
    with pytest.raises(CheckpointError):
        load_checkpoint(garbage)


def test_save_rejects_head_that_does_not_fit_classes(tmp_path):
    with pytest.raises(CheckpointError, match="2 outputs do not fit 3 classes"):
        save_checkpoint(tmp_path / "x.pt", {}, plugin_id="p", task="multiclass", classes=["a", "b", "c"],
                        architecture={"name": "DenseNet121", "out_channels": 2})
