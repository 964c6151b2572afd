import pytest
import torch
import torch.nn.functional as F

from stngan.models.partialconv import PartialConv2d, PConvUNet


def _conv(bias: bool = True, padding: int = 1) -> PartialConv2d:
    torch.manual_seed(0)
    return PartialConv2d(4, 5, 3, 1, padding, bias=bias)


def test_all_hole_window_gives_zero_and_closes_mask():
    conv = _conv()
    x = torch.randn(1, 4, 12, 12)
    valid = torch.ones(1, 1, 12, 12)
    valid[..., 3:9, 3:9] = 0
    out, new_valid = conv(x, valid)
    # rows/cols 4..7 see only holes through the 3×3 window: Liu et al. Eq. 1 gives 0 there (not the bias)
    assert torch.all(new_valid[..., 4:8, 4:8] == 0)
    assert torch.all(out[..., 4:8, 4:8] == 0)
    assert torch.all(new_valid[..., 3, 3:9] == 1)


def test_partially_valid_window_is_renormalised_and_bias_not_scaled():
    conv = _conv()
    x = torch.randn(1, 4, 12, 12)
    valid = torch.ones(1, 1, 12, 12)
    valid[..., 3:9, 3:9] = 0
    out, _ = conv(x, valid)
    i, j = 3, 3  # window rows/cols 2..4: 5 of 9 pixels valid
    patch = (x * valid)[0, :, i - 1:i + 2, j - 1:j + 2]
    n_valid = valid[0, 0, i - 1:i + 2, j - 1:j + 2].sum()
    want = (conv.weight * patch).sum(dim=(1, 2, 3)) * 9 / n_valid + conv.bias
    assert n_valid == 5
    torch.testing.assert_close(out[0, :, i, j], want)


def test_all_valid_equals_plain_conv():
    conv = _conv(padding=0)
    x = torch.randn(2, 4, 10, 10)
    out, new_valid = conv(x, torch.ones(2, 1, 10, 10))
    torch.testing.assert_close(out, F.conv2d(x, conv.weight, conv.bias))
    assert torch.all(new_valid == 1)
    # with zero padding the border counts as hole (Liu's padding scheme); the interior is a plain conv
    padded = _conv(padding=1)
    out, _ = padded(x, torch.ones(2, 1, 10, 10))
    torch.testing.assert_close(out[..., 1:-1, 1:-1], F.conv2d(x, padded.weight, padded.bias, padding=1)[..., 1:-1, 1:-1])


@pytest.mark.parametrize("bias", [True, False])
def test_single_channel_mask_equals_replicated_mask(bias):
    conv = _conv(bias)
    x = torch.randn(2, 4, 12, 12)
    valid = (torch.rand(2, 1, 12, 12) > 0.5).float()
    out1, m1 = conv(x, valid)
    out4, m4 = conv(x, valid.expand(2, 4, 12, 12))
    torch.testing.assert_close(out1, out4)
    assert torch.equal(m1, m4)


def test_per_channel_mask_counts_channels():
    conv = _conv(padding=0)
    x = torch.randn(1, 4, 3, 3)
    valid = torch.zeros(1, 4, 3, 3)
    valid[:, 1] = 1  # one channel of four valid: ratio 4
    out, m = conv(x, valid)
    want = (conv.weight[:, 1] * x[0, 1]).sum(dim=(1, 2)) * 4 + conv.bias
    torch.testing.assert_close(out[0, :, 0, 0], want)
    assert m.shape == (1, 1, 1, 1) and m.item() == 1


def test_bf16_autocast_keeps_mask_exact():
    conv = PartialConv2d(64, 8, 3, 1, 1)
    x = torch.randn(1, 64, 8, 8)
    valid = (torch.rand(1, 64, 8, 8) > 0.3).float()
    want, want_mask = conv(x, valid)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        out, new_mask = conv(x, valid)
    assert torch.equal(new_mask.float(), want_mask)
    torch.testing.assert_close(out.float(), want, atol=0.05, rtol=0.05)


def test_unet_shape_and_independence_from_hole_pixels():
    torch.manual_seed(0)
    net = PConvUNet().eval()
    img = torch.rand(2, 3, 128, 128) * 2 - 1
    mask = torch.zeros(2, 1, 128, 128)
    mask[..., 30:90, 20:100] = 1
    out = net(img, mask)
    assert out.shape == (2, 3, 128, 128)
    scrambled = torch.where(mask > 0, torch.randn_like(img), img)
    torch.testing.assert_close(net(scrambled, mask), out)
    with pytest.raises(ValueError, match="multiples of 128"):
        net(img[..., :96, :96], mask[..., :96, :96])
