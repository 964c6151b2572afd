"""Turn a stored face (crop + landmarks) into a training sample: x, mask, x_hat and the condition c."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np

from stngan.data.tone import bright_parts
from stngan.faces.condition import render_condition
from stngan.faces.masks import mask_geometry, rasterize


def to_unit_range(crop: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 -> (3, H, W) float32 in [-1, 1]."""
    return (crop.astype(np.float32) * (2.0 / 255.0) - 1.0).transpose(2, 0, 1)


def frame_sample(crop: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator, *, mask_jitter: float,
                 hflip: float, with_cond: bool, with_parts: bool = False,
                 exemplar: Callable[..., np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """One sample as float32 arrays: x (3, H, W) in [-1, 1], mask (1, H, W) {0, 1} (1 = inpaint),
    x_hat = x * (1 - mask), cond (C, H, W) (C = 0 without landmarks); ``with_parts`` adds ``parts``
    (1, H, W), the eye openings and inner mouth for "skin" tone changes (:func:`stngan.data.tone.toned`).

    Random draws, in this order: the flip (one uniform, flipped when < ``hflip``), then the mask jitter
    (four uniforms when ``mask_jitter > 0``), then what ``exemplar(crop, landmarks, mask, rng)`` draws (its
    channels, :mod:`stngan.donors.exemplar`, are appended to cond). Flipping mirrors x, mask and cond together: the circles of
    the mask are mirror-symmetric and cond combines left and right parts in one channel, so mirrored arrays
    equal the arrays of the mirrored face.
    """
    h, w = crop.shape[:2]
    flip = hflip > 0 and rng.random() < hflip
    geometry = mask_geometry(landmarks, jitter=mask_jitter, rng=rng if mask_jitter > 0 else None)
    mask = rasterize(geometry, h, w)[None].astype(np.float32)
    cond = render_condition(landmarks, size=h) if with_cond else np.zeros((0, h, w), dtype=np.float32)
    if exemplar is not None:
        cond = np.concatenate([cond, exemplar(crop, landmarks, mask[0], rng)])
    x = to_unit_range(crop)
    extra = {"parts": bright_parts(landmarks, h, w)[None]} if with_parts else {}
    if flip:
        x, mask, cond = x[..., ::-1], mask[..., ::-1], cond[..., ::-1]
        extra = {k: v[..., ::-1] for k, v in extra.items()}
    x, mask, cond = (np.ascontiguousarray(a) for a in (x, mask, cond))
    extra = {k: np.ascontiguousarray(v) for k, v in extra.items()}
    return {"x": x, "mask": mask, "x_hat": x * (1.0 - mask), "cond": cond, **extra}


def stack_samples(samples: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """A list of frame samples -> the same keys with a leading T axis."""
    return {k: np.stack([s[k] for s in samples]) for k in samples[0]}
