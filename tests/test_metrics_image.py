"""PSNR, SSIM / MS-SSIM and TV on hand-made images with known values and against independent implementations."""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from skimage import data as skdata
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from stngan.metrics import MSSSIMConfig, ms_ssim, psnr, ssim, to_unit_float, total_variation


@pytest.fixture(scope="module")
def faces() -> torch.Tensor:
    """Two real 128x128 crops (astronaut's face, coffee) as (2, 3, 128, 128) float in [0, 1]."""
    a = skdata.astronaut()[60:188, 160:288]
    b = skdata.coffee()[100:228, 200:328]
    return to_unit_float(np.stack([a, b]))


def test_psnr_identical_is_inf(faces):
    assert torch.isinf(psnr(faces, faces)).all()


def test_psnr_known_noise():
    x = torch.full((1, 3, 16, 16), 0.5, dtype=torch.float64)
    sign = torch.ones_like(x)
    sign[..., ::2, :] = -1
    assert psnr(x, x + 0.01 * sign).item() == pytest.approx(40.0, abs=1e-9)  # MSE 1e-4


def test_psnr_matches_skimage_on_uint8_noise(faces):
    rng = np.random.default_rng(0)
    x = (faces[0].permute(1, 2, 0).numpy() * 255).round().astype(np.uint8)
    y = np.clip(x.astype(int) + rng.integers(-20, 21, x.shape), 0, 255).astype(np.uint8)
    ours = psnr(to_unit_float(x[None]), to_unit_float(y[None])).item()
    assert ours == pytest.approx(peak_signal_noise_ratio(x, y, data_range=255), abs=1e-9)


def test_psnr_masked_uses_only_the_region():
    x = torch.zeros(1, 3, 8, 8, dtype=torch.float64)
    y = x.clone()
    y[..., :4, :] = 0.1  # error only in the top half
    top = torch.zeros(1, 1, 8, 8)
    top[..., :4, :] = 1
    assert psnr(x, y, top).item() == pytest.approx(20.0)
    assert psnr(x, y).item() == pytest.approx(20.0 + 10 * math.log10(2))
    assert torch.isinf(psnr(x, y, 1 - top)).all()


def test_psnr_bad_input():
    x = torch.zeros(1, 3, 8, 8)
    with pytest.raises(ValueError, match="no pixel"):
        psnr(x, x, torch.zeros(1, 1, 8, 8))
    with pytest.raises(ValueError, match="same shape"):
        psnr(x, torch.zeros(1, 3, 8, 9))


def test_ms_ssim_identical_is_one(faces):
    assert ms_ssim(faces, faces).numpy() == pytest.approx([1.0, 1.0], abs=1e-12)


def test_ms_ssim_agrees_with_pytorch_msssim(faces):
    from pytorch_msssim import ms_ssim as reference

    g = torch.Generator().manual_seed(0)
    for sigma in (0.02, 0.1, 0.3):
        y = (faces + sigma * torch.randn(faces.shape, generator=g, dtype=torch.float64)).clamp(0, 1)
        ref = reference(faces.float(), y.float(), data_range=1.0, win_size=7, size_average=False).double()
        assert (ms_ssim(faces, y) - ref).abs().max().item() < 1e-4


def test_ssim_agrees_with_skimage(faces):
    y = (faces + 0.05 * torch.randn(faces.shape, generator=torch.Generator().manual_seed(1), dtype=torch.float64)).clamp(0, 1)
    ours = ssim(faces[:1], y[:1], MSSSIMConfig(win_size=11)).item()  # skimage's Gaussian window is 11 px at sigma 1.5
    ref = structural_similarity(faces[0].permute(1, 2, 0).numpy(), y[0].permute(1, 2, 0).numpy(), data_range=1.0,
                                gaussian_weights=True, sigma=1.5, use_sample_covariance=False, channel_axis=2)
    assert ours == pytest.approx(ref, abs=1e-6)


def test_ms_ssim_rejects_too_small_images():
    assert MSSSIMConfig().min_side == 97
    x = torch.rand(1, 3, 96, 96)
    with pytest.raises(ValueError, match="at least 97 px"):
        ms_ssim(x, x)
    with pytest.raises(ValueError, match="odd"):
        MSSSIMConfig(win_size=8)


def test_tv_known_values():
    flat = torch.full((1, 3, 10, 10), 0.3, dtype=torch.float64)
    stripes = torch.zeros(1, 3, 10, 10, dtype=torch.float64)
    stripes[..., 1::2] = 1.0  # vertical stripes: every horizontal step is 255 levels
    ramp = (torch.arange(10, dtype=torch.float64) / 255.0).expand(1, 3, 10, 10)  # +1 level per column
    assert total_variation(flat).item() == 0.0
    assert total_variation(stripes).item() == pytest.approx(255.0)
    assert total_variation(ramp).item() == pytest.approx(1.0)
    assert total_variation(ramp.transpose(2, 3)).item() == pytest.approx(1.0)


def test_to_unit_float_checks_layout():
    with pytest.raises(ValueError, match=r"\(N, H, W, 3\)"):
        to_unit_float(np.zeros((2, 3, 8, 8), np.uint8))
