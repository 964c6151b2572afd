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
solved for every crop and channel at once by conjugate gradients (a few milliseconds per face on a CPU,
any device). Pixels outside Ω are returned unchanged.

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
# CG on the unknown pixels alone when they are under this fraction of the window (the frame pass's thin band:
# 23 -> 10 ms per 720p face), on the whole window otherwise (a crop's mask fills most of its box: 13 vs 17 ms)
SPARSE_BELOW = 0.4


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


def coarse_poisson_blend(fill: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, side: int,
                         edge_band: int = 8) -> torch.Tensor:
    """A fill defined outside the mask too (a warped donor) blended by its mismatch: the correction h solves
    Δh = 0 inside the mask with h = real − fill on the visible pixels next to it, so a fill that already
    matches the real pixels gets none (:func:`poisson_blend` takes x_q − g_p, the real pixel against the fill
    one pixel inside, for a model whose output outside the mask is untrained: across a strong edge such as an
    eyebrow on the mask's rim that left a smear of the edge's contrast). h is smooth (the colour and lighting
    mismatch), so on a crop wider than ``side`` it is solved on a copy ``side`` px wide (CG needs ~N iterations
    on an N-px crop: a 320-px crop costs a fortieth), with the mismatch measured at full resolution and
    averaged over the visible part of each small pixel only; the upsampled h is then solved again at full
    resolution in a band ``edge_band`` px wide along the mask edge, where it is least smooth (0: not, for a crop
    that is resampled back into the frame, whose frame-level band pass does it there). Returns ``real``
    outside the mask, the corrected fill inside."""
    visible = 1 - mask
    mismatch = (real - fill) * visible
    if fill.shape[-1] <= side:
        h = 2 * poisson_blend(torch.zeros_like(fill), mismatch / 2, mask) * mask  # /2: the solver clamps to [-1, 1]
    else:
        small = fill.shape[-2] * side // fill.shape[-1], side
        coverage = F.interpolate(visible, size=small, mode="area")
        m_small = (F.adaptive_max_pool2d(mask, small) > 0).float()
        shrunk = F.interpolate(mismatch, size=small, mode="area") / coverage.clamp_min(1e-6) * (coverage > 0)
        h_small = 2 * poisson_blend(torch.zeros_like(shrunk), shrunk * (1 - m_small) / 2, m_small) * m_small
        h = F.interpolate(h_small, size=fill.shape[-2:], mode="bilinear", align_corners=False) * mask
        if edge_band > 0:
            near = F.max_pool2d(visible, 2 * edge_band + 1, stride=1, padding=edge_band) > 0
            band = mask * near.float()
            interior = mask - band
            h = 2 * poisson_blend(h / 2, (mismatch + h * interior) / 2, band, keep=interior) * mask
    return real * visible + (fill + h).clamp(-1, 1) * mask


def _solve(fill: torch.Tensor, real: torch.Tensor, mask: torch.Tensor, keep: torch.Tensor, max_iterations: int,
           tolerance: float) -> torch.Tensor:
    """:func:`poisson_blend` on a window of the crops. A mask pixel on the window's edge is on the crop's
    border (elsewhere the window keeps one row of visible pixels around the mask), so a missing neighbour
    beyond the window is the Neumann border of the module doc. One system per crop and channel."""
    n, c, s1, s2 = fill.shape
    inside = mask[:, :1] > 0.5
    outside = (~inside & ~(keep[:, :1] > 0.5)).float()
    g, x = fill.float(), real.float()
    degree = _neighbour_sum(torch.ones(n, 1, s1, s2, device=fill.device))  # Neumann border: fewer neighbours
    rhs = (_neighbour_sum(x * outside) - _neighbour_sum(outside) * g) * inside  # kept: x_q - g_q = 0
    edge = _neighbour_sum(outside) * inside
    unknowns = int(inside.sum())
    if unknowns > SPARSE_BELOW * inside.numel():
        h = _dense_solution(rhs, edge, degree, inside, max_iterations, tolerance)
    else:
        h = _sparse_solution(rhs, edge, degree, inside, max_iterations, tolerance)
    return ((g + h).clamp(-1.0, 1.0) * inside + x * ~inside).to(real.dtype)


