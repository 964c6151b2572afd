"""The exemplar input of an exemplar-conditioned generator (``model.exemplar``): a donor warped onto the
target's landmarks and harmonised with its visible skin, plus where the warp is valid — the same pixels the
donor fill pastes (:mod:`stngan.inference.donor_fill`), here handed to G to refine instead.

Training (:class:`stngan.data.datasets.FrameDataset` with ``exemplar``) draws the identity at random per
sample from the bank: the bank's faces are other latents than any store's, so the exemplar is always
*another* identity than the ground truth and G cannot learn to copy it. Inference keeps one per track
(:mod:`stngan.donors.choose`).
"""
from __future__ import annotations

import numpy as np

from stngan.config import EXEMPLAR_CHANNELS
from stngan.donors.attributes import skin_ring
from stngan.donors.bank import DonorBank, shipped_bank_dir
from stngan.donors.choose import EyeReference, variant_weights
from stngan.donors.harmonise import TrackHarmony, lip_map, part_map
from stngan.donors.warp import TargetMesh, mirror, support_points, warp_face
from stngan.faces.landmarks import landmark_attributes



def harmonised_donor(bank: DonorBank, identity: int, mirrored: bool, crop: np.ndarray, landmarks: np.ndarray,
                     visible: np.ndarray, grain: np.ndarray | None = None, harmony: TrackHarmony | None = None,
                     eyes: EyeReference | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The identity's variants for this expression, warped onto ``landmarks`` (crop px) of the (S, S, 3) uint8
    ``crop`` and matched to its visible skin (``visible`` (S, S) bool) → (donor (S, S, 3) float32 in [0, 255],
    valid (S, S) bool: inside the warp's triangles). ``harmony``: a video track's steady settings
    (:class:`~stngan.donors.harmonise.TrackHarmony`); without it each call measures its own. ``eyes``: the
    track's usual eye opening (:class:`~stngan.donors.choose.EyeReference`). The upper face comes from the
    closed-mouth variants (:func:`upper_face`), the lower from the mouth's mix."""
    size = crop.shape[0]
    lm = np.asarray(landmarks, np.float64)
    _, _, mouth, _, eye_gap = landmark_attributes(lm)
    mesh = TargetMesh(support_points(lm), size, size)
    reference = eyes(float(eye_gap)) if eyes is not None else None
    lower_weights = variant_weights(bank, identity, float(mouth), float(eye_gap), reference)
    upper_weights = variant_weights(bank, identity, None, float(eye_gap), reference)
    lower = _warped_mix(bank, identity, mirrored, mesh, lower_weights)
    upper = lower if upper_weights == lower_weights else _warped_mix(bank, identity, mirrored, mesh, upper_weights)
    split = upper_face(lm, size)[..., None]
    warped = split * upper + (1 - split) * lower
    ring = skin_ring((size, size), lm, visible)
    return (harmony or TrackHarmony())(warped, crop, ring, part_map(lm, size, size), lip_map(lm, size, size),
                                       grain), mesh.valid


def _warped_mix(bank: DonorBank, identity: int, mirrored: bool, mesh: TargetMesh,
                weights: list[tuple[int, float]]) -> np.ndarray:
    """The weighted sum of the identity's variants (bank rows), each warped onto ``mesh`` (float32)."""
    out = np.zeros((mesh.valid.shape[0], mesh.valid.shape[1], 3), np.float32)
    for row, weight in weights:
        image, points = bank.image(row), bank.landmarks[row]
        if mirrored:
            image, points = mirror(image, points)
        out += weight * warp_face(image, points, mesh).astype(np.float32)
    return out


def upper_face(landmarks: np.ndarray, size: int) -> np.ndarray:
    """(S, S) float32: 1 above the face's middle (halfway from the eyes down to the nose tip, along the face's
    own vertical axis), 0 below, a ramp of a third of that distance between: where the eyes' variants go."""
    lm = np.asarray(landmarks, np.float64)
    left, right = lm[36:42].mean(0), lm[42:48].mean(0)
    eyes = (left + right) / 2
    across = (right - left) / max(np.linalg.norm(right - left), 1e-6)
    down = np.array([-across[1], across[0]])
    reach = max(float((lm[33] - eyes) @ down), 1.0)
    yy, xx = np.mgrid[0:size, 0:size].astype(np.float64)
    depth = ((xx - eyes[0]) * down[0] + (yy - eyes[1]) * down[1]) / reach  # 0 at the eyes, 1 at the nose tip
    return np.clip((2 / 3 - depth) * 3, 0, 1).astype(np.float32)


def exemplar_channels(donor: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """(EXEMPLAR_CHANNELS, S, S) float32: the donor in [-1, 1] and its validity, G's extra input."""
    rgb = np.clip(donor, 0, 255).transpose(2, 0, 1) / 127.5 - 1.0
    out = np.concatenate([rgb, valid[None]]).astype(np.float32)
    assert out.shape[0] == EXEMPLAR_CHANNELS, out.shape
    return out


class RandomExemplar:
    """Training: ``(crop, landmarks, mask, rng) → exemplar channels`` of a random identity of the bank (mirrored
    half the time; two draws from ``rng``: the identity, the mirror). Picklable for DataLoader workers: the
    bank (``path``, "" = the shipped one) opens in the process that first uses it."""

    def __init__(self, path: str = "") -> None:
        self.path = path
        self._bank: DonorBank | None = None

    def __getstate__(self) -> dict:
        return {"path": self.path, "_bank": None}

    @property
    def bank(self) -> DonorBank:
        if self._bank is None:
            self._bank = DonorBank(self.path or shipped_bank_dir())
        return self._bank

    def __call__(self, crop: np.ndarray, landmarks: np.ndarray, mask: np.ndarray, rng: np.random.Generator
                 ) -> np.ndarray:
        bank = self.bank
        identity = bank.identities[int(rng.integers(len(bank.identities)))]
        mirrored = bool(rng.random() < 0.5)
        donor, valid = harmonised_donor(bank, identity, mirrored, crop, landmarks, ~mask.astype(bool))
        return exemplar_channels(donor, valid)
