"""STN (paper 3.2): zero-init equivalence with SI, causality, streaming == windowed, SI weights load."""
import copy

import pytest
import torch

from stngan import losses
from stngan.models.discriminator import DualDiscriminator, GlobalDiscriminator, LocalDiscriminator
from stngan.models.generator import Generator
from stngan.models.temporal import TemporalDiscriminator, TemporalGenerator, TemporalResidual, pad_window_start

T, S, C = 3, 64, 5


def _inputs(b: int = 2, t: int = T, seed: int = 0):
    g = torch.Generator().manual_seed(seed)
    x = torch.rand(b, t, 3, S, S, generator=g) * 2 - 1
    mask = (torch.rand(b, t, 1, S, S, generator=g) > 0.7).float()
    cond = torch.rand(b, t, C, S, S, generator=g)
    return x * (1 - mask), mask, cond


def _stn(M: int = 1, seed: int = 0) -> TemporalGenerator:
    torch.manual_seed(seed)
    return TemporalGenerator(Generator(C, width=8, n_res=2), T=T, M=M).eval()


def _randomise_blocks(stn: torch.nn.Module) -> None:
    with torch.no_grad():
        for block in stn.blocks:
            torch.nn.init.normal_(block.expand.weight, std=0.05)


@pytest.mark.parametrize("M", [1, 2])
def test_zero_initialised_stn_equals_si_per_frame(M):
    stn = _stn(M)
    x_hat, mask, cond = _inputs()
    out = stn(x_hat, mask, cond)
    si = stn.spatial(x_hat.flatten(0, 1), mask.flatten(0, 1), cond.flatten(0, 1)).view_as(out)
    assert torch.equal(out, si)


def test_r_block_starts_as_identity_and_only_returns_frame_T():
    block = TemporalResidual(16, T)
    w = torch.randn(2, T, 16, 8, 8)
    assert torch.equal(block(w), w[:, -1])
    with pytest.raises(ValueError, match="window must be"):
        block(torch.randn(2, T + 1, 16, 8, 8))


@pytest.mark.parametrize("M", [1, 2])
def test_earlier_frames_reach_frame_T_only_through_R(M):
    stn = _stn(M)
    x_hat, mask, cond = _inputs()
    changed = x_hat.clone()
    changed[:, 0] = -changed[:, 0]
    assert torch.equal(stn(x_hat, mask, cond)[:, -1], stn(changed, mask, cond)[:, -1])  # R is zero
    _randomise_blocks(stn)
    a, b = stn(x_hat, mask, cond), stn(changed, mask, cond)
    assert not torch.allclose(a[:, -1], b[:, -1])  # now frame 1 influences frame T
    assert torch.equal(a[:, 1], b[:, 1])  # but never another frame's output (no R there)


def test_frame_T_never_changes_earlier_outputs():
    stn = _stn(2)
    _randomise_blocks(stn)
    x_hat, mask, cond = _inputs()
    changed = x_hat.clone()
    changed[:, -1] = torch.rand_like(changed[:, -1])
    a, b = stn(x_hat, mask, cond), stn(changed, mask, cond)
    assert torch.equal(a[:, :-1], b[:, :-1])


@pytest.mark.parametrize("M", [1, 2])
def test_streaming_equals_windowed_recompute(M):
    stn = _stn(M)
    _randomise_blocks(stn)
    n = 6
    x_hat, mask, cond = (t[0] for t in _inputs(b=1, t=n, seed=3))  # one track of n frames
    windowed = stn(pad_window_start(x_hat, T), pad_window_start(mask, T), pad_window_start(cond, T))[:, -1]
    streams: dict = {}
    with torch.no_grad():
        streamed = torch.cat([stn.stream_step([7], x_hat[i:i + 1], mask[i:i + 1], cond[i:i + 1], streams)
                              for i in range(n)])
    torch.testing.assert_close(streamed, windowed.detach(), rtol=1e-5, atol=1e-5)
    cached = [h.clone() for h in streams[7][0]]  # SI features of frames n-2, n-1
    for new in (torch.zeros_like(x_hat[:1]), torch.ones_like(x_hat[:1])):
        state = copy.deepcopy(streams)
        with torch.no_grad():
            stn.stream_step([7], new, mask[:1], cond[:1], state)
        assert torch.equal(state[7][0][0], cached[1])  # earlier frames' cache untouched by the new frame


def test_streaming_keeps_tracks_apart():
    stn = _stn(1)
    _randomise_blocks(stn)
    x_hat, mask, cond = _inputs(b=2, t=4, seed=5)
    streams: dict = {}
    with torch.no_grad():
        both = [stn.stream_step([0, 1], x_hat[:, i], mask[:, i], cond[:, i], streams) for i in range(4)]
        alone: dict = {}
        only1 = [stn.stream_step([1], x_hat[1:, i], mask[1:, i], cond[1:, i], alone) for i in range(4)]
    for a, b in zip(both, only1):
        torch.testing.assert_close(a[1:], b, rtol=1e-5, atol=1e-5)


def test_temporal_discriminator_zero_init_equals_spatial_per_frame():
    torch.manual_seed(0)
    dual = DualDiscriminator(GlobalDiscriminator(8, 6), LocalDiscriminator(8, 5, crop=32))
    td = TemporalDiscriminator(dual, T=T, N=2)
    img = torch.rand(2, T, 3, 128, 128) * 2 - 1
    mask = torch.zeros(2, T, 1, 128, 128)
    mask[..., 40:80, 50:90] = 1
    out = td(img, mask)
    per_frame = [dual(img[:, t], mask[:, t]) for t in range(T)]
    g = torch.cat([p[:, :4] for p in per_frame], 1)
    loc = torch.cat([p[:, 4:] for p in per_frame], 1)
    assert torch.equal(out, torch.cat([g, loc], 1))


def test_one_step_moves_R_from_zero():
    stn = _stn(1).train()
    torch.manual_seed(1)
    dual = DualDiscriminator(GlobalDiscriminator(8, 6), LocalDiscriminator(8, 5, crop=32))
    td = TemporalDiscriminator(dual, T=T, N=1)
    x_hat, mask, cond = (t.repeat_interleave(2, -1).repeat_interleave(2, -2) for t in _inputs())
    opt = torch.optim.Adam(list(stn.temporal_parameters()), lr=1e-3)
    loss, _ = losses.g_adv_loss(td, stn(x_hat, mask, cond), mask)
    loss.backward()
    opt.step()
    assert all(block.expand.weight.abs().sum() > 0 for block in stn.blocks)
