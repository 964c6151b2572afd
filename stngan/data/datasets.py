"""torch Datasets over a prepared store: single frames (SI), T-frame windows (STN) of videos or, with known
motion, of still faces.

All are picklable for DataLoader workers: each worker reopens the store's memory maps lazily. Randomness
(mask jitter, flips) is a pure function of (seed, epoch, index), so a resumed run sees the same samples.
Call :meth:`set_epoch` before each epoch's DataLoader iterator is created; with ``persistent_workers=True``
the workers keep the dataset copy they were started with, so give them a fresh iterator per epoch instead.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from stngan.config import TONE_MODES
from stngan.data.augment import FaceAugment, augmented_face
from stngan.data.motion import Motion, apply_gain, backward_flows, warp_image, warp_points
from stngan.data.sample import frame_sample, stack_samples
from stngan.data.store import FaceStore, StoreError
from stngan.data.tone import Tone, toned

Sample = dict[str, "torch.Tensor | int"]


class _StoreDataset(Dataset):
    def __init__(self, store_path: str | Path, split: str, mask_jitter: float, landmarks: bool, seed: int,
                 tone: float = 0.0, hflip: float = 0.0, tone_mode: str = "uniform",
                 exemplar: Callable[..., np.ndarray] | None = None) -> None:
        if mask_jitter < 0:
            raise ValueError(f"mask_jitter must be >= 0, got {mask_jitter}")
        if not 0.0 <= tone <= 1.0:
            raise ValueError(f"tone must be in [0, 1], got {tone}")
        if not 0.0 <= hflip <= 1.0:
            raise ValueError(f"hflip must be in [0, 1], got {hflip}")
        if tone_mode not in TONE_MODES:
            raise ValueError(f"tone_mode must be one of {', '.join(TONE_MODES)}, got {tone_mode!r}")
        self.tone_mode = tone_mode
        self.hflip = float(hflip)
        self.store = FaceStore(store_path)
        self.split, self.mask_jitter, self.landmarks, self.seed = split, float(mask_jitter), landmarks, seed
        self.tone = float(tone)
        # model.exemplar: ``exemplar(crop, landmarks, mask, rng)`` gives channels appended to each frame's cond
        # (:class:`stngan.donors.exemplar.RandomExemplar`); None otherwise
        self.exemplar = exemplar
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = int(epoch)

    def _rng(self, index: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, self.epoch, index])

    def _frame(self, i: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return self._sample(self.store.crop(i), self.store.landmarks(i), rng)

    def _sample(self, crop: np.ndarray, landmarks: np.ndarray, rng: np.random.Generator) -> dict[str, np.ndarray]:
        return frame_sample(crop, landmarks, rng, mask_jitter=self.mask_jitter, hflip=self.hflip,
                            with_cond=self.landmarks, with_parts=self.with_parts, exemplar=self.exemplar)

    @property
    def with_parts(self) -> bool:
        """Samples carry the eye openings and inner mouth ("skin" tone changes spare them)."""
        return self.tone_mode == "skin" and self.tone > 0

    def _faces_of_split(self) -> np.ndarray:
        """Store indices of the split's faces (one item each); StoreError when there are none."""
        indices = self.store.split_indices(self.split)
        if len(indices) == 0:
            raise self._empty("faces")
        return indices

    def _empty(self, what: str) -> StoreError:
        return StoreError(f"{self.store.path} has no {what} in split {self.split!r} "
                          f"(faces per split: {self.store.counts})")


def _tensors(arrays: dict[str, np.ndarray], index: int) -> Sample:
    return {**{k: torch.from_numpy(v) for k, v in arrays.items()}, "index": index}


