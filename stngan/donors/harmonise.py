"""Make a warped donor look like it belongs to the target photo before the Poisson blend.

In video a track keeps these settings steady (:class:`TrackHarmony`): the colour move is a running average,
the detail level is set on the track's first face; measured per frame, they made the fill flicker.

1. Colour and lighting: in CIELAB, the donor's skin ring (the same ring of visible skin on both faces,
   :func:`stngan.donors.attributes.skin_ring`) is moved to the target's median, lightness also scaled to its
   contrast (inter-quartile ranges: hair strands crossing the ring do not count; ratio clamped to [0.8, 1.25]); a* and b* only shift, so teeth and eye whites keep their own
   colour relative to the skin rather than taking the skin's.
2. Detail level: the donor is Gaussian-blurred by the sigma (of ``SIGMAS``), or sharpened by the unsharp
   amount (of ``AMOUNTS``), whose high-frequency energy on the ring comes closest to the target's; where the
   target is grainier than even that, noise of the missing standard deviation is added (fixed per track, so
   it does not boil in video).
The Poisson blend (:mod:`stngan.inference.blend`) then takes the remaining low-frequency colour difference
out at the mask edge, so no seam is left.
"""
from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from stngan.data.tone import bright_parts
from stngan.metrics.realism import laplacian_energy

SIGMAS = (0.0, 0.5, 0.8, 1.1, 1.5, 2.0, 2.7, 3.5)
AMOUNTS = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
SHARPEN_SIGMA = 1.0
L_SCALE_RANGE = (1.0, 1.25)
PART_SHIFT = 0.3
LIP_CHROMA = 0.6


def _lab(img: np.ndarray) -> np.ndarray:
    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def _rgb(lab: np.ndarray) -> np.ndarray:
    return np.clip(cv2.cvtColor(lab, cv2.COLOR_Lab2RGB) * 255.0, 0, 255)


@dataclass(frozen=True)
class ColourStats:
    """The colour move of :func:`match_colour`: CIELAB medians of donor and target skin, lightness scale."""

    donor: np.ndarray
    target: np.ndarray
    scale: float

    def blended(self, newer: ColourStats, weight: float) -> ColourStats:
        """``weight`` of ``newer`` and the rest of this one (a track's running estimate)."""
        return ColourStats((1 - weight) * self.donor + weight * newer.donor,
                           (1 - weight) * self.target + weight * newer.target,
                           (1 - weight) * self.scale + weight * newer.scale)


def colour_stats(donor: np.ndarray, target: np.ndarray, ring: np.ndarray) -> ColourStats | None:
    """The donor's and the target's skin on ``ring`` (None for fewer than 16 ring pixels)."""
    if ring.sum() < 16:
        return None
    d, t = _lab(donor)[ring], _lab(target)[ring]
    scale = float(np.clip(_spread(t[:, 0]) / max(_spread(d[:, 0]), 1e-3), *L_SCALE_RANGE))
    return ColourStats(np.median(d, axis=0), np.median(t, axis=0), scale)


def apply_colour(donor: np.ndarray, stats: ColourStats | None, parts: np.ndarray | None = None,
                 lips: np.ndarray | None = None) -> np.ndarray:
    """The move of :func:`match_colour` with given statistics (float32 RGB)."""
    if stats is None:
        return donor.astype(np.float32)
    d = _lab(donor)
    dm, tm, scale = stats.donor, stats.target, stats.scale
    skin = d.copy()
    skin[..., 0] = (d[..., 0] - dm[0]) * scale + tm[0]
    skin[..., 1:] += tm[1:] - dm[1:]
    if parts is None:
        return _rgb(skin)
    kept = d + PART_SHIFT * (tm - dm)
    p = parts[..., None]
    out = p * kept + (1 - p) * skin
    if lips is not None:  # the lips' own colour relative to the skin, toned down: a donor's lipstick is not theirs
        toned = out.copy()
        toned[..., 1:] = tm[1:] + LIP_CHROMA * (out[..., 1:] - tm[1:])
        q = lips[..., None]
        out = q * toned + (1 - q) * out
    return _rgb(out.astype(np.float32))


def match_colour(donor: np.ndarray, target: np.ndarray, ring: np.ndarray, parts: np.ndarray | None = None,
                 lips: np.ndarray | None = None) -> np.ndarray:
    """donor (H, W, 3) float or uint8 RGB with its colour statistics on ``ring`` moved to the target's (float32).

    ``parts`` (H, W) in [0, 1]: eye openings and inner mouth (:func:`stngan.data.tone.bright_parts`), which take
    only ``PART_SHIFT`` of the skin's shift and none of its contrast change: sclera and teeth do not darken
    with the skin (a dark face's eye whites are as bright as a light face's). ``lips`` (H, W) in [0, 1]
    (:func:`lip_map`): there the chroma's distance from the skin's is scaled by ``LIP_CHROMA``."""
    return apply_colour(donor, colour_stats(donor, target, ring), parts, lips)


