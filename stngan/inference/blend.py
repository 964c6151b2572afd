"""Gradient-domain (Poisson) blending of the model's fill into the visible face around it.

The generator paints the masked regions with plausible structure but it has to guess the skin's colour and
brightness, and on real faces it guesses wrong (an orange or pink patch with a visible outline). Blending
keeps the fill's gradients (its structure) and takes its low frequencies from the real pixels on the mask
edge (Pérez et al. 2003, "Poisson image editing"): inside the mask Ω, the output f solves

    Δf = Δg  (g: the model's fill),   f = x on ∂Ω  (x: the visible pixels next to the mask),

where the guidance uses only pixel pairs inside Ω (the model's raw output outside Ω is never trained under
background copy). Written as f = g + h, the correction h is the solution of a discrete Laplace equation:

    deg(p)·h_p − Σ_{q∈N(p)∩Ω} h_q = Σ_{q∈N(p)\\Ω} (x_q − g_p)    for p in Ω,

with 4-neighbourhoods N, deg(p) the number of neighbours inside the crop (Neumann at the crop border). It is
solved for every crop and channel at once by conjugate gradients on the crop grid (a few milliseconds per
face on a CPU, any device). Pixels outside Ω are returned unchanged.

``keep`` marks pixels outside Ω that hold fill to keep as it is (h = 0 there, the fill's gradients across
kept): pairs (p, q∈keep) contribute x_q − g_q = 0 instead. Blending only a band along the mask edge
(the interior kept) is how the frame-resolution pass stays cheap on large faces.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

BLEND_MODES = ("poisson", "none")
MAX_ITERATIONS = 500
TOLERANCE = 1e-4  # largest per-pixel residual of the linear system, in [-1, 1] units (1/80 of a grey level)
STALL = 2e-5  # ... or stop when a step changes no pixel by more than this (1/400 of a grey level)


def _neighbour_sum(v: torch.Tensor) -> torch.Tensor:
    """Sum of the 4 neighbours of every pixel of (B, 1, H, W), zero beyond the border (shifted adds: several
    times faster than a 1-channel conv2d on CPU)."""
    p = F.pad(v, (1, 1, 1, 1))
    return p[..., :-2, 1:-1] + p[..., 2:, 1:-1] + p[..., 1:-1, :-2] + p[..., 1:-1, 2:]


def poisson_blend(fill: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor | None = None,
                  max_iterations: int = MAX_ITERATIONS, tolerance: float = TOLERANCE) -> torch.Tensor:
    """(N, C, S, S) crops: ``fill`` (the model's output; used inside the mask), ``real`` (the visible pixels;
    used outside it) and ``mask`` (N, 1, S, S), 1 = masked; ``keep`` (N, 1, S, S) optional, see the module
    doc (``real`` must hold the kept fill there). Returns ``real`` outside the mask and the blended fill
    inside (clamped to [-1, 1])."""
    assert fill.shape == real.shape and fill.ndim == 4, (fill.shape, real.shape)
    assert mask.shape == (fill.shape[0], 1, *fill.shape[2:]), (mask.shape, fill.shape)
    keep = torch.zeros_like(mask) if keep is None else keep
    assert keep.shape == mask.shape, (keep.shape, mask.shape)
    rows, cols = torch.nonzero(mask.amax(dim=(0, 1)) > 0.5, as_tuple=True)
    if not len(rows):
        return real.clone()
    # only the mask's bounding box (plus the ring next to it) takes part in the system
    top, left = max(int(rows.min()) - 1, 0), max(int(cols.min()) - 1, 0)
    bottom, right = min(int(rows.max()) + 2, fill.shape[2]), min(int(cols.max()) + 2, fill.shape[3])
    window = (slice(None), slice(None), slice(top, bottom), slice(left, right))
    out = real.clone()
    out[window] = _solve(fill[window], real[window], mask[window], keep[window], max_iterations, tolerance)
    return out


def _solve(fill: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor, max_iterations: int,
           tolerance: float) -> torch.Tensor:
    """:func:`poisson_blend` on a window of the crops. A mask pixel on the window's edge is on the crop's
    border (elsewhere the window keeps one row of visible pixels around the mask), so zero padding beyond
    the window is the Neumann border of the module doc."""
    n, c, s1, s2 = fill.shape
    m = (mask > 0.5).float().expand(n, c, s1, s2).reshape(n * c, 1, s1, s2)
    g = fill.float().reshape(n * c, 1, s1, s2)
    x = real.float().reshape(n * c, 1, s1, s2)
    outside = (1.0 - m) * (1.0 - (keep > 0.5).float().expand(n, c, s1, s2).reshape(n * c, 1, s1, s2))
    degree = _neighbour_sum(torch.ones_like(m))
    rhs = (_neighbour_sum(x * outside) - _neighbour_sum(outside) * g) * m  # kept neighbours add x_q - g_q = 0

    def apply(v: torch.Tensor) -> torch.Tensor:  # the system's matrix on a field that is 0 outside Ω
        return (degree * v - _neighbour_sum(v)) * m

    # start from the mean colour offset along the edge: most of the correction is that constant
    edge = _neighbour_sum(outside) * m
    offset = rhs.sum(dim=(1, 2, 3), keepdim=True) / edge.sum(dim=(1, 2, 3), keepdim=True).clamp_min(1)
    h = offset * m
    r = rhs - apply(h)
    p = r.clone()
    rs = (r * r).sum(dim=(1, 2, 3), keepdim=True)
    for _ in range(max_iterations):
        if r.abs().amax() <= tolerance:
            break
        ap = apply(p)
        curvature = (p * ap).sum(dim=(1, 2, 3), keepdim=True)
        alpha = torch.where(curvature > 0, rs / curvature.clamp_min(1e-30), torch.zeros_like(rs))
        step = alpha * p
        h += step
        if step.abs().amax() <= STALL:  # float32 round-off floor reached: more steps change nothing
            break
        r -= alpha * ap
        rs_next = (r * r).sum(dim=(1, 2, 3), keepdim=True)
        p = r + torch.where(rs > 0, rs_next / rs.clamp_min(1e-30), torch.zeros_like(rs)) * p
        rs = rs_next
    blended = (g + h).clamp(-1.0, 1.0) * m + x * (1.0 - m)
    return blended.reshape(n, c, s1, s2).to(real.dtype)

