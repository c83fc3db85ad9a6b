"""Grad-CAM heat maps through MONAI's `monai.visualize.GradCAM`.

MONAI's default post-processing maps (min, max) to (1, 0), flipping the map so that the strongest
evidence reads lowest; we scale (min, max) to (0, 1) instead. MONAI's GradCAM also registers permanent hooks on the model (and turns in-place ReLUs off), so the
explainer works on its own copy of the network: the model used for predictions stays untouched.
"""
from __future__ import annotations

import copy

import numpy as np

DENSENET_LAYER = "class_layers.relu"  # the last feature maps of MONAI's DenseNet family


class GradCamExplainer:
    def __init__(self, model, target_layer: str = DENSENET_LAYER):
        from monai.visualize import GradCAM

        self.model = copy.deepcopy(model).eval()
        for p in self.model.parameters():
            p.requires_grad_(True)
        self.cam = GradCAM(nn_module=self.model, target_layers=target_layer, postprocessing=_to_unit)

    def __call__(self, x, class_index: int) -> np.ndarray:
        """Heat maps (N, *spatial of x) in [0, 1] for output `class_index`, on the network input grid."""
        import torch

        with torch.inference_mode(False), torch.enable_grad():
            maps = self.cam(x=x.detach().clone().float(), class_idx=int(class_index))
        self.model.zero_grad(set_to_none=True)
        return np.nan_to_num(maps.detach().float().cpu().numpy()[:, 0], nan=0.0)


def grad_cam(model, x, class_index: int, target_layer: str = DENSENET_LAYER) -> np.ndarray:
    """One-off Grad-CAM; keep a GradCamExplainer when explaining many images."""
    return GradCamExplainer(model, target_layer)(x, class_index)


def _to_unit(maps):
    """Per-image min-max scaling to [0, 1], the highest evidence at 1."""
    flat = maps.reshape(maps.shape[0], -1)
    low = flat.min(dim=1).values.reshape((-1,) + (1,) * (maps.dim() - 1))
    high = flat.max(dim=1).values.reshape((-1,) + (1,) * (maps.dim() - 1))
    return (maps - low) / (high - low).clamp_min(1e-12)
