"""One G and one D step (paper depths, small widths for speed): every parameter must receive a gradient."""
import torch

from stngan.losses import d_wgan_gp_loss, g_loss
from stngan.models import (DualDiscriminator, Generator, GlobalDiscriminator, LocalDiscriminator, VGG16Features,
                           background_copy)


def _no_grad_names(module: torch.nn.Module) -> list[str]:
    return [n for n, p in module.named_parameters() if p.grad is None or p.grad.abs().sum() == 0]


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(0)
    G = Generator(cond_channels=5, width=16)
    D = DualDiscriminator(GlobalDiscriminator(width=16), LocalDiscriminator(width=16))
    vgg = VGG16Features("random", seed=0)
    real = torch.rand(2, 3, 128, 128) * 2 - 1
    mask = torch.zeros(2, 1, 128, 128)
    mask[0, :, 40:90, 30:100] = 1
    mask[1, :, 20:60, 60:110] = 1
    cond = torch.rand(2, 5, 128, 128)
    x_hat = real * (1 - mask)

    fake = background_copy(x_hat, mask, G(x_hat, mask, cond))
    loss, _ = g_loss(D, vgg, real, fake, mask)
    loss.backward()
    assert _no_grad_names(G) == []

    D.zero_grad()
    loss, _ = d_wgan_gp_loss(D, real, fake, mask, generator=torch.Generator().manual_seed(0))
    loss.backward()
    assert _no_grad_names(D) == []
