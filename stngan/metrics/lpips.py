"""LPIPS (Zhang et al. 2018, AlexNet variant, v0.1 linear layers), loaded from local files only.

Two files are needed: torchvision's AlexNet ``alexnet-owt-7be5be79.pth`` (backbone) and the LPIPS linear
layers ``alex.pth`` of the ``lpips`` package (weights/v0.1/alex.pth; accepted as ``lpips_alex_v0.1.pth``
too). They are looked for in ``$STNGAN_WEIGHTS``, torch hub's checkpoint folder and an installed ``lpips``
package; nothing is downloaded. The distance follows the reference implementation: inputs scaled to
[-1, 1] then shifted/scaled per channel, unit-normalised features of relu1..relu5, squared differences
weighted by the linear layers, spatial means summed over layers.
"""
from __future__ import annotations

from pathlib import Path

import torch
import torchvision
from torch import nn

from stngan import weights
from stngan.metrics.netload import load_exact, read_state_dict

_SLICES = ((0, 2), (2, 5), (5, 8), (8, 10), (10, 12))  # AlexNet.features up to relu1 .. relu5
_CHANNELS = (64, 192, 384, 256, 256)
_SHIFT = (-0.030, -0.088, -0.188)
_SCALE = (0.458, 0.448, 0.450)


class LPIPS(nn.Module):
    """forward(x, y): (N, 3, H, W) float in [0, 1] each -> (N,) float32 distances (0 for identical images)."""

    def __init__(self) -> None:
        super().__init__()
        self.features = torchvision.models.alexnet(weights=None).features
        self.lins = nn.ModuleList(nn.Conv2d(c, 1, 1, bias=False) for c in _CHANNELS)
        self.register_buffer("shift", torch.tensor(_SHIFT).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("scale", torch.tensor(_SCALE).view(1, 3, 1, 1), persistent=False)

    def _activations(self, x: torch.Tensor) -> list[torch.Tensor]:
        h = ((x.float() * 2.0 - 1.0) - self.shift) / self.scale
        out = []
        for a, b in _SLICES:
            h = self.features[a:b](h)
            out.append(h / (h.pow(2).sum(dim=1, keepdim=True).sqrt() + 1e-10))
        return out

    @torch.inference_mode()
    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        if x.shape != y.shape or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"LPIPS needs two (N, 3, H, W) batches of one shape, got {tuple(x.shape)}, {tuple(y.shape)}")
        total = torch.zeros(x.shape[0], device=x.device)
        for lin, fx, fy in zip(self.lins, self._activations(x), self._activations(y)):
            total += lin((fx - fy) ** 2).mean(dim=(1, 2, 3))
        return total


def find_lpips_files() -> tuple[Path, Path] | None:
    """(backbone, linear layers) paths when both are present locally (stngan.weights' lookup), else None."""
    backbone, linear = weights.find("lpips_alexnet"), weights.find("lpips_linear")
    return (backbone, linear) if backbone and linear else None


def require_lpips_files() -> tuple[Path, Path]:
    """Like :func:`find_lpips_files` but MissingWeightsError (one line: what, where looked) when absent."""
    return weights.require("lpips_alexnet"), weights.require("lpips_linear")


def load_lpips(backbone: str | Path, linear: str | Path, device: str | torch.device = "cpu") -> LPIPS:
    """LPIPS from the AlexNet state dict (``features.*`` keys used) and the lpips linear-layer state dict."""
    model = LPIPS()
    features = {k[len("features."):]: v for k, v in read_state_dict(backbone).items() if k.startswith("features.")}
    load_exact(model.features, features, backbone)
    lins = {f"{k}.weight": v for k in range(len(_CHANNELS))
            for name, v in read_state_dict(linear).items() if name == f"lin{k}.model.1.weight"}
    load_exact(model.lins, lins, linear)
    return model.eval().to(device)