def _dense_solution(rhs: torch.Tensor, edge: torch.Tensor, degree: torch.Tensor, inside: torch.Tensor,
                    max_iterations: int, tolerance: float) -> torch.Tensor:
    """The correction h (N, C, S1, S2) by CG on the whole window (fields are 0 outside Ω)."""
    m = inside.float()

    def apply(v: torch.Tensor) -> torch.Tensor:
        return (degree * v - _neighbour_sum(v)) * m

    def dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        return (u * v).sum(dim=(2, 3), keepdim=True)

    offset = rhs.sum(dim=(2, 3), keepdim=True) / edge.sum(dim=(2, 3), keepdim=True).clamp_min(1)
    return _conjugate_gradients(apply, dot, lambda a: a, rhs, offset * m, max_iterations, tolerance)


def _sparse_solution(rhs: torch.Tensor, edge: torch.Tensor, degree: torch.Tensor, inside: torch.Tensor,
                     max_iterations: int, tolerance: float) -> torch.Tensor:
    """The correction h (N, C, S1, S2) by CG on the unknown pixels only, their 4 neighbours as index lists: a
    thin band along a mask edge is a tenth of its window, and CG's cost follows the pixels it touches."""
    n, c, s1, s2 = rhs.shape
    dev = rhs.device
    at = torch.nonzero(inside.reshape(-1)).squeeze(1)  # flat (crop, row, col) indices, crop after crop
    count = at.numel()
    number = torch.full((n * s1 * s2,), count, dtype=torch.long, device=dev)  # others: the zero column
    number[at] = torch.arange(count, device=dev)
    grid = F.pad(number.reshape(n, 1, s1, s2), (1, 1, 1, 1), value=count)[:, 0]
    neighbours = [side.reshape(-1)[at].contiguous() for side in
                  (grid[:, :-2, 1:-1], grid[:, 2:, 1:-1], grid[:, 1:-1, :-2], grid[:, 1:-1, 2:])]
    lengths = torch.bincount(at // (s1 * s2), minlength=n)
    ends = lengths.cumsum(0).tolist()
    parts = [slice(a, b) for a, b in zip([0] + ends[:-1], ends)]

    def gather(v: torch.Tensor) -> torch.Tensor:  # (n, k, s1, s2) -> (k, count)
        return v.permute(1, 0, 2, 3).reshape(v.shape[1], -1)[:, at]

    deg = gather(degree)[0]

    def apply(v: torch.Tensor) -> torch.Tensor:
        padded = F.pad(v, (0, 1))
        up, down, left, right = (padded.index_select(1, side) for side in neighbours)
        return deg * v - (up + down + left + right)

    def dot(u: torch.Tensor, v: torch.Tensor) -> torch.Tensor:  # per crop and channel: (c, n)
        uv = u * v
        return torch.stack([uv[:, part].sum(dim=1) for part in parts], dim=1)

    def spread(a: torch.Tensor) -> torch.Tensor:  # (c, n) -> (c, count)
        return a.expand(-1, count) if n == 1 else torch.repeat_interleave(a, lengths, dim=1)

    b = gather(rhs)
    offset = dot(b, torch.ones_like(b)) / dot(gather(edge).expand(c, -1), torch.ones_like(b)).clamp_min(1)
    h = _conjugate_gradients(apply, dot, spread, b, spread(offset).clone(), max_iterations, tolerance)
    out = torch.zeros(c, n * s1 * s2, device=dev)
    out[:, at] = h
    return out.reshape(c, n, s1, s2).permute(1, 0, 2, 3)


def _conjugate_gradients(apply, dot, spread, b: torch.Tensor, h: torch.Tensor, max_iterations: int,
                         tolerance: float) -> torch.Tensor:
    """Solve apply(h) = b from h (modified in place), one system per value of ``dot`` (per-system inner
    products; ``spread`` maps per-system numbers back onto the field). Starts from the mean colour offset
    along the edge in practice: most of the correction is that constant."""
    r = b - apply(h)
    p = r.clone()
    rs = dot(r, r)
    for _ in range(max_iterations):
        if r.abs().amax() <= tolerance:
            break
        ap = apply(p)
        curvature = dot(p, ap)
        alpha = spread(torch.where(curvature > 0, rs / curvature.clamp_min(1e-30), torch.zeros_like(rs)))
        step = alpha * p
        h += step
        if step.abs().amax() <= STALL:  # float32 round-off floor reached: more steps change nothing
            break
        r -= alpha * ap
        rs_next = dot(r, r)
        p = r + spread(torch.where(rs > 0, rs_next / rs.clamp_min(1e-30), torch.zeros_like(rs))) * p
        rs = rs_next
    return h
