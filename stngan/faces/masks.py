"""The paper's privacy mask: filled circles over both eyes, the nose and the mouth.

Sizes are defined at the scale of the paper's 128-px face crop and carried to any image through the
landmarks' own size: one "crop pixel" is ``unit = 1.4 * E / 128`` image pixels, where ``E`` is the larger of
the width and height of the bounding box of all 68 landmarks and 1.4 = 1 + 2 * 0.2 is the paper's padded
crop side relative to the face box (taken here as the landmark box, which dlib's boxes roughly equal).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from stngan.faces.image_io import check_mask, ensure_rgb_uint8
from stngan.faces.landmarks import LEFT_EYE, MOUTH, NOSE, RIGHT_EYE, check_landmarks

if TYPE_CHECKING:
    from stngan.faces.crop import CropTransform

REFERENCE_CROP_SIZE = 128
CROP_SIDE_PER_FACE = 1.4  # 1 + 2 * pad with the paper's pad 0.2
MARGIN_CROP_PX = 4.0  # radius beyond the farthest landmark of the part
PAPER_JITTER_CROP_PX = 3.0  # "randomly changing the radius of circular masks by 3 pixels"
MIN_MARGIN_PX = 1.0  # > sqrt(2)/2: the pixel holding each landmark stays covered however small the face
MASK_PARTS = ("right_eye", "left_eye", "nose", "mouth")
_PART_GROUPS = (RIGHT_EYE, LEFT_EYE, NOSE, MOUTH)


@dataclass(frozen=True)
class Circle:
    """A disc of radius ``r`` centred at (cx, cy) in pixel coordinates (pixel centres at integers)."""

    cx: float
    cy: float
    r: float

    def __post_init__(self) -> None:
        for name in ("cx", "cy", "r"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not (math.isfinite(self.cx) and math.isfinite(self.cy) and math.isfinite(self.r) and self.r >= 0):
            raise ValueError(f"circle needs a finite centre and a finite radius >= 0, got {self}")


@dataclass(frozen=True)
class MaskGeometry:
    """The mask as geometry: circles in the order of MASK_PARTS when built by :func:`mask_geometry`."""

    circles: tuple[Circle, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "circles", tuple(self.circles))

    def transformed(self, transform: CropTransform) -> MaskGeometry:
        """The same mask in crop coordinates: centres through ``transform.to_crop``, radii times its scale."""
        centres = transform.to_crop(np.array([[c.cx, c.cy] for c in self.circles], dtype=np.float64))
        return MaskGeometry(tuple(Circle(x, y, c.r * transform.scale)
                                  for (x, y), c in zip(centres.reshape(-1, 2), self.circles)))

    def dilated(self, px: float) -> MaskGeometry:
        """Every radius grown by ``px`` pixels (negative shrinks, never below 0)."""
        return MaskGeometry(tuple(Circle(c.cx, c.cy, max(c.r + px, 0.0)) for c in self.circles))

    def to_dict(self) -> dict:
        return {"circles": [{"cx": c.cx, "cy": c.cy, "r": c.r} for c in self.circles]}

    @classmethod
    def from_dict(cls, d: dict) -> MaskGeometry:
        return cls(tuple(Circle(c["cx"], c["cy"], c["r"]) for c in d["circles"]))


def crop_pixel_size(landmarks: np.ndarray) -> float:
    """Image pixels per pixel of the reference 128-px crop for these (68, 2) landmarks (see module doc)."""
    lm = check_landmarks(landmarks)
    extent = float(np.ptp(lm, axis=0).max())
    return CROP_SIDE_PER_FACE * extent / REFERENCE_CROP_SIZE


def mask_geometry(landmarks: np.ndarray, jitter: float = 0.0,
                  rng: np.random.Generator | int | None = None) -> MaskGeometry:
    """Circles over the right eye, left eye, nose and mouth of (68, 2) (x, y) landmarks.

    Each circle is centred on the mean of its part's points (eyes 36-41 / 42-47, nose 27-35, mouth 48-67)
    with radius ``reach + unit * (4 + delta)``, where ``reach`` is the largest distance from the centre to
    one of the part's points, ``unit`` is :func:`crop_pixel_size` and ``delta`` is drawn per circle uniformly
    from ``[-jitter, +jitter]`` (crop pixels; the paper uses 3). The radius is never below ``reach + 1``
    image pixel, so every part landmark, and the pixel it lies in, is inside the mask for any jitter.
    With ``jitter > 0``, ``rng`` (a numpy Generator or an int seed) is required and exactly 4 values are
    drawn from it, so the result is a deterministic function of (landmarks, jitter, rng state).
    """
    lm = check_landmarks(landmarks)
    if not (math.isfinite(jitter) and jitter >= 0):
        raise ValueError(f"jitter must be a finite number >= 0, got {jitter}")
    if jitter > 0:
        if rng is None:
            raise ValueError("mask jitter needs rng: pass a numpy Generator or an int seed")
        deltas = np.random.default_rng(rng).uniform(-jitter, jitter, size=len(_PART_GROUPS))
    else:
        deltas = np.zeros(len(_PART_GROUPS))
    unit = crop_pixel_size(lm)
    circles = []
    for group, delta in zip(_PART_GROUPS, deltas):
        pts = lm[group]
        centre = pts.mean(axis=0)
        reach = float(np.sqrt(((pts - centre) ** 2).sum(axis=1)).max())
        r = max(reach + unit * (MARGIN_CROP_PX + delta), reach + MIN_MARGIN_PX)
        circles.append(Circle(centre[0], centre[1], r))
    return MaskGeometry(tuple(circles))


def rasterize(geometry: MaskGeometry, height: int, width: int) -> np.ndarray:
    """(height, width) uint8 mask: pixel (i, j) is 1 iff (j - cx)^2 + (i - cy)^2 <= r^2 for some circle.

    Evaluated exactly in float64 over each circle's bounding rows/columns (not cv2.circle, whose integer
    rasterisation shifts edges by up to a pixel).
    """
    out = np.zeros((height, width), dtype=np.uint8)
    for c in geometry.circles:
        # one extra pixel each side so rounding in cy - r can never drop a boundary pixel
        i0, i1 = max(math.floor(c.cy - c.r) - 1, 0), min(math.ceil(c.cy + c.r) + 2, height)
        j0, j1 = max(math.floor(c.cx - c.r) - 1, 0), min(math.ceil(c.cx + c.r) + 2, width)
        if i0 >= i1 or j0 >= j1:
            continue
        di = (np.arange(i0, i1, dtype=np.float64) - c.cy)[:, None]
        dj = (np.arange(j0, j1, dtype=np.float64) - c.cx)[None, :]
        out[i0:i1, j0:j1] |= (dj * dj + di * di <= c.r * c.r).astype(np.uint8)
    return out


def apply_mask(img: np.ndarray, mask: np.ndarray, fill: tuple[int, int, int] = (0, 0, 0)) -> np.ndarray:
    """The masked input x_hat = x * (1 - m) + fill * m as a new (H, W, 3) uint8 image.

    ``mask`` is (H, W) bool or {0, 1}. ``fill`` is an RGB triple; the default black matches how anonymised
    media are usually published (blacked-out features), so models trained on it see real-world inputs.
    """
    img = ensure_rgb_uint8(img)
    m = check_mask(mask, img.shape[:2])
    f = np.asarray(fill)
    if f.shape != (3,) or not np.issubdtype(f.dtype, np.integer) or f.min() < 0 or f.max() > 255:
        raise ValueError(f"fill must be three integers in 0..255, got {fill!r}")
    out = img.copy()
    out[m] = f.astype(np.uint8)
    return out
