"""The network being trained: a MONAI DenseNet whose final layer fits the project's classes, the
transfer mode's frozen or slowed-down backbone, and for multi-task training a second head.

The classification network stays a plain MONAI DenseNet (what the plugin's checkpoint holds); the
auxiliary head reads the same last feature maps (`features`, before `class_layers`) and predicts a
segmentation mask or a localisation heat map, upsampled to the input size.
"""
from __future__ import annotations

from typing import Any

import torch
from torch import nn

from workstation.ml.checkpoint import output_size
from workstation.ml.networks import build_network

MODES = ("features", "finetune")
TINY = {"name": "DenseNet", "init_features": 8, "growth_rate": 8, "block_config": [2, 2]}


def replace_head(net: nn.Module, n_out: int, seed: int) -> None:
    """A fresh final linear layer with `n_out` outputs (seeded, so runs repeat)."""
    old = net.class_layers.out
    generator_state = torch.random.get_rng_state()
    torch.manual_seed(seed)
    net.class_layers.out = nn.Linear(old.in_features, n_out)
    torch.random.set_rng_state(generator_state)


def backbone_parameters(net: nn.Module) -> list[nn.Parameter]:
    head = {id(p) for p in net.class_layers.out.parameters()}
    return [p for p in net.parameters() if id(p) not in head]


def freeze_backbone(net: nn.Module) -> None:
    for p in backbone_parameters(net):
        p.requires_grad_(False)


def set_train_mode(model: nn.Module, mode: str, pretrained: bool) -> None:
    """model.train(), except that a frozen backbone keeps its BatchNorm statistics (eval mode):
    feature extraction must see the features the source task learned."""
    model.train()
    if mode == "features" and pretrained:
        net = model.net if isinstance(model, MultiTaskNet) else model
        net.features.eval()


class AuxHead(nn.Module):
    """A small convolutional head on the last feature maps: one output channel (mask or heat map)."""

    def __init__(self, in_channels: int, spatial_dims: int, hidden: int = 32):
        super().__init__()
        conv = nn.Conv2d if spatial_dims == 2 else nn.Conv3d
        norm = nn.BatchNorm2d if spatial_dims == 2 else nn.BatchNorm3d
        self.body = nn.Sequential(conv(in_channels, hidden, 3, padding=1, bias=False), norm(hidden),
                                  nn.ReLU(), conv(hidden, 1, 1))
        self.mode = "bilinear" if spatial_dims == 2 else "trilinear"

    def forward(self, features, size):
        return nn.functional.interpolate(self.body(features), size=size, mode=self.mode, align_corners=False)


class MultiTaskNet(nn.Module):
    """One shared DenseNet backbone, two heads: class logits and a one-channel dense map (logits)."""

    def __init__(self, net: nn.Module, spatial_dims: int):
        super().__init__()
        self.net = net
        self.aux = AuxHead(net.class_layers.out.in_features, spatial_dims)

    def forward(self, x):
        features = self.net.features(x)
        dense = self.aux(features, tuple(x.shape[2:]))
        # class_layers starts with an in-place ReLU: give it its own copy so the aux head's input
        # (saved for its backward pass) is not overwritten
        return self.net.class_layers(features.clone()), dense


def build_model(task: str, classes: list[str], dims: int, in_channels: int, pretrained=None,
                tiny: bool = False, seed: int = 0, multitask: bool = False) -> tuple[nn.Module, nn.Module, dict]:
    """(model to train, the classification DenseNet inside it, its architecture dict for the checkpoint)."""
    n_out = output_size(task, classes)
    if pretrained is not None:
        arch = dict(pretrained.architecture)
        if int(arch["spatial_dims"]) != dims:
            raise ValueError(f"the pretrained network is {arch['spatial_dims']}D; this plugin trains {dims}D networks")
        net = build_network(arch)
        missing, unexpected = net.load_state_dict(pretrained.state_dict, strict=False)
        missing = [k for k in missing if not k.endswith("num_batches_tracked")]
        if missing or unexpected:
            raise ValueError(f"pretrained weights do not fit their architecture (missing {missing[:3]}, "
                             f"unexpected {unexpected[:3]})")
        replace_head(net, n_out, seed)
        arch["out_channels"] = n_out
    else:
        arch = {**(TINY if tiny else {"name": "DenseNet121"}), "spatial_dims": dims, "in_channels": in_channels,
                "out_channels": n_out}
        torch.manual_seed(seed)
        net = build_network(arch)
    model = MultiTaskNet(net, dims) if multitask else net
    return model, net, arch


def parameter_groups(model: nn.Module, net: nn.Module, mode: str, pretrained: bool, lr: float,
                     backbone_lr_factor: float) -> list[dict[str, Any]]:
    """`features` (pretrained): only the new final layer (and the aux head) learn; `finetune`: all
    layers, the pretrained backbone at `lr * backbone_lr_factor`. From scratch: everything at `lr`."""
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of {', '.join(MODES)}")
    backbone = backbone_parameters(net)
    ids = {id(p) for p in backbone}
    rest = [p for p in model.parameters() if id(p) not in ids]
    if not pretrained:
        return [{"params": list(model.parameters()), "lr": lr, "name": "all"}]
    if mode == "features":
        freeze_backbone(net)
        return [{"params": rest, "lr": lr, "name": "head"}]
    return [{"params": backbone, "lr": lr * backbone_lr_factor, "name": "backbone"},
            {"params": rest, "lr": lr, "name": "head"}]
