"""Networks a checkpoint may name. Only these names are built: a checkpoint never brings code."""
from __future__ import annotations

from typing import Any

from workstation.core.vocab import Task

NAMES = ("DenseNet121", "DenseNet")


def build_network(architecture: dict[str, Any]):
    from monai.networks.nets import DenseNet, DenseNet121

    arch = dict(architecture)
    name = arch.pop("name", None)
    common = {"spatial_dims": int(arch.pop("spatial_dims")), "in_channels": int(arch.pop("in_channels")),
              "out_channels": int(arch.pop("out_channels"))}
    dropout = float(arch.pop("dropout_prob", 0.0))
    if name == "DenseNet121":
        return DenseNet121(**common, dropout_prob=dropout)
    if name == "DenseNet":
        return DenseNet(**common, init_features=int(arch.pop("init_features", 64)),
                        growth_rate=int(arch.pop("growth_rate", 32)),
                        block_config=tuple(int(b) for b in arch.pop("block_config", (6, 12, 24, 16))),
                        bn_size=int(arch.pop("bn_size", 4)), dropout_prob=dropout)
    raise ValueError(f"unknown network {name!r}: a checkpoint may name {', '.join(NAMES)}")


def probabilities(logits, task: str):
    """(N, K) class probabilities as numpy: binary -> [1 - p, p] from one logit; multiclass ->
    softmax; multilabel -> independent sigmoids."""
    import torch

    logits = logits.float()
    if task == Task.BINARY:
        p = torch.sigmoid(logits[:, :1])
        out = torch.cat([1 - p, p], dim=1)
    elif task == Task.MULTICLASS:
        out = torch.softmax(logits, dim=1)
    else:
        out = torch.sigmoid(logits)
    return out.detach().cpu().numpy().astype("float64")
