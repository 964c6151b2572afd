"""SSIM and multi-scale SSIM (Wang et al. 2003) in a configuration valid for 128-px face crops.

The usual 5-scale MS-SSIM with an 11-px window needs images larger than 160 px (the window must still fit
after four 2x down-samplings). At 128 px we keep the 5 scales and their standard weights and use a 7-px
Gaussian window (sigma 1.5), which needs a side above (7 - 1) * 2^4 = 96 px. Conventions (those of
pytorch-msssim, so results agree with ``pytorch_msssim.ms_ssim(..., win_size=7)``): separable Gaussian
filter without padding ("valid"), population (co)variances, K1 = 0.01, K2 = 0.03, 2x2 average pooling
between scales (zero padding on odd sides), negative contrast-structure terms clipped at 0, per-channel
values averaged. MS-SSIM filters in float32 (float64 depthwise convolution is ~10x slower on CPU; the
values agree with float64 to ~1e-6) and combines the scales in float64.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from stngan.metrics.images import check_pair

STANDARD_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)


@dataclass(frozen=True)
class MSSSIMConfig:
    """Window, scales and constants of MS-SSIM; the defaults are the project's 128-px configuration."""

    win_size: int = 7
    sigma: float = 1.5
    weights: tuple[float, ...] = STANDARD_WEIGHTS
    k1: float = 0.01
    k2: float = 0.03
    data_range: float = 1.0

    def __post_init__(self) -> None:
        if self.win_size < 3 or self.win_size % 2 == 0:
            raise ValueError(f"win_size must be odd and >= 3, got {self.win_size}")

    @property
    def min_side(self) -> int:
        """Smallest image side this configuration accepts."""
        return (self.win_size - 1) * 2 ** (len(self.weights) - 1) + 1


def gaussian_window(size: int, sigma: float) -> torch.Tensor:
    """(size,) float64 normalised 1-D Gaussian centred on the middle tap."""
    coords = torch.arange(size, dtype=torch.float64) - size // 2
    g = torch.exp(-(coords**2) / (2.0 * sigma**2))
    return g / g.sum()


def _blur(img: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Separable 'valid' Gaussian filter of (N, C, H, W) -> (N, C, H - k + 1, W - k + 1)."""
    c = img.shape[1]
    out = F.conv2d(img, g.view(1, 1, 1, -1).expand(c, 1, 1, -1), groups=c)
    return F.conv2d(out, g.view(1, 1, -1, 1).expand(c, 1, -1, 1), groups=c)


def _ssim_terms(x: torch.Tensor, y: torch.Tensor, g: torch.Tensor, cfg: MSSSIMConfig) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean SSIM and mean contrast-structure term per image and channel: two (N, C) tensors."""
    c1, c2 = (cfg.k1 * cfg.data_range) ** 2, (cfg.k2 * cfg.data_range) ** 2
    mx, my = _blur(x, g), _blur(y, g)
    vx, vy = _blur(x * x, g) - mx * mx, _blur(y * y, g) - my * my
    cov = _blur(x * y, g) - mx * my
    cs = (2.0 * cov + c2) / (vx + vy + c2)
    luminance = (2.0 * mx * my + c1) / (mx * mx + my * my + c1)
    return (luminance * cs).mean(dim=(2, 3)), cs.mean(dim=(2, 3))


def ssim(x: torch.Tensor, y: torch.Tensor, cfg: MSSSIMConfig = MSSSIMConfig()) -> torch.Tensor:
    """Single-scale SSIM per image (N,) float64 with ``cfg``'s window and constants; x, y (N, C, H, W)."""
    x, y = check_pair(x, y)
    if min(x.shape[2:]) < cfg.win_size:
        raise ValueError(f"images must be at least {cfg.win_size} px for a {cfg.win_size}-px window")
    return _ssim_terms(x, y, gaussian_window(cfg.win_size, cfg.sigma), cfg)[0].mean(dim=1)


def ms_ssim(x: torch.Tensor, y: torch.Tensor, cfg: MSSSIMConfig = MSSSIMConfig()) -> torch.Tensor:
    """MS-SSIM per image (N,) float64: prod_{s<S} cs_s^{w_s} * ssim_S^{w_S}, averaged over channels.

    x, y: (N, C, H, W) float in [0, cfg.data_range], sides at least ``cfg.min_side`` (97 px by default).
    """
    x, y = (t.float() for t in check_pair(x, y))
    if min(x.shape[2:]) < cfg.min_side:
        raise ValueError(f"MS-SSIM with {len(cfg.weights)} scales and a {cfg.win_size}-px window needs sides of "
                         f"at least {cfg.min_side} px, got {tuple(x.shape[2:])}")
    g = gaussian_window(cfg.win_size, cfg.sigma).float()
    terms = []
    for level in range(len(cfg.weights)):
        s, cs = _ssim_terms(x, y, g, cfg)
        if level == len(cfg.weights) - 1:
            terms.append(torch.relu(s))
            break
        terms.append(torch.relu(cs))
        pad = [side % 2 for side in x.shape[2:]]
        x, y = F.avg_pool2d(x, 2, padding=pad), F.avg_pool2d(y, 2, padding=pad)
    w = torch.tensor(cfg.weights, dtype=torch.float64).view(-1, 1, 1)
    return torch.prod(torch.stack(terms).double() ** w, dim=0).mean(dim=1)
