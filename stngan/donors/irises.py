"""Donor irises recoloured to dark brown, applied to the bank's images when it is built.

Why: the person's own iris is under the mask (unknown, and a biometric), so the fill should show the most
common one. Half of the generator's faces have light (blue, grey, green) irises, and measured on the NBA head
shots the donor eyes' darkest tenth was L* 25 against the real eyes' 14 (a plain classifier told them apart
by the eyes' gradients, AUC 0.98). Dark brown is the majority iris worldwide and nearly universal for dark
skin tones; the pupil and the iris texture (deviations from the iris mean) are kept.

The iris: a disc of radius ``IRIS_PER_EYE`` × the eye's corner-to-corner width (iris ≈ 11.7 mm of a ≈ 30 mm
eye), centred on the opening's dark pixels (darker than halfway from its darkest to its brightest: iris and pupil,
not sclera), kept inside the opening.
"""
from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from stngan.errors import UserError

IRIS_PER_EYE = 0.22
IRIS_LAB = np.array([32.0, 9.0, 15.0], np.float32)  # dark brown under the generator's studio-like light (L* 24 looked like holes in light faces)
TEXTURE = 0.8  # share of the iris's own lightness texture kept
EYES = (slice(36, 42), slice(42, 48))


def iris_discs(image: np.ndarray, landmarks: np.ndarray) -> list[tuple[np.ndarray, float]]:
    """(centre (2,), radius) px of each eye's iris in the (H, W, 3) uint8 RGB ``image``."""
    lm = np.asarray(landmarks, np.float64)
    grey = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    discs = []
    for eye in EYES:
        pts = lm[eye]
        radius = IRIS_PER_EYE * float(np.linalg.norm(pts[3] - pts[0]))
        opening = _opening(pts, grey.shape, 1) > 0
        values = grey[opening]
        if values.size == 0:
            continue
        dark = opening & (grey <= (values.min() + values.max()) / 2)  # iris and pupil, not sclera
        ys, xs = np.nonzero(dark)
        x, y = xs.mean(), ys.mean()
        discs.append((np.array([x, y], np.float64), radius))
    return discs


def _opening(points: np.ndarray, shape: tuple[int, int], value: int) -> np.ndarray:
    """(H, W) uint8: the eye opening of ``points`` (its 6 landmarks) drawn with ``value``, anti-aliased."""
    canvas = np.zeros(shape, np.uint8)
    cv2.fillPoly(canvas, [np.round(points * 16).astype(np.int32)], value, cv2.LINE_AA, 4)
    return canvas


def iris_weight(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """(H, W) float32 in [0, 1]: the irises (discs inside the eye openings, edges softened by 1 px)."""
    lm = np.asarray(landmarks, np.float64)
    h, w = image.shape[:2]
    discs = np.zeros((h, w), np.uint8)
    for centre, radius in iris_discs(image, lm):
        cv2.circle(discs, tuple(np.round(centre * 16).astype(int)), int(round(radius * 16)), 255, -1, cv2.LINE_AA, 4)
    openings = np.maximum(*(_opening(lm[eye], (h, w), 255) for eye in EYES))
    # the opening is dilated by a pixel: the landmarks sit on the lid margin, the iris shows just above it
    openings = cv2.dilate(openings, np.ones((3, 3), np.uint8))
    weight = (discs.astype(np.float32) / 255.0) * (openings.astype(np.float32) / 255.0)
    return cv2.GaussianBlur(weight, (0, 0), 1.0)


def brown_irises(image: np.ndarray, landmarks: np.ndarray) -> np.ndarray:
    """``image`` (H, W, 3) uint8 RGB with its irises dark brown, their texture and pupil kept (uint8)."""
    weight = iris_weight(image, landmarks)
    if weight.max() <= 0:
        return image
    lab = cv2.cvtColor(image.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)
    region = weight > 0.5
    mean = lab[region].mean(0) if region.any() else IRIS_LAB
    recoloured = lab.copy()
    recoloured[..., 0] = np.minimum(IRIS_LAB[0] + TEXTURE * (lab[..., 0] - mean[0]), lab[..., 0])
    recoloured[..., 1:] = IRIS_LAB[1:] + 0.3 * (lab[..., 1:] - mean[1:])
    w = weight[..., None]
    out = cv2.cvtColor(w * recoloured + (1 - w) * lab, cv2.COLOR_Lab2RGB)
    return np.clip(np.round(out * 255.0), 0, 255).astype(np.uint8)


def recolour_bank(source: str | Path, out: str | Path) -> Path:
    """A copy of the bank at ``source`` with its irises made dark brown, written to ``out`` (a bank built before
    the build did it; refused for a bank whose irises are already done)."""
    from stngan.donors.bank import DonorBank, write_bank

    bank = DonorBank(source)
    if "irises" in bank.meta:
        raise UserError(f"{bank.path}: its irises are already {bank.meta['irises']}")
    images = [brown_irises(bank.image(r), bank.landmarks[r]) for r in range(len(bank))]
    meta = {k: v for k, v in bank.meta.items() if k not in ("version", "licence")}
    return write_bank(out, images, list(bank.landmarks), list(bank.identity), list(bank.variant), bank.attributes,
                      {**meta, "irises": "dark brown (stngan.donors.irises, recoloured after the build)"})
