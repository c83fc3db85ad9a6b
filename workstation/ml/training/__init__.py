"""Training classifiers on a review project's labels: transfer learning (`features` / `finetune`
from our checkpoints or torchvision densenet121 ImageNet weights), multi-task heads, early stopping
on validation AUC, model cards, and the active-learning loop (re-running inference with the new
model: `workstation.plugin_host.predict.predict_project`, the host runs plugins; ml never imports it).

    from workstation.ml.training import TrainConfig, train, compare_multitask

Names are imported on first use: `workstation.ml.training.config` stays free of torch and MONAI
(the GUI builds a TrainConfig without paying their ~5 s import on its own thread).
"""
from __future__ import annotations

import importlib

_EXPORTS = {
    "TrainConfig": "config", "TrainProgress": "config", "TrainResult": "config",
    "TrainingError": "errors", "TrainingCancelled": "errors",
    "train": "trainer", "use_amp": "trainer", "validation_auc": "trainer", "output_paths": "trainer",
    "compare_multitask": "compare",
    "PretrainedError": "pretrained", "load_pretrained": "pretrained", "torchvision_to_monai": "pretrained",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name not in _EXPORTS:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_EXPORTS[name]}"), name)
    globals()[name] = value
    return value
