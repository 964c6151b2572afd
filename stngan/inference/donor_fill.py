"""The exemplar fill: a synthetic donor, chosen per track, warped onto each frame's landmarks, harmonised and
Poisson-blended into the mask — :class:`DonorInpainter`, a drop-in for
:class:`stngan.inference.inpainter.Inpainter` in ``inpaint`` / ``anonymize --inpaint`` / ``demo``.

It works on crops at about the face's own resolution (:meth:`DonorInpainter.crop_size_for`: one crop pixel
per frame pixel, at most ``max_crop``), not at the 128² of the learned models, so a large face gets the
donor's full detail. Nothing of the original under the mask is read: the crop's masked pixels are zero
before anything looks at them, and the donor is a synthetic face.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch

from stngan.donors.attributes import chin_shadow, inter_ocular, measure
from stngan.donors.bank import DonorBank, shipped_bank_dir
from stngan.donors.choose import Choice, EyeReference, choose_identity
from stngan.donors.exemplar import exemplar_channels, harmonised_donor
from stngan.donors.harmonise import TrackHarmony
from stngan.donors.smoothing import OneEuro
from stngan.faces.condition import render_condition
from stngan.inference.blend import BLEND_MODES, coarse_poisson_blend
from stngan.inference.crops import EDGE_BAND_PX, CropInput, to_uint8
from stngan.inference.inpainter import Inpainter
from stngan.inference.temporal import DEFAULT_WEIGHT, check_weight

MIN_CROP, MAX_CROP = 96, 256  # 256: about the bank's own resolution (a 256² donor image, face 1.6x inside)
POISSON_SIDE = 128  # the colour correction is solved at this size at most (coarse_poisson_blend)


class DonorInpainter:
    """``inpaint(items)`` → composited crops y, like :class:`~stngan.inference.inpainter.Inpainter`.

    Per track: one donor identity for the track's whole life (chosen on its first face from the visible skin
    and the pose, :mod:`stngan.donors.choose`), its landmarks filtered by a one-euro filter (video: jitter
    removed, a blink kept), and a fixed grain pattern. ``seed`` and ``pinned`` (``--donor ID``) as in
    :func:`~stngan.donors.choose.choose_identity`. ``refiner``: an exemplar-conditioned G (``model.exemplar``)
    that gets the harmonised donor and its validity as input and paints the fill (its own blend), instead of
    the donor being pasted; an STN refiner streams each track (items of a track in frame order).
    """

    kind = "donor"
    smooth_radius = 0  # landmarks arrive unsmoothed: the one-euro filter here smooths them without lag
    crop_size = 128  # nominal, for landmark perturbation (--perturb is given in 128-px crop pixels)

    def __init__(self, bank: str | Path | DonorBank | None = None, seed: int = 0, pinned: int | None = None,
                 blend: str = "poisson", temporal: float = DEFAULT_WEIGHT, video: bool = True,
                 max_crop: int = MAX_CROP, refiner: Inpainter | None = None) -> None:
        if blend not in BLEND_MODES:
            raise ValueError(f"unknown blend mode {blend!r}; use one of {', '.join(BLEND_MODES)}")
        self.bank = bank if isinstance(bank, DonorBank) else DonorBank(bank or shipped_bank_dir())
        if pinned is not None:
            self.bank.variants_of(pinned)
        self.seed, self.pinned, self.blend, self.video = seed, pinned, blend, video
        self.temporal = check_weight(temporal)
        self.max_crop = max_crop
        self.refiner = refiner  # an exemplar G (model.exemplar) that refines the donor instead of pasting it
        self.device = torch.device("cpu") if refiner is None else refiner.device
        self.path = self.bank.path
        self.choices: dict[int, Choice] = {}
        self._filters: dict[int, OneEuro] = {}
        self._noise: dict[int, np.ndarray] = {}  # per track (a track's crops all have one size)
        self._harmony: dict[int, TrackHarmony] = {}
        self._eyes: dict[int, EyeReference] = {}

    @property
    def history(self) -> int:
        """Previous frames of a track the fill remembers: the refiner's (an exemplar STN streams T − 1)."""
        return 0 if self.refiner is None else self.refiner.history

    @property
    def pixel_aligned(self) -> bool:
        """Crops copy frame pixels 1:1 (no resampling blur on the way in or out); a refiner G takes its size."""
        return self.refiner is None

    def frame_blend(self, item: CropInput) -> str:
        """The blend after paste-back: none where the crop copies frame pixels (the crop's own blend matched
        the edge at frame resolution already), ``blend`` otherwise."""
        return "none" if self.refiner is None and item.transform.copies_pixels else self.blend

    @property
    def runtime_name(self) -> str:
        return "donor warp" if self.refiner is None else f"donor warp + exemplar G ({self.refiner.runtime_name})"

    def crop_size_for(self, side: float) -> int:
        """Crop pixels for a crop window of ``side`` frame pixels: about one per frame pixel (the refiner's input
        size with one)."""
        if self.refiner is not None:
            return self.refiner.crop_size
        return int(np.clip(math.ceil(side), MIN_CROP, self.max_crop))

    def inpaint(self, items: list[CropInput]) -> list[torch.Tensor] | torch.Tensor:
        if self.refiner is None:
            return [self._paste(item, *self.donor(item)) for item in items]
        if not items:
            return torch.empty(0, 3, self.crop_size, self.crop_size)
        conds = []
        for item in items:
            donor, valid, lm = self.donor(item)
            landmarks = render_condition(lm, size=item.x_hat.shape[-1])
            conds.append(torch.from_numpy(np.concatenate([landmarks, exemplar_channels(donor, valid)])))
        return self.refiner.inpaint_tensors(torch.stack([i.x_hat for i in items]), torch.stack([i.mask for i in items]),
                                            torch.stack(conds), [i.track for i in items])

    def choice(self, track: int) -> Choice | None:
        return self.choices.get(track)

    def donor(self, item: CropInput) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The track's donor for this crop, warped and harmonised: (S, S, 3) float32 in [0, 255], valid (S, S)
        bool, and the (filtered) landmarks it was warped to."""
        mask = item.mask[0].numpy() > 0.5
        visible = ~mask
        crop = to_uint8(item.x_hat)
        lm = self._landmarks(item)
        choice = self.choices.get(item.track)
        if choice is None:
            choice = choose_identity(self.bank, measure(crop, lm, visible), self.seed, item.track, self.pinned,
                                     chin_shadow(crop, lm, visible))
            self.choices[item.track] = choice
        grain = self._grain(item.track, crop.shape[0])
        harmony = self._harmony.setdefault(item.track, TrackHarmony()) if self.video else None
        eyes = self._eyes.setdefault(item.track, EyeReference()) if self.video else None
        donor, valid = harmonised_donor(self.bank, choice.identity, choice.mirrored, crop, lm, visible, grain, harmony,
                                        eyes)
        return donor, valid, lm

    def _paste(self, item: CropInput, donor: np.ndarray, valid: np.ndarray, lm: np.ndarray) -> torch.Tensor:
        """The donor itself as the fill: crop composite y (3, S, S) in [-1, 1]."""
        fill = torch.from_numpy(np.ascontiguousarray(donor)).permute(2, 0, 1).float().div(127.5).sub(1)[None]
        fill = fill.clamp(-1, 1)
        x_hat, m = item.x_hat[None], item.mask[None]
        if self.blend == "poisson":  # the edge at full resolution here, or by the frame band pass (frame_blend)
            band = EDGE_BAND_PX if item.transform.copies_pixels else 0
            return coarse_poisson_blend(fill, x_hat, m, POISSON_SIDE, band)[0]
        return (x_hat * (1 - m) + fill * m)[0]

    def _landmarks(self, item: CropInput) -> np.ndarray:
        """The crop's landmarks, in video filtered per track in frame coordinates (the crop window moves)."""
        if not self.video:
            return np.asarray(item.landmarks, np.float64)
        points = item.transform.to_frame(item.landmarks)
        smooth = self._filters.setdefault(item.track, OneEuro())(points, inter_ocular(points))
        return item.transform.to_crop(smooth)

    def _grain(self, track: int, size: int) -> np.ndarray:
        if track not in self._noise:
            rng = np.random.default_rng([self.seed, track, size])
            self._noise[track] = rng.standard_normal((size, size)).astype(np.float32)
        return self._noise[track]

    def end_track(self, track: int) -> None:
        for state in (self._filters, self._noise, self._harmony, self._eyes):
            state.pop(track, None)
        if self.refiner is not None:  # an STN refiner's streaming state of the track
            self.refiner.end_track(track)

    def reset(self) -> None:
        self._filters, self._noise, self._harmony, self._eyes, self.choices = {}, {}, {}, {}, {}
        if self.refiner is not None:
            self.refiner.reset()
