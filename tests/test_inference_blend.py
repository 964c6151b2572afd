"""Poisson blending of the fill: exact outside the mask, the right linear system inside, colour bias removed."""
import cv2
import numpy as np
import pytest
import torch

from stngan.inference import blend
from stngan.inference.blend import poisson_blend


@pytest.fixture(params=["whole window", "unknowns only"])
def solver(request, monkeypatch):
    """Both CG paths (the window's fraction of unknowns picks one): each must solve the same system."""
    monkeypatch.setattr(blend, "SPARSE_BELOW", 0.0 if request.param == "whole window" else 1.0)
    return request.param


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


def test_matches_a_dense_solve_of_the_system_including_the_crop_border(solver):
    g = torch.Generator().manual_seed(0)
    real = torch.rand(1, 1, 16, 16, generator=g) - 0.5
    fill = torch.rand(1, 1, 16, 16, generator=g) * 0.4
    mask = torch.maximum(_disc(16, 5, 6, 3.5), _disc(16, 14, 9, 3))  # the second disc touches the border
    out = poisson_blend(fill, real, mask)
    want = _dense_solution(fill[0, 0].double().numpy(), real[0, 0].double().numpy(), mask[0, 0].bool().numpy())
    np.testing.assert_allclose(out[0, 0].numpy(), want, atol=2e-4)  # float32 CG: 0.03 grey levels


def test_both_solvers_agree_on_several_crops_and_channels_one_without_a_mask(monkeypatch):
    g = torch.Generator().manual_seed(5)
    real = torch.rand(3, 3, 20, 20, generator=g) * 2 - 1
    fill = torch.rand(3, 3, 20, 20, generator=g) * 2 - 1
    mask = torch.cat([_disc(20, 6, 7, 4), torch.zeros(1, 1, 20, 20), _disc(20, 12, 10, 6) - _disc(20, 12, 10, 3)])
    outs = {}
    for name, below in (("whole window", 0.0), ("unknowns only", 1.0)):
        monkeypatch.setattr(blend, "SPARSE_BELOW", below)
        outs[name] = poisson_blend(fill, real, mask)
    np.testing.assert_allclose(outs["whole window"].numpy(), outs["unknowns only"].numpy(), atol=2e-4)
    assert torch.equal(outs["unknowns only"][1], real[1])


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


def test_kept_pixels_stay_and_their_gradient_carries_across(solver):
    g = torch.Generator().manual_seed(3)
    real = torch.rand(1, 1, 24, 24, generator=g)
    fill = torch.rand(1, 1, 24, 24, generator=g)
    ring, core = _disc(24, 12, 12, 9), _disc(24, 12, 12, 5)
    band = ring - core
    out = poisson_blend(fill, torch.where(core > 0, fill, real), band, keep=core)
    assert torch.equal(out[core > 0], fill[core > 0])  # kept as painted
    assert torch.equal(out[ring == 0], real[ring == 0])
    # with the core kept, the band equals the full solve where the core's own correction is zero, i.e. the
    # band's system with h = 0 on the core: check against the dense solve of that system
    want = _dense_solution_with_kept(fill[0, 0].double().numpy(), real[0, 0].double().numpy(),
                                     band[0, 0].bool().numpy(), core[0, 0].bool().numpy())
    np.testing.assert_allclose(out[0, 0].numpy(), want, atol=2e-4)


def _dense_solution_with_kept(fill, real, band, kept):
    s = band.shape[0]
    inside = [(y, x) for y in range(s) for x in range(s) if band[y, x]]
    index = {p: k for k, p in enumerate(inside)}
    a, b = np.zeros((len(inside), len(inside))), np.zeros(len(inside))
    for k, (y, x) in enumerate(inside):
        for qy, qx in ((y - 1, x), (y + 1, x), (y, x - 1), (y, x + 1)):
            if 0 <= qy < s and 0 <= qx < s:
                a[k, k] += 1
                if band[qy, qx]:
                    a[k, index[(qy, qx)]] -= 1
                elif not kept[qy, qx]:
                    b[k] += real[qy, qx] - fill[y, x]
    h = np.linalg.solve(a, b)
    out = np.where(kept, fill, real)
    for k, (y, x) in enumerate(inside):
        out[y, x] = fill[y, x] + h[k]
    return out


def test_frame_pass_removes_the_seam_of_an_upsampled_fill_and_touches_only_the_band():
    from stngan.inference.crops import EDGE_BAND_PX, blend_in_frame

    yy, xx = np.mgrid[:120, :160]
    skin = np.stack([120 + 0.3 * xx, 90 + 0.2 * yy, 70 + 0 * xx], axis=2).astype(np.uint8)
    mask = np.zeros((120, 160), np.uint8)
    cv2.circle(mask, (80, 60), 30, 1, -1)
    pasted = skin.copy()
    pasted[mask > 0] = np.clip(skin[mask > 0].astype(int) + (12, -8, 5), 0, 255)  # a colour step at the edge
    out = blend_in_frame(pasted, mask)
    assert np.array_equal(out[mask == 0], skin[mask == 0])
    depth = cv2.distanceTransform(mask, cv2.DIST_L2, 3)
    assert np.array_equal(out[depth > EDGE_BAND_PX + 1], pasted[depth > EDGE_BAND_PX + 1])
    edge = (mask > 0) & (depth <= 1.5)
    before = np.abs(pasted[edge].astype(int) - skin[edge]).mean()
    after = np.abs(out[edge].astype(int) - skin[edge]).mean()
    assert before > 7 and after < 1.5, (before, after)
