import pytest
import torch
from torch import nn

from stngan.losses import (critic_score, d_wgan_gp_loss, g_adv_loss, g_loss, gradient_penalty,
                           partialconv_loss, perceptual_loss)
from stngan.models.vgg import VGG16Features


class LinearCritic(nn.Module):
    """Two patches, each linear in the image: score = <(a1 + a2)/2, x> + const, gradient known."""

    def __init__(self, size: int = 8, seed: int = 0) -> None:
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.a = nn.Parameter(torch.randn(2, 3, size, size, generator=g) * 0.3)
        self.b = nn.Parameter(torch.tensor([0.5, -1.0]))

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bchw,pchw->bp", img, self.a) + self.b


class QuadraticCritic(nn.Module):
    """score = ½‖x‖², so ∇ = x̃ itself and the penalty depends on eps."""

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        return 0.5 * img.pow(2).flatten(1).sum(dim=1, keepdim=True)


@pytest.fixture(scope="module")
def vgg() -> VGG16Features:
    return VGG16Features("random", seed=0)


def _batch(b: int = 3, size: int = 8, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    real = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    fake = torch.rand(b, 3, size, size, generator=g) * 2 - 1
    mask = torch.zeros(b, 1, size, size)
    mask[..., size // 4: 3 * size // 4, size // 4: 3 * size // 4] = 1
    return real, fake, mask


def test_critic_score_is_mean_over_patches():
    torch.testing.assert_close(critic_score(torch.tensor([[1.0, 3.0, 5.0], [0.0, 0.0, 3.0]])),
                               torch.tensor([3.0, 1.0]))
    assert critic_score(torch.ones(2, 1, 2, 2)).shape == (2,)


def test_gradient_penalty_linear_critic_closed_form():
    D = LinearCritic()
    real, fake, mask = _batch()
    want = (torch.linalg.vector_norm(D.a.detach().mean(dim=0)) - 1) ** 2
    gp = gradient_penalty(D, real, fake, mask, torch.tensor([0.1, 0.5, 0.9]))
    assert abs(gp.item() - want.item()) < 1e-5
    gp.backward()  # create_graph: the penalty trains the critic
    assert D.a.grad.abs().sum() > 0


def test_gradient_penalty_quadratic_critic_uses_eps_on_real():
    real, fake, mask = _batch()
    eps = torch.tensor([0.0, 0.25, 1.0])
    x_tilde = eps.view(-1, 1, 1, 1) * real + (1 - eps.view(-1, 1, 1, 1)) * fake
    want = ((x_tilde.flatten(1).norm(dim=1) - 1) ** 2).mean()
    assert abs(gradient_penalty(QuadraticCritic(), real, fake, mask, eps).item() - want.item()) < 1e-5


def test_d_loss_value_and_determinism():
    D = LinearCritic()
    real, fake, mask = _batch()
    loss1, logs = d_wgan_gp_loss(D, real, fake, mask, lambda_gp=10.0, generator=torch.Generator().manual_seed(5))
    loss2, _ = d_wgan_gp_loss(D, real, fake, mask, lambda_gp=10.0, generator=torch.Generator().manual_seed(5))
    assert torch.equal(loss1, loss2)
    eps = torch.rand(3, generator=torch.Generator().manual_seed(5))
    want = (-critic_score(D(real, mask)).mean() + critic_score(D(fake, mask)).mean()
            + 10.0 * gradient_penalty(D, real, fake, mask, eps))
    torch.testing.assert_close(loss1, want)
    assert set(logs) == {"d/loss", "d/real", "d/fake", "d/gp", "d/wdist"}
    assert all(isinstance(v, float) for v in logs.values())
    assert logs["d/wdist"] == pytest.approx(logs["d/real"] - logs["d/fake"], abs=1e-6)


def test_wgan_signs():
    D = LinearCritic()
    real, fake, mask = _batch()
    shift = D.a.detach().sum(dim=0) / D.a.detach().sum(dim=0).norm()  # raises both patch scores' mean
    gen = lambda: torch.Generator().manual_seed(0)  # noqa: E731
    base, _ = d_wgan_gp_loss(D, real, fake, mask, generator=gen())
    better_real, logs = d_wgan_gp_loss(D, real + shift, fake, mask, generator=gen())
    assert better_real < base  # critic is rewarded for scoring real higher (GP unchanged: linear critic)
    better_fake, _ = d_wgan_gp_loss(D, real, fake + shift, mask, generator=gen())
    assert better_fake > base
    g_base, _ = g_adv_loss(D, fake, mask)
    g_better, g_logs = g_adv_loss(D, fake + shift, mask)
    assert g_better < g_base and g_logs["g/adv"] == pytest.approx(g_better.item())


def test_d_loss_does_not_train_generator():
    D = LinearCritic()
    real, fake, mask = _batch()
    fake.requires_grad_(True)
    loss, _ = d_wgan_gp_loss(D, real, fake, mask)
    loss.backward()
    assert fake.grad is None


def test_perceptual_zero_positive_symmetric(vgg):
    real, fake, _ = _batch(b=2, size=32)
    assert perceptual_loss(vgg, real, real.clone()).item() == 0
    ab, ba = perceptual_loss(vgg, real, fake), perceptual_loss(vgg, fake, real)
    assert ab > 0
    torch.testing.assert_close(ab, ba)


def test_perceptual_is_sum_of_layer_means(vgg):
    real, fake, _ = _batch(b=2, size=32)
    want = sum((a - b).abs().mean() for a, b in zip(vgg(real), vgg(fake)))
    torch.testing.assert_close(perceptual_loss(vgg, real, fake), want)


def test_g_loss_combines_adv_and_perceptual(vgg):
    D = LinearCritic(size=32)
    real, fake, mask = _batch(b=2, size=32)
    loss, logs = g_loss(D, vgg, real, fake, mask, lambda_pct=10.0)
    want = -critic_score(D(fake, mask)).mean() + 10.0 * perceptual_loss(vgg, real, fake)
    torch.testing.assert_close(loss, want)
    assert set(logs) == {"g/adv", "g/pct", "g/loss"}


def test_partialconv_loss_perfect_prediction(vgg):
    gt = torch.full((2, 3, 32, 32), 0.3)
    _, _, mask = _batch(b=2, size=32)
    loss, logs = partialconv_loss(vgg, gt.clone(), gt.clone(), gt, mask)
    assert loss.item() < 1e-6
    # for a textured image only the TV term of the (perfect) composite remains
    gt = torch.rand(2, 3, 32, 32) * 2 - 1
    loss, logs = partialconv_loss(vgg, gt.clone(), gt.clone(), gt, mask)
    assert logs["pconv/valid"] == logs["pconv/hole"] == logs["pconv/perc"] == 0
    assert logs["pconv/style_out"] == logs["pconv/style_comp"] == 0
    assert loss.item() == pytest.approx(0.1 * logs["pconv/tv"], rel=1e-6)


def test_partialconv_loss_terms_by_hand(vgg):
    gt = torch.zeros(1, 3, 8, 8)
    out = torch.zeros(1, 3, 8, 8)
    out[0, 0, 1, 1] = 1.0  # hole pixel off by 1 in one channel
    out[0, 0, 6, 6] = 0.5  # valid pixel off by 0.5
    mask = torch.zeros(1, 1, 8, 8)
    mask[..., 1, 1] = 1
    comp = torch.where(mask > 0, out, gt)
    _, logs = partialconv_loss(vgg, out, comp, gt, mask)
    n = 3 * 8 * 8
    assert logs["pconv/hole"] == pytest.approx(1.0 / n)
    assert logs["pconv/valid"] == pytest.approx(0.5 / n)
    # dilated hole = rows/cols 0..2; the hole pixel has 2 horizontal + 2 vertical neighbours inside it
    assert logs["pconv/tv"] == pytest.approx(4.0 / n)
    assert logs["pconv/perc"] > 0 and logs["pconv/style_out"] > 0


def test_partialconv_loss_positive_and_differentiable(vgg):
    real, fake, mask = _batch(b=2, size=32)
    out = fake.clone().requires_grad_(True)
    comp = torch.where(mask > 0, out, real)
    loss, logs = partialconv_loss(vgg, out, comp, real, mask)
    loss.backward()
    assert loss > 0 and out.grad.abs().sum() > 0
    assert logs["pconv/loss"] == pytest.approx(loss.item())


def test_masked_l1_counts_only_masked_pixels():
    from stngan.losses import masked_l1

    real = torch.zeros(1, 3, 4, 4)
    fake = torch.zeros(1, 3, 4, 4)
    fake[..., :2, :] = 1.0  # wrong everywhere in the top half
    mask = torch.zeros(1, 1, 4, 4)
    mask[..., 0, :] = 1  # but only the first row is masked
    assert masked_l1(real, fake, mask).item() == pytest.approx(1.0)
    mask[..., 3, :] = 1  # a masked row that is right halves the error
    assert masked_l1(real, fake, mask).item() == pytest.approx(0.5)


def test_masked_colour_l1_sees_a_colour_shift_and_not_fine_texture():
    from stngan.losses import masked_colour_l1, masked_l1

    real = torch.zeros(2, 3, 32, 32)
    mask = torch.zeros(2, 1, 32, 32)
    mask[..., 8:24, 8:24] = 1
    shifted = real + 0.3 * mask  # the whole fill 0.3 too bright
    assert masked_colour_l1(real, real, mask).item() == 0.0
    assert masked_colour_l1(real, shifted, mask).item() == pytest.approx(masked_l1(real, shifted, mask).item(), rel=0.35)
    checker = (torch.arange(32)[:, None] + torch.arange(32)[None, :]) % 2 * 0.6 - 0.3  # zero-mean texture
    textured = real + checker * mask
    assert masked_l1(real, textured, mask).item() == pytest.approx(0.3)
    assert masked_colour_l1(real, textured, mask).item() < 0.03  # the blur sees (almost) no colour change
    windows = shifted[:, None].expand(2, 3, 3, 32, 32)  # (B, T, C, H, W) windows are scored frame by frame
    assert masked_colour_l1(real[:, None].expand_as(windows), windows, mask[:, None].expand(2, 3, 1, 32, 32)).item() \
        == pytest.approx(masked_colour_l1(real, shifted, mask).item())


def test_g_loss_adds_the_colour_term_when_weighted(vgg):
    from stngan.losses import masked_colour_l1

    D = LinearCritic(size=32)
    real, fake, mask = _batch(b=2, size=32)
    loss, logs = g_loss(D, vgg, real, fake, mask, lambda_pct=0.0, lambda_colour=5.0)
    torch.testing.assert_close(loss, -critic_score(D(fake, mask)).mean() + 5.0 * masked_colour_l1(real, fake, mask))
    assert set(logs) == {"g/adv", "g/colour_masked", "g/loss"}


def test_masked_detail_l1_sees_texture_not_colour():
    from stngan.losses import masked_detail_l1

    torch.manual_seed(0)
    texture = torch.rand(1, 3, 32, 32) - 0.5
    mask = torch.ones(1, 1, 32, 32)
    same, _ = masked_detail_l1(texture, texture + 0.3, mask)  # another colour, the same detail
    assert float(same) < 1e-6
    flat, logs = masked_detail_l1(texture, torch.zeros_like(texture), mask)  # the detail missing
    assert float(flat) > 0.1 and logs["g/exemplar_detail"] == pytest.approx(float(flat))
    outside, _ = masked_detail_l1(texture, torch.zeros_like(texture), torch.zeros_like(mask))
    assert float(outside) == 0.0
