"""Temporally coherent synthetic face "videos" for the spatio-temporal (STN) model.

A video is one identity w0 (a truncated sample) plus a smooth walk in w+ space and a smooth 2-D camera motion:

* latent walk: keyframes every ``key_every`` frames, each w0 plus (a) random multiples of the semantic
  directions of :mod:`stngan.synthetic.directions` (head yaw / pitch, mouth opening, smile, eye opening; in
  standard deviations of the FFHQ sample, ``amplitudes``) on the w+ rows [0, ``middle_layers``), and (b) a small
  per-layer fraction of another random face's offset from the average face (``pose_strength`` on the coarse
  rows 0..4, ``expression_strength`` on rows 5..10, ``detail_strength`` on the fine rows, 0 by default so
  colours and skin texture stay fixed and do not flicker). Keyframes are joined by a Catmull-Rom spline, so
  position and velocity are continuous (no stops, no jumps). Identity is roughly kept.
* camera motion: translation / rotation / zoom keyframes joined the same way, applied with
  :func:`cv2.warpAffine` at 1024 px with reflected borders, then area-downscaled to ``size``.

Same licence caveat as :mod:`stngan.synthetic.stylegan` (StyleGAN2-derived weights, NVIDIA Source Code
License-NC: non-commercial use only).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import cv2
import numpy as np

from stngan.synthetic.semantic import (SEMANTIC_AMPLITUDES, SEMANTIC_CLIP, SEMANTIC_ROWS, add_semantic,
                                       direction_matrix, draw_coefficients)
from stngan.synthetic.stylegan import NATIVE_SIZE, STYLE_DIM, FaceGenerator, SeedLike, as_rng, check_size, to_uint8

if TYPE_CHECKING:
    from stngan.synthetic.directions import Directions


@dataclass(frozen=True)
class WalkSettings:
    """Knobs of :func:`face_video`; strengths are fractions of a random face's offset from the mean w."""

    truncation: float = 0.7        # identity w0 = w_avg + truncation * (w - w_avg)
    key_every: float = 12.0        # frames between latent keyframes (larger = slower changes)
    amplitudes: tuple[tuple[str, float], ...] = SEMANTIC_AMPLITUDES
    clip: float = SEMANTIC_CLIP    # semantic keyframe values are clipped to +-clip standard deviations
    coarse_layers: int = 5         # w+ rows [0, coarse_layers) get pose_strength
    middle_layers: int = SEMANTIC_ROWS  # rows [coarse_layers, middle_layers) get expression_strength, the rest detail;
    #                                the semantic directions act on rows [0, middle_layers)
    pose_strength: float = 0.1
    expression_strength: float = 0.15
    detail_strength: float = 0.0
    motion_every: float = 16.0     # frames between camera keyframes
    shift: float = 0.025           # std of the translation, as a fraction of the frame size
    rotation_deg: float = 3.0      # std of the in-plane rotation in degrees
    zoom: float = 0.03             # std of the log scale factor

    def __post_init__(self) -> None:
        if self.key_every <= 0 or self.motion_every <= 0:
            raise ValueError("key_every and motion_every must be positive")
        if not 0 <= self.coarse_layers <= self.middle_layers:
            raise ValueError("need 0 <= coarse_layers <= middle_layers")


