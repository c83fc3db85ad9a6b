"""Stage 2: a small 3D CNN on a 20 mm cube (1 mm voxels; channels: log intensity and brain mask)
around each candidate. Two outputs: the microbleed logit and the log of the diameter in mm
(trained on true microbleeds only). About 0.55 M parameters, ~30 M multiply-adds per patch."""
from __future__ import annotations

import torch
from torch import nn

from plugins.microbleeds.screening import CHANNELS, PATCH_SHAPE


def _block(c_in: int, c_out: int) -> list[nn.Module]:
    return [nn.Conv3d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm3d(c_out), nn.ReLU(inplace=True)]


class PatchNet(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        w = width
        self.features = nn.Sequential(
            *_block(CHANNELS, w), nn.MaxPool3d(2),                # 10 x 10 x 10
            *_block(w, 2 * w), nn.MaxPool3d(2),                   # 5 x 5 x 5
            *_block(2 * w, 4 * w),
        )
        cells = (PATCH_SHAPE[0] // 4) * (PATCH_SHAPE[1] // 4) * (PATCH_SHAPE[2] // 4)
        self.head = nn.Sequential(nn.Flatten(), nn.Dropout(0.3), nn.Linear(4 * w * cells, 64),
                                  nn.ReLU(inplace=True), nn.Linear(64, 2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (n, 2, 20, 20, 20) -> (n, 2): [logit, log diameter mm]."""
        return self.head(self.features(x))
