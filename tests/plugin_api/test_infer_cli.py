"""`workstation infer` end to end: a real project of real DICOM images, a densenet2d checkpoint in
the project's models folder, predictions and heat maps stored with their provenance."""
from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

from workstation.cli import main
from workstation.core.project import Project


@pytest.fixture
def project_dir(tmp_path):
    import SimpleITK as sitk
    from pydicom.data import get_testdata_file

    images = tmp_path / "images"
    images.mkdir()
    for name in ("CT_small.dcm", "MR_small.dcm", "US1_UNCR.dcm"):
        shutil.copy(get_testdata_file(name), images / name)
    sitk.WriteImage(sitk.GetImageFromArray(np.arange(40 * 50, dtype=np.uint8).reshape(40, 50)), str(images / "ramp.png"))
    directory = tmp_path / "study"
    with Project.create(directory, task="binary", classes=["normal", "abnormal"]) as project:
        for path in sorted(images.iterdir()):
            project.add_case([str(path)])
    return directory


def _checkpoint(path, classes=("normal", "abnormal")):
    import torch

    from workstation.ml.checkpoint import save_checkpoint
    from workstation.ml.networks import build_network

    torch.manual_seed(0)
    arch = {"name": "DenseNet", "spatial_dims": 2, "in_channels": 1, "out_channels": 1, "init_features": 8,
            "growth_rate": 8, "block_config": [2, 2]}
    return save_checkpoint(path, build_network(arch).state_dict(), plugin_id="densenet2d", task="binary",
                           classes=list(classes), architecture=arch, preprocessing={"size": [64, 64]})


def test_infer_stores_predictions_with_provenance(project_dir, capsys):
    sha = _checkpoint(project_dir / "models" / "densenet2d" / "v1.pt")
    assert main(["infer", str(project_dir), "--plugin", "densenet2d", "--device", "cpu", "--heatmaps", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["stored"] == report["total"] == 4 and report["failed"] == []
    assert report["weights_sha256"] == sha and report["devices"] == ["cpu"]
    assert report["checkpoint"].endswith("models/densenet2d/v1.pt") and report["images_per_s"] > 0
    with Project.open(project_dir) as project:
        latest = project.latest_predictions("densenet2d")
        assert sorted(latest) == sorted(project.case_ids())
        for case_id, record in latest.items():
            assert (record.plugin_id, record.plugin_version, record.weights_sha256, record.device) == \
                ("densenet2d", "1.0.0", sha, "cpu")
            assert record.created_at and abs(sum(record.probabilities.values()) - 1) < 1e-6
            heat = project_dir / record.heatmap_path
            assert heat.is_file()
        import SimpleITK as sitk

        ct = latest["CT_small"]
        image = sitk.ReadImage(str(project_dir / ct.heatmap_path))
        assert image.GetSize() == (128, 128, 1)
        assert np.allclose(image.GetSpacing()[:2], (0.661468, 0.661468))


def test_infer_unlabelled_only(project_dir, capsys):
    _checkpoint(project_dir / "models" / "densenet2d" / "v1.pt")
    with Project.open(project_dir) as project:
        project.set_label("CT_small", "abnormal", reader="alice")
    assert main(["infer", str(project_dir), "--plugin", "densenet2d", "--cases", "unlabelled", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["total"] == 3
    with Project.open(project_dir) as project:
        assert "CT_small" not in project.latest_predictions("densenet2d")


def test_infer_without_weights_says_so(project_dir, capsys):
    assert main(["infer", str(project_dir), "--plugin", "densenet2d", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "densenet2d has no weights: pass --checkpoint PATH" in report["error"]
    assert report["stored"] == 0


def test_infer_refuses_checkpoint_for_other_classes(project_dir, tmp_path, capsys):
    other = tmp_path / "other.pt"
    _checkpoint(other, classes=("cat", "dog"))
    assert main(["infer", str(project_dir), "--plugin", "densenet2d", "--checkpoint", str(other), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["stored"] == 0 and "are not the project's" in report["failed"][0]["reason"]


def test_infer_usage_errors(project_dir, tmp_path, capsys):
    assert main(["infer", str(project_dir), "--plugin", "nosuch"]) == 2
    assert "no plugin 'nosuch'" in capsys.readouterr().err
    assert main(["infer", str(tmp_path / "none"), "--plugin", "densenet2d"]) == 2
    assert main(["infer", str(project_dir), "--plugin", "densenet2d", "--checkpoint", str(tmp_path / "x.pt")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_plugins_command_json(capsys):
    assert main(["plugins", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["api_version"] == "1.0"
    byid = {p["id"]: p for p in listed["plugins"]}
    assert byid["densenet2d"]["status"] == "enabled"
    assert byid["densenet2d"]["manifest"]["input"] == {"dims": 2, "channels": [1, 3], "size": [224, 224], "spacing": None}
    assert main(["plugins", "--disable", "densenet2d"]) == 0
    capsys.readouterr()
    try:
        assert main(["plugins", "--json"]) == 0
        assert {p["id"]: p for p in json.loads(capsys.readouterr().out)["plugins"]}["densenet2d"]["status"] == "disabled"
    finally:
        assert main(["plugins", "--enable", "densenet2d"]) == 0


def test_infer_cuda_unavailable_is_reported(project_dir, capsys):
    _checkpoint(project_dir / "models" / "densenet2d" / "v1.pt")
    assert main(["infer", str(project_dir), "--plugin", "densenet2d", "--device", "cuda", "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert "device 'cuda' was requested but no CUDA GPU is visible" in report["error"]