def catmull_rom(keys: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Uniform Catmull-Rom spline through ``keys`` (K, ...) at parameters ``t`` (T,) in [1, K - 2].

    Key k sits at t = k; the first and last keys only shape the tangents at the ends. Returns (T, ...).
    C1-continuous: positions and velocities have no jumps.
    """
    keys = np.asarray(keys, dtype=np.float64)
    k = keys.shape[0]
    if k < 4:
        raise ValueError(f"catmull_rom needs at least 4 keys, got {k}")
    t = np.asarray(t, dtype=np.float64)
    if t.size and (t.min() < 1 or t.max() > k - 2):
        raise ValueError(f"t must lie in [1, {k - 2}]")
    i = np.clip(np.floor(t).astype(int), 1, k - 3)
    u = (t - i).reshape((-1,) + (1,) * (keys.ndim - 1))
    p0, p1, p2, p3 = keys[i - 1], keys[i], keys[i + 1], keys[i + 2]
    return 0.5 * ((2 * p1) + (-p0 + p2) * u + (2 * p0 - 5 * p1 + 4 * p2 - p3) * u ** 2
                  + (-p0 + 3 * p1 - 3 * p2 + p3) * u ** 3)


def _spline_times(frames: int, every: float) -> tuple[int, np.ndarray]:
    """Number of keys (incl. the two tangent keys) and per-frame spline parameters for ``frames`` frames."""
    span = max(frames - 1, 0) / every
    n_keys = int(np.ceil(span)) + 3  # keys 1 .. ceil(span)+1 cover the frames, plus one on each end
    return n_keys, 1.0 + np.arange(frames) / every


def latent_walk(generator: FaceGenerator, seed: SeedLike, frames: int, settings: WalkSettings | None = None,
                directions: Directions | None = None) -> np.ndarray:
    """A smooth w+ trajectory around one random identity: (frames, L, 512) float32.

    ``directions``: the semantic directions the walk moves along (required when ``settings.amplitudes``
    is not empty; :func:`stngan.synthetic.directions.load_directions` gives the shipped ones).
    """
    s = settings or WalkSettings()
    rng = as_rng(seed)
    w0 = generator.sample_w(rng, 1, s.truncation)[0]                     # (512,)
    n_keys, t = _spline_times(frames, s.key_every)
    others = generator.mapping(rng.standard_normal((n_keys, STYLE_DIM), dtype=np.float32))
    offsets = others - generator.w_avg                                    # (K, 512) directions on the manifold
    n_layers = generator.num_layers
    strength = np.full(n_layers, s.detail_strength, np.float32)
    strength[:s.coarse_layers] = s.pose_strength
    strength[s.coarse_layers:s.middle_layers] = s.expression_strength
    keys = w0[None, None, :] + strength[None, :, None] * offsets[:, None, :]  # (K, L, 512)
    if s.amplitudes:
        if directions is None:
            raise ValueError("a walk with semantic amplitudes needs directions "
                             "(stngan.synthetic.directions.load_directions)")
        vecs, amps = direction_matrix(directions, s.amplitudes)
        add_semantic(keys, draw_coefficients(rng, n_keys, amps, s.clip), vecs, s.middle_layers)
    return catmull_rom(keys, t).astype(np.float32)


def camera_motion(seed: SeedLike, frames: int, size: int, settings: WalkSettings | None = None) -> np.ndarray:
    """Smooth similarity transforms about the frame centre: (frames, 2, 3) float64 matrices for ``size`` px."""
    s = settings or WalkSettings()
    rng = as_rng(seed)
    n_keys, t = _spline_times(frames, s.motion_every)
    keys = rng.standard_normal((n_keys, 4)) * np.array([s.shift * size, s.shift * size, s.rotation_deg, s.zoom])
    params = catmull_rom(keys, t)
    centre = ((size - 1) / 2.0, (size - 1) / 2.0)
    mats = np.empty((frames, 2, 3))
    for i, (dx, dy, angle, log_zoom) in enumerate(params):
        m = cv2.getRotationMatrix2D(centre, float(angle), float(np.exp(log_zoom)))
        m[:, 2] += (dx, dy)
        mats[i] = m
    return mats


def render(generator: FaceGenerator, wplus: np.ndarray, motion: np.ndarray | None = None,
           size: int | None = 256) -> np.ndarray:
    """Synthesize w+ frames (T, L, 512), warp each by ``motion`` (T, 2, 3) given for 1024 px frames (or None),
    area-downscale to ``size``; returns (T, S, S, 3) uint8 RGB."""
    size = check_size(size)
    frames = wplus.shape[0]
    if motion is not None and motion.shape != (frames, 2, 3):
        raise ValueError(f"motion must have shape ({frames}, 2, 3), got {motion.shape}")
    s = NATIVE_SIZE if size is None else size
    out = np.empty((frames, s, s, 3), np.uint8)
    for i in range(frames):
        img = generator.synthesize_raw(wplus[i:i + 1])[0]                 # (3, 1024, 1024) float32
        if motion is not None:
            hwc = cv2.warpAffine(np.ascontiguousarray(img.transpose(1, 2, 0)), motion[i], (NATIVE_SIZE, NATIVE_SIZE),
                                 flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT_101)
            img = hwc.transpose(2, 0, 1)
        out[i] = to_uint8(img, size)
    return out


def face_video(seed: SeedLike, frames: int = 30, size: int = 256, generator: FaceGenerator | None = None,
               settings: WalkSettings | None = None, motion: bool = True,
               directions: Directions | None = None) -> np.ndarray:
    """A synthetic face video: (frames, size, size, 3) uint8 RGB, deterministic for an int seed.

    One identity, slowly changing pose and expression, plus (``motion=True``) a smooth small camera motion.
    Pass a shared ``generator`` when making many videos (a new one compiles the networks, a few seconds).
    Cost: about 0.5 s per frame on one CPU core.
    """
    if frames < 1:
        raise ValueError(f"frames must be >= 1, got {frames}")
    gen = generator if generator is not None else FaceGenerator()
    rng = as_rng(seed)
    latent_seed, motion_seed = rng.spawn(2)
    wplus = latent_walk(gen, latent_seed, frames, settings, directions)
    mats = camera_motion(motion_seed, frames, NATIVE_SIZE, settings) if motion else None
    return render(gen, wplus, mats, size)
