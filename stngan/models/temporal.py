"""STN-GAN (paper 3.2, Algorithm 1): SI networks linked across a T-frame window by 3D residual blocks.

A ``TemporalResidual`` R reads the features of all T frames at one point of the network and returns the
new feature of the T-th frame only, a_T + F(a_1..a_T); frames 1..T−1 pass unchanged (causal, online).
F is a ResNet bottleneck in 3D: 1×1×1 reduce → ReLU → (T×3×3) conv spanning the whole window (valid in
time, so it yields exactly the T-th frame) → ReLU → 1×1×1 expand. The expand conv starts at zero, so F ≡ 0
and STN equals SI frame by frame at initialisation; the other convs start random (with every weight zero
no gradient could ever reach them). No normalisation inside R, so streaming needs no statistics. The
bottleneck (C/4 channels) keeps the block at a few percent of G's cost.

``TemporalGenerator`` inserts one R before each of the last M up-sampling layers of an SI ``Generator``;
``TemporalDiscriminator`` one R after the first N layers of each critic of a ``DualDiscriminator``. Both
wrap the SI modules (``.spatial``), so an SI checkpoint loads into them with only the R blocks missing.
Windows are (B, T, C, H, W); the generator returns all T outputs (frames 1..T−1 are plain SI outputs,
as in Algorithm 1), the discriminator the patches of all T frames (the loss averages them over time).
"""
from __future__ import annotations

from collections import deque

import torch
from torch import nn

from stngan.models.discriminator import DualDiscriminator, PatchCritic
from stngan.models.generator import Generator
from stngan.models.shapes import as_frames, check_image, check_mask


