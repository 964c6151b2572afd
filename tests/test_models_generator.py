import pytest
import torch

from stngan.models.blocks import ResidualBlock
from stngan.models.generator import Generator, background_copy


def _inputs(b: int = 2, size: int = 128, cond: int = 5, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(b, 1, size, size)
    mask[:, :, size // 4: size // 2, size // 4: 3 * size // 4] = 1
    c = torch.rand(b, cond, size, size, generator=g) if cond else None
    return x * (1 - mask), mask, c


def test_paper_width_shape_and_range():
    torch.manual_seed(0)
    G = Generator(cond_channels=5)
    raw = G(*_inputs())
    assert raw.shape == (2, 3, 128, 128)
    assert raw.abs().max() <= 1


def test_param_count_matches_stargan():
    n = sum(p.numel() for p in Generator(cond_channels=5, width=64, n_res=6).parameters())
    assert n == pytest.approx(8.4e6, rel=0.02)


def test_no_landmarks_takes_cond_none():
    G = Generator(cond_channels=0, width=8, n_res=1)
    x_hat, mask, cond = _inputs(size=32, cond=0)
    assert cond is None
    assert G(x_hat, mask).shape == (2, 3, 32, 32)


def test_shape_checks():
    G = Generator(cond_channels=5, width=8, n_res=1)
    x_hat, mask, cond = _inputs(size=32)
    with pytest.raises(ValueError, match="cond"):
        G(x_hat, mask)
    with pytest.raises(ValueError, match="mask"):
        G(x_hat, mask[:, :, :16], cond)
    with pytest.raises(ValueError, match="cond"):
        G(x_hat, mask, cond[:, :3])


def test_flat_layers_run_and_channels_before():
    G = Generator(cond_channels=5, width=8, n_res=3)
    assert len(G.layers) == 3 + 3 + 3
    assert all(isinstance(G.layers[i], ResidualBlock) for i in range(3, 6))
    assert all(isinstance(G.layers[i][0], torch.nn.ConvTranspose2d) for i in G.up_indices)
    x_hat, mask, cond = _inputs(size=32)
    h = torch.cat([x_hat, mask, cond], dim=1)
    for i in range(len(G.layers)):
        assert h.shape[1] == G.channels_before(i)
        h = G.run(h, i, i + 1)
    assert G.channels_before(len(G.layers)) == 3
    first_up = G.up_indices[0]
    split = G.run(G.run(torch.cat([x_hat, mask, cond], dim=1), 0, first_up), first_up, len(G.layers))
    torch.testing.assert_close(split, G(x_hat, mask, cond))


def test_background_copy_is_bit_exact_outside_mask():
    g = torch.Generator().manual_seed(1)
    x_hat = torch.rand(4, 3, 64, 64, generator=g) * 2 - 1
    raw = torch.rand(4, 3, 64, 64, generator=g) * 2 - 1
    raw[0, :, 0, 0] = float("nan")  # must not leak into the background
    mask = (torch.rand(4, 1, 64, 64, generator=g) > 0.7).float()
    mask[0, :, 0, 0] = 0
    y = background_copy(x_hat, mask, raw)
    outside = (mask == 0).expand_as(x_hat)
    assert torch.equal(y[outside], x_hat[outside])
    assert torch.equal(y[~outside], raw[~outside])


def test_background_copy_gradient_only_inside_mask():
    x_hat = torch.zeros(1, 3, 8, 8)
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 2:5, 3:6] = 1
    raw = torch.randn(1, 3, 8, 8, requires_grad=True)
    background_copy(x_hat, mask, raw).sum().backward()
    torch.testing.assert_close(raw.grad, mask.expand(1, 3, 8, 8))