def part_map(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the eye openings and inner mouth (:func:`stngan.data.tone.bright_parts`) grown
    by a pixel before its softened edge, so the whole opening is 1: a head shot's eye is 4-6 px high, and with
    the edge inside it the sclera took most of the skin's shift (measured on the darker half of the NBA head
    shots: eye whites L* 42 against the real 51)."""
    return cv2.dilate(bright_parts(landmarks, height, width), np.ones((3, 3), np.uint8))


def lip_map(landmarks: np.ndarray, height: int, width: int) -> np.ndarray:
    """(H, W) float32 in [0, 1]: between the outer (48-59) and inner (60-67) lip lines, edge softened by 1 px."""
    lm = np.round(np.asarray(landmarks, np.float64) * 16).astype(np.int32)
    canvas = np.zeros((height, width), np.uint8)
    cv2.fillPoly(canvas, [lm[48:60]], 255, cv2.LINE_AA, 4)
    cv2.fillPoly(canvas, [lm[60:68]], 0, cv2.LINE_AA, 4)
    return cv2.GaussianBlur(canvas.astype(np.float32) / 255.0, (0, 0), 1.0)


def _spread(values: np.ndarray) -> float:
    """Inter-quartile range: the skin's contrast, not the hair strands or highlights crossing the ring."""
    q1, q3 = np.percentile(values, [25, 75])
    return float(q3 - q1)


def detail(img: np.ndarray, region: np.ndarray) -> float:
    """:func:`~stngan.metrics.realism.laplacian_energy` on the float image (uint8 crops are not rounded to grey
    levels first, so donor and target are measured alike)."""
    return laplacian_energy(img.astype(np.float32), region)


def _sharpened(img: np.ndarray, amount: float) -> np.ndarray:
    """Unsharp mask (Gaussian sigma ``SHARPEN_SIGMA``): img + amount · (img − blurred)."""
    return img + amount * (img - cv2.GaussianBlur(img, (0, 0), SHARPEN_SIGMA)) if amount > 0 else img


def detail_settings(donor: np.ndarray, target: np.ndarray, ring: np.ndarray) -> tuple[float, float, float]:
    """(blur sigma, sharpen amount, grain std) that bring the donor's detail on ``ring`` to the target's: a
    softer target gets the sigma of ``SIGMAS`` whose detail comes closest, a sharper one the unsharp amount of
    ``AMOUNTS`` (the donor's own structure made crisper: eyes and lips keep their place relative to the skin,
    which grain alone did not give, measured on the NBA head shots: eye gradients half the real ones), then
    grain for what is still missing ((0, 0, 0) for a small ring)."""
    if ring.sum() < 16:
        return 0.0, 0.0, 0.0
    want = detail(target, ring)
    best, best_sigma, best_amount, best_gap = donor, 0.0, 0.0, abs(detail(donor, ring) - want)
    softer = detail(donor, ring) > want
    for step in (SIGMAS[1:] if softer else AMOUNTS[1:]):
        candidate = cv2.GaussianBlur(donor, (0, 0), step) if softer else _sharpened(donor, step)
        gap = abs(detail(candidate, ring) - want)
        if gap >= best_gap:
            break  # the detail moves monotonically with either
        best, best_gap = candidate, gap
        best_sigma, best_amount = (step, 0.0) if softer else (0.0, step)
    have = detail(best, ring)
    # |Laplacian| of white noise of std s (ksize 1) is about 3.6 s: the grain adds the missing part
    return best_sigma, best_amount, (want - have) / 3.6 if have < 0.9 * want else 0.0


def apply_detail(donor: np.ndarray, sigma: float, amount: float, grain: float,
                 noise: np.ndarray | None) -> np.ndarray:
    out = cv2.GaussianBlur(donor, (0, 0), sigma) if sigma > 0 else _sharpened(donor, amount)
    return out + grain * noise[..., None] if noise is not None and grain > 0 else out


def match_detail(donor: np.ndarray, target: np.ndarray, ring: np.ndarray,
                 noise: np.ndarray | None = None) -> np.ndarray:
    """The donor blurred or sharpened (or given noise) so its detail on ``ring`` matches the target's.
    ``noise``: a fixed (H, W) unit-variance pattern for the added grain (default: none added)."""
    return apply_detail(donor, *detail_settings(donor, target, ring), noise)


COLOUR_FOLLOW = 0.1  # weight of each new frame in a track's running colour move


class TrackHarmony:
    """A track's harmonisation kept steady over its frames: the colour move is a running average (each frame
    weighs ``COLOUR_FOLLOW``), the detail level (blur or sharpening, grain) is the one of the track's first face."""

    def __init__(self) -> None:
        self.colour: ColourStats | None = None
        self.detail: tuple[float, float, float] | None = None

    def __call__(self, donor: np.ndarray, target: np.ndarray, ring: np.ndarray, parts: np.ndarray | None,
                 lips: np.ndarray | None, noise: np.ndarray | None) -> np.ndarray:
        now = colour_stats(donor, target, ring)
        if now is not None:
            self.colour = now if self.colour is None else self.colour.blended(now, COLOUR_FOLLOW)
        out = apply_colour(donor, self.colour, parts, lips)
        if self.detail is None:
            self.detail = detail_settings(out, target, ring)
        return apply_detail(out, *self.detail, noise)
