"""Colour fidelity of an inpainted fill: CIELAB error against the original face, skin tone (ITA) and seams.

All functions take (H, W, 3) uint8 RGB images and (H, W) bool / {0, 1} masks (1 = inpainted). CIELAB is
OpenCV's conversion of float32 sRGB in [0, 1] (sRGB gamma removed, D65 white), which gives true L* in
[0, 100] and a*, b* in CIE units (8-bit input would give OpenCV's rescaled 0..255 codes instead).

- :func:`fill_colour_error`: per-pixel ΔE76 between output and original inside the mask, and the signed
  mean ΔL*, Δa*, Δb* (output − original): a fill that is right on average but noisy has a large ΔE and
  small deltas; an orange patch has a positive Δa*, Δb*.
- :func:`ita_degrees` / :func:`skin_tone_group`: skin tone from the Individual Typology Angle, to report
  errors per tone (a fill that suits pale skin may not suit dark skin).
- :func:`seam_error`: how much sharper the mask outline is in the output than in the real face.
"""
from __future__ import annotations

import math

import cv2
import numpy as np

# (lower bound, group) in descending order: ITA > bound → group. Chardon et al. 1991 (Int. J. Cosmet. Sci.
# 13:191-208) introduced ITA with the >55 / 41 / 28 / 10 limits; the "brown" / "dark" split at -30 is the
# six-group scheme of Del Bino et al. 2006 used in dermatology since.
SKIN_TONE_GROUPS = ((55.0, "very light"), (41.0, "light"), (28.0, "intermediate"), (10.0, "tan"),
                    (-30.0, "brown"), (-math.inf, "dark"))
SKIN_TONE_NAMES = tuple(name for _, name in SKIN_TONE_GROUPS)


def _check_image(img: np.ndarray, what: str) -> np.ndarray:
    if not isinstance(img, np.ndarray) or img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"{what} must be an (H, W, 3) uint8 RGB image, got "
                         f"{getattr(img, 'shape', None)} {getattr(img, 'dtype', type(img).__name__)}")
    return img


def _check_mask(mask: np.ndarray, shape: tuple[int, ...], what: str = "mask") -> np.ndarray:
    mask = np.asarray(mask)
    if mask.shape != tuple(shape[:2]):
        raise ValueError(f"{what} must be {shape[:2]}, got {mask.shape}")
    return mask.astype(bool)


def lab(img: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 sRGB → (H, W, 3) float32 L*, a*, b* (see module doc)."""
    img = _check_image(img, "image")
    return cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)


def fill_colour_error(original: np.ndarray, output: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Colour error of ``output`` against ``original`` over the mask pixels.

    Returns ``de`` (mean per-pixel ΔE76, the Euclidean CIELAB distance), ``dL``, ``da``, ``db`` (mean
    signed difference output − original: the bias), ``de_means`` (ΔE76 between the two mean colours: the
    bias alone, without the pixel-level noise) and ``pixels``. Values are nan when the mask is empty.
    """
    original, output = _check_image(original, "original"), _check_image(output, "output")
    if original.shape != output.shape:
        raise ValueError(f"original {original.shape} and output {output.shape} differ in size")
    m = _check_mask(mask, original.shape)
    n = int(m.sum())
    if n == 0:
        return {"de": math.nan, "dL": math.nan, "da": math.nan, "db": math.nan, "de_means": math.nan, "pixels": 0}
    diff = lab(output)[m].astype(np.float64) - lab(original)[m]
    bias = diff.mean(axis=0)
    return {"de": float(np.linalg.norm(diff, axis=1).mean()), "dL": float(bias[0]), "da": float(bias[1]),
            "db": float(bias[2]), "de_means": float(np.linalg.norm(bias)), "pixels": n}


def ita_degrees(img: np.ndarray, ring_mask: np.ndarray) -> float:
    """Individual Typology Angle (degrees) of the skin under ``ring_mask``: atan((L* − 50) / b*) · 180/π on
    the median L* and median b* of the ring (medians: robust to hair, brows and specular spots in it).

    nan for an empty ring; ±90 when the median b* is 0 (the limit of the formula).
    """
    ring = _check_mask(ring_mask, _check_image(img, "image").shape, "ring mask")
    if not ring.any():
        return math.nan
    px = lab(img)[ring]
    L, b = float(np.median(px[:, 0])), float(np.median(px[:, 2]))
    if b == 0.0:
        return math.copysign(90.0, L - 50.0)
    return math.degrees(math.atan((L - 50.0) / b))


def skin_tone_group(ita: float) -> str:
    """Skin-tone group of an ITA value: very light (> 55°), light (41–55), intermediate (28–41), tan
    (10–28), brown (−30–10), dark (≤ −30); thresholds after Chardon et al. 1991 (see SKIN_TONE_GROUPS).
    "unknown" for nan."""
    if math.isnan(ita):
        return "unknown"
    return next(name for low, name in SKIN_TONE_GROUPS if ita > low)


def _edge_pairs(mask: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """Index arrays (inside, outside) of every 4-neighbour pixel pair that straddles the mask edge."""
    inside, outside = [], []
    h, w = mask.shape
    ys, xs = np.mgrid[0:h, 0:w]
    for a, b in (((slice(None), slice(0, -1)), (slice(None), slice(1, None))),   # horizontal neighbours
                 ((slice(0, -1), slice(None)), (slice(1, None), slice(None)))):  # vertical neighbours
        ma, mb = mask[a], mask[b]
        pa, pb = (ys[a], xs[a]), (ys[b], xs[b])
        for m_in, p_in, p_out in ((ma & ~mb, pa, pb), (mb & ~ma, pb, pa)):
            inside.append((p_in[0][m_in], p_in[1][m_in]))
            outside.append((p_out[0][m_in], p_out[1][m_in]))
    cat = np.concatenate
    return ((cat([p[0] for p in inside]), cat([p[1] for p in inside])),
            (cat([p[0] for p in outside]), cat([p[1] for p in outside])))


def edge_step(img: np.ndarray, mask: np.ndarray) -> float:
    """Mean ΔE76 between each pixel just inside the mask edge and its 4-neighbour just outside (every
    straddling pair counts once); nan when the mask has no edge inside the image."""
    m = _check_mask(mask, _check_image(img, "image").shape)
    inside, outside = _edge_pairs(m)
    if len(inside[0]) == 0:
        return math.nan
    L = lab(img)
    return float(np.linalg.norm(L[inside] - L[outside], axis=1).mean())


def seam_error(output: np.ndarray, mask: np.ndarray, original: np.ndarray) -> float:
    """How visible the mask outline is: :func:`edge_step` of the output minus that of the original.

    The pixel pairs across the edge are the same in both, and the outside pixel of each pair is untouched by
    inpainting, so the difference isolates the step the fill adds at its border. 0 = as smooth as the real
    face there; > 0 = a visible seam (e.g. a fill of the wrong colour); slightly < 0 = smoother than the
    face's own texture (a blurry fill). In ΔE76 units, like :func:`fill_colour_error`.
    """
    if output.shape != original.shape:
        raise ValueError(f"output {output.shape} and original {original.shape} differ in size")
    return edge_step(output, mask) - edge_step(original, mask)
