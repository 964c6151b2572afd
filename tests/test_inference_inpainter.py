"""The Inpainter (the one inpainting loop of `inpaint`, `anonymize --inpaint` and `evaluate`): STN streams
each track on its own, however the frames of several tracks are interleaved in a call."""
from __future__ import annotations

from pathlib import Path

import pytest
import torch

from helpers import TINY_CONFIG, moving_stn_model
from stngan import config
from stngan.inference.inpainter import Inpainter, _rounds


@pytest.fixture(scope="module")
def moving_stn(tmp_path_factory) -> Path:
    """A tiny STN-lm whose temporal blocks are not zero: its output depends on the track's earlier frames."""
    return moving_stn_model(tmp_path_factory.mktemp("stn"), config.load(TINY_CONFIG, ["model.kind=stn"]), 0)


def _frames(n: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    mask = torch.zeros(n, 1, 128, 128)
    mask[:, :, 40:90, 30:100] = 1
    x_hat = (torch.rand(n, 3, 128, 128, generator=g) * 2 - 1) * (1 - mask)
    return x_hat, mask, torch.rand(n, 5, 128, 128, generator=g)


def test_rounds_hold_each_track_once_in_arrival_order():
    assert _rounds([7, 7, 3, 7, 3]) == [[0, 2], [1, 4], [3]]
    assert _rounds([]) == []


def test_stn_streams_each_track_apart_in_any_interleaving(moving_stn):
    a, b = _frames(3, seed=1), _frames(2, seed=2)
    alone = Inpainter(moving_stn, blend="none")
    ya = alone.inpaint_tensors(*a, [1, 1, 1])
    alone.reset()
    yb = alone.inpaint_tensors(*b, [2, 2])
    order = [(1, 0), (2, 0), (1, 1), (2, 1), (1, 2)]  # A0 B0 A1 B1 A2 in one call
    mixed = Inpainter(moving_stn, blend="none").inpaint_tensors(
        *(torch.stack([(a if t == 1 else b)[k][i] for t, i in order]) for k in range(3)), [t for t, _ in order])
    torch.testing.assert_close(mixed, torch.stack([(ya if t == 1 else yb)[i] for t, i in order]), atol=1e-5, rtol=0)
    fresh = Inpainter(moving_stn, blend="none").inpaint_tensors(*(t[2:] for t in a), [1])
    assert not torch.allclose(fresh[0], ya[2], atol=1e-3)  # frame A2 did see A0 and A1
