import math

import torch

from stngan.models.discriminator import (DualDiscriminator, GlobalDiscriminator, LocalDiscriminator, crop_boxes,
                                         mask_boxes)


def _circle_masks(b: int, size: int, seed: int) -> torch.Tensor:
    """Unions of 1–3 random circles, some touching or crossing the border."""
    g = torch.Generator().manual_seed(seed)
    yy, xx = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    masks = torch.zeros(b, 1, size, size)
    for i in range(b):
        for _ in range(int(torch.randint(1, 4, (1,), generator=g))):
            cy, cx = (torch.rand(2, generator=g) * size).tolist()
            r = 3 + float(torch.rand(1, generator=g)) * size / 3
            masks[i, 0] += (((yy - cy) ** 2 + (xx - cx) ** 2) <= r * r).float()
    return masks.clamp(max=1)


def test_paper_width_shapes():
    torch.manual_seed(0)
    img = torch.rand(2, 3, 128, 128) * 2 - 1
    mask = _circle_masks(2, 128, seed=0)
    dual = DualDiscriminator(GlobalDiscriminator(64, 6), LocalDiscriminator(64, 5, crop=64))
    g_out, l_out = dual.global_d(img, mask), dual.local_d(img, mask)
    assert g_out.shape == (2, 1, 2, 2) and l_out.shape == (2, 1, 2, 2)
    out = dual(img, mask)
    assert out.shape == (2, 8)
    torch.testing.assert_close(out, torch.cat([g_out.flatten(1), l_out.flatten(1)], dim=1))


def test_run_split_equals_forward():
    d = LocalDiscriminator(width=8, n_layers=5, crop=64)
    img, mask = torch.randn(2, 3, 128, 128), _circle_masks(2, 128, seed=1)
    h = d.prepare(img, mask)
    assert h.shape == (2, 3, 64, 64)
    for i in range(len(d.layers)):
        assert h.shape[1] == d.channels_before(i)
        h = d.run(h, i, i + 1)
    torch.testing.assert_close(h, d(img, mask))


def test_boxes_contain_mask_plus_margin_and_stay_square_inside():
    size, margin = 128, 8
    masks = _circle_masks(64, size, seed=2)
    boxes = mask_boxes(masks, margin)
    for m, (top, left, side) in zip(masks, boxes.tolist()):
        assert 0 <= top and 0 <= left and top + side <= size and left + side <= size
        ys, xs = torch.nonzero(m[0] > 0.5, as_tuple=True)
        want_top, want_left = max(0, int(ys.min()) - margin), max(0, int(xs.min()) - margin)
        want_bottom, want_right = min(size, int(ys.max()) + 1 + margin), min(size, int(xs.max()) + 1 + margin)
        assert top <= want_top and left <= want_left
        assert top + side >= want_bottom and left + side >= want_right


def test_empty_mask_box_is_whole_image():
    assert mask_boxes(torch.zeros(1, 1, 128, 128)).tolist() == [[0, 0, 128]]


def test_crop_at_native_size_reproduces_pixels():
    img = torch.randn(1, 3, 128, 128)
    boxes = torch.tensor([[10, 37, 64]])
    torch.testing.assert_close(crop_boxes(img, boxes, 64), img[:, :, 10:74, 37:101], atol=1e-5, rtol=0)


def test_local_gradient_reaches_image_inside_box_only():
    # bilinear upsampling of a box smaller than the crop blends its edge with the next pixel out
    d = LocalDiscriminator(width=8)
    mask = torch.zeros(1, 1, 128, 128)
    mask[..., 50:70, 40:60] = 1
    img = torch.randn(1, 3, 128, 128, requires_grad=True)
    d(img, mask).sum().backward()
    top, left, side = mask_boxes(mask)[0].tolist()
    inside = torch.zeros(128, 128, dtype=torch.bool)
    inside[top - 1:top + side + 1, left - 1:left + side + 1] = True
    assert img.grad[..., inside].abs().sum() > 0
    assert img.grad[..., ~inside].abs().sum() == 0


def test_local_resamples_large_regions():
    d = LocalDiscriminator(width=8, crop=32)
    mask = torch.zeros(2, 1, 128, 128)
    mask[..., 10:120, 30:40] = 1
    assert mask_boxes(mask)[0, 2] == 126
    assert d.prepare(torch.randn(2, 3, 128, 128), mask).shape == (2, 3, 32, 32)
    assert math.prod(d(torch.randn(2, 3, 128, 128), mask).shape) == 2