class TemporalResidual(nn.Module):
    """(B, T, C, H, W) window features → (B, C, H, W) new feature of frame T: a_T + F(window)."""

    def __init__(self, channels: int, T: int, reduction: int = 4) -> None:
        super().__init__()
        mid = max(channels // reduction, 8)
        self.T = T
        # the 1×1×1 convs run as per-frame 1×1 Conv2d (same arithmetic; CPU Conv3d kernels are far slower)
        self.reduce = nn.Conv2d(channels, mid, 1)
        self.temporal = nn.Conv3d(mid, mid, (T, 3, 3), padding=(0, 1, 1))
        self.expand = nn.Conv2d(mid, channels, 1)
        nn.init.zeros_(self.expand.weight)
        nn.init.zeros_(self.expand.bias)
        self.act = nn.ReLU()

    def forward(self, window: torch.Tensor) -> torch.Tensor:
        if window.dim() != 5 or window.shape[1] != self.T:
            raise ValueError(f"window must be (B, {self.T}, C, H, W), got {tuple(window.shape)}")
        b = window.shape[0]
        h = self.act(self.reduce(window.flatten(0, 1)))  # (B·T, mid, H, W)
        h = h.view(b, self.T, *h.shape[1:]).transpose(1, 2)  # (B, mid, T, H, W)
        h = self.act(self.temporal(h))[:, :, 0]  # (B, mid, H, W): the T-th frame only
        return window[:, -1] + self.expand(h)


def _window(t: torch.Tensor, b: int) -> torch.Tensor:
    return t.view(b, -1, *t.shape[1:])


def _with_last(h: torch.Tensor, last: torch.Tensor) -> torch.Tensor:
    """h (B, T, ...) with frame T replaced by last (B, ...)."""
    return torch.cat([h[:, :-1], last[:, None]], dim=1)


class TemporalGenerator(nn.Module):
    def __init__(self, spatial: Generator, T: int = 3, M: int = 1) -> None:
        super().__init__()
        if not 1 <= M <= len(spatial.up_indices):
            raise ValueError(f"M must be in 1..{len(spatial.up_indices)}, got {M}")
        self.spatial = spatial
        self.T = T
        self.points = list(spatial.up_indices[-M:])  # layer indices that an R block precedes
        self.blocks = nn.ModuleList(TemporalResidual(spatial.channels_before(i), T) for i in self.points)

    def temporal_parameters(self):
        return self.blocks.parameters()

    def _input(self, x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor | None) -> torch.Tensor:
        check_image(x_hat, "x_hat")
        check_mask(mask, x_hat)
        parts = [x_hat, mask.to(x_hat.dtype)]
        if self.spatial.cond_channels:
            if cond is None:
                raise ValueError("this generator is conditioned on landmarks: cond is required")
            parts.append(cond.to(x_hat.dtype))
        return torch.cat(parts, dim=1)

    def forward(self, x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor | None = None) -> torch.Tensor:
        """Windows x_hat (B, T, 3, H, W), mask (B, T, 1, H, W), cond (B, T, C, H, W) → raw (B, T, 3, H, W)."""
        b, t = x_hat.shape[:2]
        if t != self.T:
            raise ValueError(f"expected windows of T={self.T} frames, got {t}")
        h = self.spatial.run(self._input(as_frames(x_hat), as_frames(mask), None if cond is None else as_frames(cond)),
                             0, self.points[0])
        bounds = self.points[1:] + [len(self.spatial.layers)]
        for block, start, stop in zip(self.blocks, self.points, bounds):
            w = _window(h, b)
            h = as_frames(_with_last(w, block(w)))
            h = self.spatial.run(h, start, stop)
        return _window(h, b)

    def stream_step(self, tracks: list[int], x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor | None,
                    streams: dict[int, list[deque]]) -> torch.Tensor:
        """One new frame per track (distinct tracks), each costing one SI head pass plus the R blocks.

        streams[track] keeps, per insertion point, the SI features of the track's previous T−1 frames.
        A new track's window is padded by repeating its first frame, exactly as `pad_window_start` pads
        inputs for the windowed computation. Returns raw (N, 3, H, W) for the new frames.
        """
        if len(set(tracks)) != len(tracks):
            raise ValueError("stream_step takes at most one frame per track per call")
        si = self.spatial.run(self._input(x_hat, mask, cond), 0, self.points[0])  # SI path of the new frames
        h = si
        bounds = self.points[1:] + [len(self.spatial.layers)]
        for m, (block, start, stop) in enumerate(zip(self.blocks, self.points, bounds)):
            history = [self._history(streams, track, m, si[i]) for i, track in enumerate(tracks)]
            window = torch.stack([torch.stack(list(hist) + [h[i]]) for i, hist in enumerate(history)])
            for hist, feat in zip(history, si):
                hist.append(feat)
            h = self.spatial.run(block(window), start, stop)
            if m + 1 < len(self.blocks):
                si = self.spatial.run(si, start, stop)
        return h

    def _history(self, streams: dict[int, list[deque]], track: int, point: int, first: torch.Tensor) -> deque:
        per_point = streams.setdefault(track, [deque(maxlen=self.T - 1) for _ in self.blocks])
        hist = per_point[point]
        while len(hist) < self.T - 1:
            hist.append(first)
        return hist


def pad_window_start(frames: torch.Tensor, T: int) -> torch.Tensor:
    """(N, ...) frames of one track → (N, T, ...) windows ending at each frame, the start padded by
    repeating frame 0 (the streaming rule)."""
    idx = torch.arange(len(frames))[:, None] + torch.arange(-T + 1, 1)[None, :]
    return frames[idx.clamp(min=0)]


class TemporalDiscriminator(nn.Module):
    """Both critics of a DualDiscriminator with an R block after their first N layers."""

    def __init__(self, spatial: DualDiscriminator, T: int = 3, N: int = 1) -> None:
        super().__init__()
        self.spatial = spatial
        self.T, self.N = T, N
        critics = (spatial.global_d, spatial.local_d)
        for c in critics:
            if not 1 <= N < len(c.layers):
                raise ValueError(f"N must be in 1..{len(c.layers) - 1}, got {N}")
        self.blocks = nn.ModuleList(TemporalResidual(c.channels_before(N), T) for c in critics)

    def temporal_parameters(self):
        return self.blocks.parameters()

    def _critic(self, critic: PatchCritic, block: TemporalResidual, img: torch.Tensor, mask: torch.Tensor,
                b: int) -> torch.Tensor:
        h = critic.run(critic.prepare(img, mask), 0, self.N)
        w = _window(h, b)
        h = as_frames(_with_last(w, block(w)))
        return _window(critic.run(h, self.N, len(critic.layers)), b).flatten(1)

    def forward(self, img: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """img (B, T, 3, H, W), mask (B, T, 1, H, W) → patches of all frames (B, T·(P_global + P_local))."""
        b, t = img.shape[:2]
        if t != self.T:
            raise ValueError(f"expected windows of T={self.T} frames, got {t}")
        frames, masks = as_frames(img), as_frames(mask)
        check_image(frames)
        check_mask(masks, frames)
        return torch.cat([self._critic(c, r, frames, masks, b) for c, r in
                          zip((self.spatial.global_d, self.spatial.local_d), self.blocks)], dim=1)
