"""The FID Inception-v3 (TF 2015-12-05 weights as ported by pytorch-fid) and its pool3 features.

The architecture is torchvision's Inception3 with the blocks patched the way pytorch-fid patches them
(TensorFlow's average pooling without padded zeros; max pooling in the last block), so the standard
weight file ``pt_inception-2015-12-05-6726825d.pth`` (also torch-fidelity's
``weights-inception-2015-12-05-6726825d.pth``) loads strictly. Input handling follows pytorch-fid:
bilinear resize to 299x299 (align_corners=False) and scaling [0, 1] -> [-1, 1].
"""
from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
import torchvision
from torch import nn
from torchvision.models.inception import InceptionA, InceptionC, InceptionE

from stngan.metrics.netload import load_exact, read_state_dict

FEATURE_DIM = 2048


def _tf_avg_pool(x: torch.Tensor) -> torch.Tensor:
    return F.avg_pool2d(x, kernel_size=3, stride=1, padding=1, count_include_pad=False)


class _FIDInceptionA(InceptionA):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        b5 = self.branch5x5_2(self.branch5x5_1(x))
        b3 = self.branch3x3dbl_3(self.branch3x3dbl_2(self.branch3x3dbl_1(x)))
        return torch.cat([self.branch1x1(x), b5, b3, self.branch_pool(_tf_avg_pool(x))], 1)


class _FIDInceptionC(InceptionC):
    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        b7 = self.branch7x7_3(self.branch7x7_2(self.branch7x7_1(x)))
        b7d = x
        for layer in (self.branch7x7dbl_1, self.branch7x7dbl_2, self.branch7x7dbl_3, self.branch7x7dbl_4,
                      self.branch7x7dbl_5):
            b7d = layer(b7d)
        return torch.cat([self.branch1x1(x), b7, b7d, self.branch_pool(_tf_avg_pool(x))], 1)


class _FIDInceptionE(InceptionE):
    """InceptionE with TF's padding-free average pool, or max pooling (``max_pool=True``, block Mixed_7c)."""

    def __init__(self, in_channels: int, max_pool: bool) -> None:
        super().__init__(in_channels)
        self.max_pool = max_pool

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        b3 = self.branch3x3_1(x)
        b3 = torch.cat([self.branch3x3_2a(b3), self.branch3x3_2b(b3)], 1)
        bd = self.branch3x3dbl_2(self.branch3x3dbl_1(x))
        bd = torch.cat([self.branch3x3dbl_3a(bd), self.branch3x3dbl_3b(bd)], 1)
        pooled = F.max_pool2d(x, kernel_size=3, stride=1, padding=1) if self.max_pool else _tf_avg_pool(x)
        return torch.cat([self.branch1x1(x), b3, bd, self.branch_pool(pooled)], 1)


class FIDInception(nn.Module):
    """images (N, 3, H, W) float in [0, 1] -> pool3 features (N, 2048) float32; ``net`` holds the weights."""

    def __init__(self) -> None:
        super().__init__()
        net = torchvision.models.inception_v3(weights=None, aux_logits=False, num_classes=1008, init_weights=False)
        net.Mixed_5b, net.Mixed_5c, net.Mixed_5d = (_FIDInceptionA(192, 32), _FIDInceptionA(256, 64),
                                                    _FIDInceptionA(288, 64))
        net.Mixed_6b, net.Mixed_6c = _FIDInceptionC(768, 128), _FIDInceptionC(768, 160)
        net.Mixed_6d, net.Mixed_6e = _FIDInceptionC(768, 160), _FIDInceptionC(768, 192)
        net.Mixed_7b, net.Mixed_7c = _FIDInceptionE(1280, max_pool=False), _FIDInceptionE(2048, max_pool=True)
        self.net = net

    @torch.inference_mode()
    def forward(self, images: torch.Tensor) -> torch.Tensor:
        n = self.net
        x = F.interpolate(images.float(), size=(299, 299), mode="bilinear", align_corners=False) * 2.0 - 1.0
        for layer in (n.Conv2d_1a_3x3, n.Conv2d_2a_3x3, n.Conv2d_2b_3x3, n.maxpool1, n.Conv2d_3b_1x1,
                      n.Conv2d_4a_3x3, n.maxpool2, n.Mixed_5b, n.Mixed_5c, n.Mixed_5d, n.Mixed_6a, n.Mixed_6b,
                      n.Mixed_6c, n.Mixed_6d, n.Mixed_6e, n.Mixed_7a, n.Mixed_7b, n.Mixed_7c):
            x = layer(x)
        return x.mean(dim=(2, 3))


def load_fid_inception(path: str | Path | None = None, device: str | torch.device = "cpu") -> FIDInception:
    """The FID Inception with weights from ``path`` or, by default, ``weights.require("inception_fid")``
    (MissingWeightsError with the places looked at and how to get the file when it is absent)."""
    if path is None:
        from stngan.weights import require

        path = require("inception_fid")
    model = FIDInception()
    load_exact(model.net, read_state_dict(path), path)  # the file's keys are those of the inner Inception3
    return model.eval().to(device)
