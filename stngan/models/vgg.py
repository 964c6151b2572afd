"""Frozen VGG-16 feature extractor for the perceptual loss (paper Eq. 2) and the PartialConv losses."""
from __future__ import annotations

from typing import Literal

import torch
from torch import nn
from torchvision.models.vgg import cfgs, make_layers

from stngan.weights import require

# torchvision vgg16().features indices: pool1 = 4, pool2 = 9, pool3 = 16; config "D" up to pool3
_POOL_ENDS = (5, 10, 17)
_CFG_TO_POOL3 = cfgs["D"][:10]
_IMAGENET_MEAN = (0.485, 0.456, 0.406)
_IMAGENET_STD = (0.229, 0.224, 0.225)


def _imagenet_features_state(path: str) -> dict[str, torch.Tensor]:
    """The ``features.*`` tensors up to pool3 from torchvision's vgg16-397923af.pth (rest ignored)."""
    full = torch.load(path, map_location="cpu", weights_only=True)
    prefix = "features."
    return {k[len(prefix):]: v for k, v in full.items()
            if k.startswith(prefix) and int(k[len(prefix):].split(".")[0]) < _POOL_ENDS[-1]}


class VGG16Features(nn.Module):
    """x (B,3,H,W) in [−1,1] → [pool1 (B,64,H/2,W/2), pool2 (B,128,H/4,W/4), pool3 (B,256,H/8,W/8)].

    weights="imagenet" loads torchvision's ImageNet file found by ``stngan.weights.require("vgg16")``
    (MissingWeightsError if absent); weights="random" needs an explicit seed and never happens
    implicitly. Parameters are frozen and the module stays in eval mode; gradients still flow to x.
    """

    def __init__(self, weights: Literal["imagenet", "random"] = "imagenet", seed: int | None = None) -> None:
        super().__init__()
        if weights == "random":
            if seed is None:
                raise ValueError('VGG16Features(weights="random") needs an explicit seed')
            with torch.random.fork_rng(devices=[]):
                torch.manual_seed(seed)
                features = make_layers(_CFG_TO_POOL3)
                for m in features.modules():
                    if isinstance(m, nn.Conv2d):  # torchvision's VGG init
                        nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                        nn.init.zeros_(m.bias)
        elif weights == "imagenet":
            features = make_layers(_CFG_TO_POOL3)
            features.load_state_dict(_imagenet_features_state(str(require("vgg16"))), strict=True)
        else:
            raise ValueError(f'weights must be "imagenet" or "random", got {weights!r}')
        starts = (0,) + _POOL_ENDS[:-1]
        self.slices = nn.ModuleList(features[a:b] for a, b in zip(starts, _POOL_ENDS))
        self.register_buffer("mean", torch.tensor(_IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(_IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG16Features":
        return super().train(False)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        if x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"VGG16Features expects (B, 3, H, W), got {tuple(x.shape)}")
        h = ((x + 1) / 2 - self.mean) / self.std
        outs = []
        for block in self.slices:
            h = block(h)
            outs.append(h)
        return outs
