"""Peak signal-to-noise ratio, over the whole image or over a region."""
from __future__ import annotations

import torch

from stngan.metrics.images import check_pair, check_region


def psnr(x: torch.Tensor, y: torch.Tensor, mask: torch.Tensor | None = None, data_range: float = 1.0) -> torch.Tensor:
    """Per-image PSNR (N,) float64 in dB: ``10 log10(data_range^2 / MSE)``; identical images give +inf.

    x, y: (N, C, H, W) float. Without ``mask`` the MSE averages every channel of every pixel; with a
    (N, 1, H, W) {0, 1} mask it averages only the pixels where mask = 1 (all channels). An image whose
    mask selects no pixel is an error.
    """
    x, y = check_pair(x, y)
    sq = (x - y) ** 2
    if mask is None:
        mse = sq.mean(dim=(1, 2, 3))
    else:
        m = check_region(mask, x)
        count = m.sum(dim=(1, 2, 3)) * x.shape[1]
        empty = torch.nonzero(count == 0).flatten()
        if len(empty):
            raise ValueError(f"mask selects no pixel in image {int(empty[0])}")
        mse = (sq * m).sum(dim=(1, 2, 3)) / count
    return 10.0 * torch.log10(data_range**2 / mse)  # mse == 0 -> +inf
