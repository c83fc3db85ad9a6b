"""Starting weights for transfer learning, from a local file only (nothing is downloaded):

- one of our checkpoints (`workstation.ml.checkpoint`), any task and classes: its backbone is kept,
  its final layer is replaced by one for the project's classes;
- a torchvision-format `densenet121` ImageNet state dict (`torch.save(model.state_dict())` of
  `torchvision.models.densenet121`), mapped key by key onto MONAI's `DenseNet121`.

MONAI names a dense layer's modules `layers.norm1 ... layers.conv2` and the classifier
`class_layers.out`; torchvision names them `norm1 ... conv2` (older files: `norm.1 ... conv.2`) and
`classifier`. Everything else (stem, transitions, final norm) has the same names.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workstation.core.errors import WorkstationError

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
DENSENET121 = {"name": "DenseNet121", "spatial_dims": 2, "in_channels": 3, "out_channels": 1000}

_LAYER = re.compile(r"^(features\.denseblock\d+\.denselayer\d+)\.(norm|relu|conv)\.?([12])\.(.+)$")


class PretrainedError(WorkstationError, ValueError):
    """A --pretrained file we cannot use; the message says why in one line."""


@dataclass
class Pretrained:
    source: str  # "checkpoint" | "torchvision-densenet121"
    architecture: dict[str, Any]
    state_dict: dict[str, Any]
    preprocessing: dict[str, Any] = field(default_factory=dict)
    path: str = ""
    sha256: str = ""
    classes: list[str] = field(default_factory=list)
    task: str = ""


def torchvision_to_monai(state: dict[str, Any]) -> dict[str, Any]:
    """Rename a torchvision densenet state dict's keys to MONAI DenseNet's (the values are kept)."""
    out = {}
    for key, value in state.items():
        if key.startswith("module."):  # saved from nn.DataParallel
            key = key[len("module."):]
        match = _LAYER.match(key)
        if match:
            key = f"{match.group(1)}.layers.{match.group(2)}{match.group(3)}.{match.group(4)}"
        elif key.startswith("classifier."):
            key = "class_layers.out." + key[len("classifier."):]
        out[key] = value
    return out


def is_torchvision_densenet(state: Any) -> bool:
    return (isinstance(state, dict) and "features.conv0.weight" in state
            and any(k.startswith("classifier.") for k in state)
            and any(".denselayer" in k and ".layers." not in k for k in state))


def load_pretrained(path, plugin_id: str) -> Pretrained:
    """Read a --pretrained file: our checkpoint (for the same plugin's dimensionality) or a
    torchvision densenet121 state dict (2D only). PretrainedError says why a file is refused."""
    import torch

    from workstation.ml.checkpoint import CheckpointError, load_checkpoint, sha256_file

    path = str(path)
    if not Path(path).is_file():
        raise PretrainedError(f"pretrained weights {path} do not exist")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # pickled code, a truncated file, not a torch file at all
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise PretrainedError(f"pretrained weights {path} cannot be read with weights_only loading: {first}") from None
    if isinstance(payload, dict) and payload.get("format") == "workstation-checkpoint":
        try:
            ckpt = load_checkpoint(path)
        except CheckpointError as exc:
            raise PretrainedError(str(exc)) from None
        return Pretrained("checkpoint", dict(ckpt.architecture), ckpt.state_dict, dict(ckpt.preprocessing),
                          path, ckpt.sha256, list(ckpt.classes), ckpt.task)
    if isinstance(payload, dict) and isinstance(payload.get("state_dict"), dict):
        payload = payload["state_dict"]  # {"state_dict": ...} wrappers are common
    if not is_torchvision_densenet(payload):
        raise PretrainedError(f"{path} is neither a workstation checkpoint nor a torchvision densenet121 state dict")
    if plugin_id == "densenet3d":
        raise PretrainedError(f"{path} holds 2D ImageNet weights; they fit densenet2d, not densenet3d")
    state = torchvision_to_monai(payload)
    arch = dict(DENSENET121, out_channels=int(state["class_layers.out.weight"].shape[0]))
    _check_fits(arch, state, path)
    return Pretrained("torchvision-densenet121", arch, state,
                      {"size": [224, 224], "spacing": None, "mean": IMAGENET_MEAN, "std": IMAGENET_STD},
                      path, sha256_file(path))


def _check_fits(arch: dict, state: dict, path: str) -> None:
    from workstation.ml.networks import build_network

    model = build_network(arch)
    missing, unexpected = _compare(model.state_dict(), state)
    if missing or unexpected:
        detail = f"missing {missing[:3]}" if missing else f"unexpected {unexpected[:3]}"
        raise PretrainedError(f"{path} does not fit MONAI DenseNet121 after key mapping ({detail})")


def _compare(expected: dict, given: dict) -> tuple[list[str], list[str]]:
    missing = [k for k in expected if k not in given and not k.endswith("num_batches_tracked")]
    unexpected = [k for k in given if k not in expected]
    wrong = [k for k in expected if k in given and tuple(expected[k].shape) != tuple(given[k].shape)]
    return missing + wrong, unexpected
