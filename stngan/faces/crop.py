"""The square face crop: frame <-> crop coordinate maps, cropping, and pasting results back.

Coordinates follow dlib's convention in both spaces: integer coordinates are pixel centres, pixel ``j``
spans ``[j - 0.5, j + 0.5]``. The crop window is the frame square ``[cx - side/2, cx + side/2]`` (and the
same in y) and is resampled to ``size x size`` pixels whose outer edges coincide with the square's, so a
frame point x maps to ``u = (x - cx) * size / side + size / 2 - 0.5``.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import cv2
import numpy as np

from stngan.faces.box import Box
from stngan.faces.image_io import check_mask, ensure_rgb_uint8

# Resampling by a factor above this gets a Gaussian pre-blur; bilinear alone aliases beyond ~2x.
_ANTIALIAS_ABOVE = 2.0


def antialias_sigma(factor: float) -> float:
    """Gaussian sigma (source pixels) before downscaling by ``factor`` (source px per output px).

    Zero up to 2x, else ``(factor - 1) / 2``, the rule of skimage.transform.resize(anti_aliasing=True).
    """
    return 0.0 if factor <= _ANTIALIAS_ABOVE else (factor - 1.0) / 2.0


@dataclass(frozen=True)
class CropTransform:
    """Similarity (scale + translation) between a frame and its ``size x size`` face crop.

    ``cx, cy`` is the crop centre and ``side`` the crop's side length, both in frame pixels. Crops that
    reach outside the frame repeat the frame's edge pixels (cv2.BORDER_REPLICATE) instead of filling with a
    constant: the generator then never sees an artificial black band at the image border.
    """

    cx: float
    cy: float
    side: float
    size: int = 128

    def __post_init__(self) -> None:
        for name in ("cx", "cy", "side"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not (math.isfinite(self.cx) and math.isfinite(self.cy) and math.isfinite(self.side)
                and self.side > 0):
            raise ValueError(f"crop centre must be finite and side positive, got {self}")
        if int(self.size) != self.size or self.size < 1:
            raise ValueError(f"crop size must be a positive integer, got {self.size!r}")
        object.__setattr__(self, "size", int(self.size))

    @classmethod
    def from_box(cls, box: Box, pad: float = 0.2, size: int = 128) -> CropTransform:
        """Square crop around a detector box, as in the paper (pad 0.2, 128 px).

        The box is made square on its longer side L and each side padded by ``pad * L``:
        ``side = L * (1 + 2 * pad)``, centred on the box centre.
        """
        if pad < -0.5 or not math.isfinite(pad):
            raise ValueError(f"pad must be finite and > -0.5, got {pad}")
        cx, cy = box.center
        return cls(cx, cy, max(box.width, box.height) * (1.0 + 2.0 * pad), size)

    @property
    def copies_pixels(self) -> bool:
        """One crop pixel per frame pixel on the frame's pixel grid: cropping and pasting copy pixels exactly."""
        off_x, off_y = self._offset
        return self.size == self.side and float(off_x).is_integer() and float(off_y).is_integer()

    @property
    def scale(self) -> float:
        """Crop pixels per frame pixel."""
        return self.size / self.side

    @property
    def _offset(self) -> tuple[float, float]:
        """Translation of the frame->crop map: u = scale * x + offset_x."""
        half = self.size / 2.0 - 0.5
        return half - self.scale * self.cx, half - self.scale * self.cy

    @property
    def matrix(self) -> np.ndarray:
        """(2, 3) float64 affine matrix mapping frame (x, y, 1) to crop (u, v)."""
        s = self.scale
        tx, ty = self._offset
        return np.array([[s, 0.0, tx], [0.0, s, ty]])

    @property
    def inverse_matrix(self) -> np.ndarray:
        """(2, 3) float64 affine matrix mapping crop (u, v, 1) to frame (x, y)."""
        s = self.scale
        tx, ty = self._offset
        return np.array([[1.0 / s, 0.0, -tx / s], [0.0, 1.0 / s, -ty / s]])

    @staticmethod
    def _as_points(points: np.ndarray) -> tuple[np.ndarray, np.dtype]:
        p = np.asarray(points)
        if p.ndim == 0 or p.shape[-1] != 2:
            raise ValueError(f"points must have shape (..., 2), got {p.shape}")
        out_dtype = p.dtype if np.issubdtype(p.dtype, np.floating) else np.dtype(np.float64)
        return p.astype(np.float64), out_dtype

    def to_crop(self, points: np.ndarray) -> np.ndarray:
        """Frame (..., 2) (x, y) points -> crop coordinates; float input keeps its dtype, else float64."""
        p, dtype = self._as_points(points)
        tx, ty = self._offset
        return (p * self.scale + np.array([tx, ty])).astype(dtype)

    def to_frame(self, points: np.ndarray) -> np.ndarray:
        """Crop (..., 2) (u, v) points -> frame coordinates; exact inverse of :meth:`to_crop`."""
        p, dtype = self._as_points(points)
        tx, ty = self._offset
        return ((p - np.array([tx, ty])) / self.scale).astype(dtype)

    def _source_for_crop(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The pixels to sample and the frame->crop matrix for them.

        When shrinking by more than 2x, only the crop's footprint (plus the blur's reach) is cut out and
        Gaussian-blurred, so the cost does not grow with the frame size.
        """
        sigma = antialias_sigma(1.0 / self.scale)
        if sigma == 0.0:
            return frame, self.matrix
        h, w = frame.shape[:2]
        reach = math.ceil(3.0 * sigma) + 2  # cv2's 8-bit Gaussian kernel radius is 3 sigma; +2 for bilinear
        half = self.side / 2.0
        x0 = min(max(math.floor(self.cx - half) - reach, 0), w - 1)
        y0 = min(max(math.floor(self.cy - half) - reach, 0), h - 1)
        x1 = max(min(math.ceil(self.cx + half) + reach + 1, w), x0 + 1)
        y1 = max(min(math.ceil(self.cy + half) + reach + 1, h), y0 + 1)
        roi = cv2.GaussianBlur(frame[y0:y1, x0:x1], (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        m = self.matrix
        m[:, 2] += self.scale * np.array([x0, y0])
        return roi, m

    def crop(self, frame: np.ndarray) -> np.ndarray:
        """(size, size, 3) uint8 bilinear crop of an (H, W, 3) uint8 RGB frame.

        Downscaling by more than 2x first blurs with sigma ``(factor - 1) / 2`` frame px (see
        :func:`antialias_sigma`) so fine texture (hair, fabric, compression noise) does not alias into moire.
        Outside the frame, edge pixels are replicated.
        """
        frame = ensure_rgb_uint8(frame, "frame")
        src, m = self._source_for_crop(frame)
        return cv2.warpAffine(src, m, (self.size, self.size), flags=cv2.INTER_LINEAR,
                              borderMode=cv2.BORDER_REPLICATE)

    def paste(self, frame: np.ndarray, crop_img: np.ndarray, frame_mask: np.ndarray) -> np.ndarray:
        """A new frame whose pixels with ``frame_mask == 1`` are sampled from ``crop_img``.

        ``frame_mask`` is (H, W) bool or {0, 1} integers in frame coordinates. Each masked frame pixel takes
        the bilinear sample of ``crop_img`` at its crop coordinates (edge pixels replicated where it falls
        outside the crop; a Gaussian pre-blur when the crop is shrunk by more than 2x); every other pixel is
        bit-identical to ``frame``. The inputs are not modified.
        """
        frame = ensure_rgb_uint8(frame, "frame")
        crop_img = ensure_rgb_uint8(crop_img, "crop_img")
        if crop_img.shape[:2] != (self.size, self.size):
            raise ValueError(f"crop_img must be ({self.size}, {self.size}, 3), got {crop_img.shape}")
        mask = check_mask(frame_mask, frame.shape[:2])
        out = frame.copy()
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        if rows.size == 0:
            return out
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        sigma = antialias_sigma(self.scale)
        if sigma > 0.0:
            crop_img = cv2.GaussianBlur(crop_img, (0, 0), sigma, borderType=cv2.BORDER_REPLICATE)
        m = self.matrix  # frame -> crop, shifted so the destination starts at (x0, y0)
        m[:, 2] += self.scale * np.array([x0, y0])
        warped = cv2.warpAffine(crop_img, m, (int(x1 - x0), int(y1 - y0)),
                                flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP, borderMode=cv2.BORDER_REPLICATE)
        sub = mask[y0:y1, x0:x1]
        out[y0:y1, x0:x1][sub] = warped[sub]
        return out

    def to_dict(self) -> dict[str, float | int]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> CropTransform:
        return cls(d["cx"], d["cy"], d["side"], d["size"])