class FrameDataset(_StoreDataset):
    """Single faces for spatial inpainting (SI / SI-lm).

    Item: ``x`` (3, 128, 128) float32 in [-1, 1], ``mask`` (1, 128, 128) float32 {0, 1} (1 = inpaint),
    ``x_hat`` = x * (1 - mask), ``cond`` (C, 128, 128) float32 landmark maps ((0, 128, 128) when
    ``landmarks=False``), ``index`` (position in this dataset; the store item is ``indices[index]``).
    Masks follow the landmarks, radii jittered by up to ``mask_jitter`` crop px (paper: 3); images are
    mirrored with probability ``hflip`` (paper: 0.5) and re-toned with probability ``tone`` (not in the
    paper; see stngan.data.tone). Before that (not in the paper; :mod:`stngan.data.augment`) the face may be
    rolled by up to ``rotate`` degrees and zoomed by up to ``scale``, landmarks with it, and get a hand or
    microphone over part of the mask with probability ``occluders``; all 0 (default) draws nothing extra.
    """

    def __init__(self, store_path: str | Path, split: str = "train", mask_jitter: float = 3.0, hflip: float = 0.5,
                 landmarks: bool = True, seed: int = 0, tone: float = 0.0, *, rotate: float = 0.0,
                 scale: float = 0.0, occluders: float = 0.0, tone_mode: str = "uniform",
                 exemplar: Callable[..., np.ndarray] | None = None) -> None:
        super().__init__(store_path, split, mask_jitter, landmarks, seed, tone, hflip, tone_mode, exemplar)
        self.augment = FaceAugment(rotate=rotate, scale=scale, occluders=occluders)
        self.indices = self._faces_of_split()

    def __len__(self) -> int:
        return len(self.indices)

    def face(self, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(crop (H, W, 3) uint8, landmarks (68, 2)) of item ``index`` after the pose/occluder augmentation."""
        i = int(self.indices[index])
        crop, lm = self.store.crop(i), self.store.landmarks(i)
        if not self.augment.active:
            return crop, lm
        return augmented_face(crop, lm, self.augment, [self.seed, self.epoch, index])

    def __getitem__(self, index: int) -> Sample:
        rng = self._rng(index)
        crop, lm = self.face(index)
        sample = self._sample(crop, lm, rng)
        return _tensors(toned(sample, Tone.draw(rng, self.tone)), index)


class WindowDataset(_StoreDataset):
    """T consecutive frames of one video for spatio-temporal inpainting (STN / STN-lm).

    Item: the keys of :class:`FrameDataset` with a leading T axis (``x`` (T, 3, 128, 128), ...), frames in
    time order (the last is the one STN-GAN outputs), ``index`` = window number; ``windows[index]`` are the
    store items. Each frame's mask follows its own landmarks; the flip (probability ``hflip``), the radius
    jitter (``mask_jitter``) and the tone (probability ``tone``) are drawn once per window, so a window
    stays one consistent clip. The ``exemplar`` (as in :class:`FrameDataset`) keeps one donor identity and mirror
    per window, each frame's donor warped to that frame's own landmarks. Window rule: :mod:`stngan.data.windows`.
    """

    def __init__(self, store_path: str | Path, split: str = "train", T: int = 3, mask_jitter: float = 0.0,
                 hflip: float = 0.0, landmarks: bool = True, seed: int = 0, tone: float = 0.0,
                 tone_mode: str = "uniform", exemplar: Callable[..., np.ndarray] | None = None) -> None:
        super().__init__(store_path, split, mask_jitter, landmarks, seed, tone, hflip, tone_mode, exemplar)
        self.T = T
        self.windows = self.store.windows(split, T)
        if len(self.windows) == 0:
            raise self._empty(f"{T}-frame windows")

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, index: int) -> Sample:
        rng = self._rng(index)
        start = rng.bit_generator.state
        frames = []
        for i in self.windows[index]:
            rng.bit_generator.state = start  # every frame makes the same flip, jitter and exemplar draws
            frames.append(self._frame(int(i), rng))
        tone = Tone.draw(rng, self.tone)
        return _tensors(stack_samples([toned(f, tone) for f in frames]), index)


class MotionWindowDataset(_StoreDataset):
    """T-frame windows with known motion made from single stored faces (:mod:`stngan.data.motion`).

    Item: the keys of :class:`WindowDataset` plus ``flow`` (T, 2, H, W) exact backward flow in px,
    ``valid`` (T, 1, H, W) {0, 1} where the flow's source lies inside the crop (all 0 for frame 0),
    ``gain`` (T,) brightness of frame t over frame t−1 in [0, 1] space (1 without drift) and ``landmarks``
    (T, 68, 2). Every face of the split gives one window, so still-image stores train STN. Each frame's mask
    and condition are drawn from its own warped landmarks; the flip, the radius jitter, the motion and the
    tone are drawn once per window, and so are the ``exemplar``'s identity and mirror (as in
    :class:`WindowDataset`). Per frame: ``shift`` (fraction of the crop side per axis), ``zoom`` (|scale − 1|),
    ``rotate`` (degrees) and ``brightness`` (|gain − 1|) bound the uniform draws.
    """

    def __init__(self, store_path: str | Path, split: str = "train", T: int = 3, mask_jitter: float = 0.0,
                 hflip: float = 0.0, landmarks: bool = True, seed: int = 0, tone: float = 0.0, *,
                 shift: float = 0.02, zoom: float = 0.03, rotate: float = 2.0, brightness: float = 0.0,
                 tone_mode: str = "uniform", exemplar: Callable[..., np.ndarray] | None = None) -> None:
        super().__init__(store_path, split, mask_jitter, landmarks, seed, tone, hflip, tone_mode, exemplar)
        if T < 2:
            raise ValueError(f"known-motion windows need T >= 2, got {T}")
        self.T = T
        self.motion = dict(shift=shift, zoom=zoom, rotate=rotate, brightness=brightness)
        self.indices = self._faces_of_split()

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, index: int) -> Sample:
        rng = self._rng(index)
        i = int(self.indices[index])
        crop, lm = np.asarray(self.store.crop(i)), self.store.landmarks(i)
        size = crop.shape[0]
        if self.hflip > 0 and rng.random() < self.hflip:
            crop, lm = crop[:, ::-1], np.stack([size - 1 - lm[:, 0], lm[:, 1]], axis=1)
        motion = Motion.draw(rng, size, **self.motion)
        matrices = motion.matrices(self.T, size)
        gains = motion.gains(self.T)
        start = rng.bit_generator.state
        frames, points = [], []
        for t in range(self.T):
            rng.bit_generator.state = start  # every frame makes the same jitter and exemplar draws
            lm_t = warp_points(lm, matrices[t])
            f = frame_sample(warp_image(crop, matrices[t]), lm_t, rng, mask_jitter=self.mask_jitter, hflip=0.0,
                             with_cond=self.landmarks, with_parts=self.with_parts, exemplar=self.exemplar)
            x = apply_gain(f["x"], float(gains[t]))
            frames.append({**f, "x": x, "x_hat": x * (1.0 - f["mask"])})
            points.append(lm_t)
        tone = Tone.draw(rng, self.tone)
        flow, valid = backward_flows(matrices, size)
        step_gain = np.concatenate([[1.0], gains[1:] / gains[:-1]]).astype(np.float32)
        arrays = stack_samples([toned(f, tone) for f in frames])
        return _tensors({**arrays, "flow": flow, "valid": valid, "gain": step_gain,
                         "landmarks": np.stack(points)}, index)
