"""Poisson blending of the fill: exact outside the mask, the right linear system inside, colour bias removed."""
import numpy as np
import pytest
import torch

from stngan.inference.blend import poisson_blend


def _disc(size: int, cx: float, cy: float, r: float) -> torch.Tensor:
    yy, xx = np.mgrid[:size, :size]
    return torch.from_numpy(((xx - cx) ** 2 + (yy - cy) ** 2 <= r * r).astype(np.float32))[None, None]


def _dense_solution(fill: np.ndarray, real: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """The module doc's linear system for one channel, assembled and solved densely."""
    s = mask.shape[0]
    inside = [(y, x) for y in range(s) for x in range(s) if mask[y, x]]
    index = {p: k for k, p in enumerate(inside)}
    a = np.zeros((len(inside), len(inside)))
    b = np.zeros(len(inside))
    for k, (y, x) in enumerate(inside):
        for qy, qx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if not (0 <= qy < s and 0 <= qx < s):
                continue
            a[k, k] += 1
            if mask[qy, qx]:
                a[k, index[(qy, qx)]] -= 1
            else:
                b[k] += real[qy, qx] - fill[y, x]
    h = np.linalg.solve(a, b)
    out = real.copy()
    for k, (y, x) in enumerate(inside):
        out[y, x] = fill[y, x] + h[k]
    return out


def test_matches_a_dense_solve_of_the_system_including_the_crop_border():
    g = torch.Generator().manual_seed(0)
    real = torch.rand(1, 1, 16, 16, generator=g) - 0.5
    fill = torch.rand(1, 1, 16, 16, generator=g) * 0.4
    mask = torch.maximum(_disc(16, 5, 6, 3.5), _disc(16, 14, 9, 3))  # the second disc touches the border
    out = poisson_blend(fill, real, mask)
    want = _dense_solution(fill[0, 0].double().numpy(), real[0, 0].double().numpy(), mask[0, 0].bool().numpy())
    np.testing.assert_allclose(out[0, 0].numpy(), want, atol=2e-4)  # float32 CG: 0.03 grey levels


def test_outside_the_mask_is_the_real_crop_bit_for_bit():
    g = torch.Generator().manual_seed(1)
    real = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    fill = torch.rand(2, 3, 32, 32, generator=g) * 2 - 1
    mask = _disc(32, 16, 16, 7).expand(2, 1, 32, 32)
    out = poisson_blend(fill, real, mask)
    assert torch.equal(out[mask.expand_as(out) == 0], real[mask.expand_as(real) == 0])
    assert out.abs().max() <= 1


def test_a_constant_colour_bias_of_the_fill_is_removed_and_its_structure_kept():
    size = 48
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    skin = torch.stack([0.3 + 0.004 * xx, 0.1 + 0.002 * yy, -0.1 + 0 * xx]).float()[None]  # a smooth gradient
    eye = 0.3 * _disc(size, 24, 24, 3)[0]  # structure the model paints inside the mask
    mask = _disc(size, 24, 24, 9)
    fill = skin + torch.tensor([0.25, 0.15, -0.05]).view(1, 3, 1, 1) - eye  # orange cast + a dark eye
    out = poisson_blend(fill, skin, mask)
    inside = mask.expand_as(out) > 0
    # within 0.6 grey levels: pairs across the edge carry no guidance, so the skin's own ramp is lost there
    np.testing.assert_allclose(out[inside].numpy(), (skin - eye)[inside].numpy(), atol=5e-3)
    assert (out - skin)[inside].abs().mean() > 0.02  # the eye stays


def test_no_mask_and_full_mask_leave_nothing_to_solve():
    real = torch.rand(1, 3, 8, 8) - 0.5
    fill = torch.rand(1, 3, 8, 8) - 0.5
    assert torch.equal(poisson_blend(fill, real, torch.zeros(1, 1, 8, 8)), real)
    full = poisson_blend(fill, real, torch.ones(1, 1, 8, 8))  # no visible pixel: the fill as painted
    np.testing.assert_allclose(full.numpy(), fill.numpy(), atol=1e-6)


def test_shape_mismatch_is_refused():
    with pytest.raises(AssertionError):
        poisson_blend(torch.zeros(1, 3, 8, 8), torch.zeros(1, 3, 8, 9), torch.zeros(1, 1, 8, 8))
