"""Which donor identity a face gets, and how its expression variants mix for one frame.

Identity (once per face track): a cost per identity — skin tone (ITA difference / ``ITA_SCALE``), glasses
worn by one and not the other (``GLASSES_COST``; a target whose bridge is hidden counts as "no glasses"),
head yaw magnitude (a donor turned the other way is mirrored), the chin's shadow (beard or stubble: a bearded
donor on a bare chin is a giveaway; ``SHADOW_SCALE``) — then one of the ``TOP`` cheapest, picked by
``(seed + track) mod TOP`` in cost order, so consecutive tracks (a shot cut starts new ones) get different
donors and a run is reproducible. ``pinned`` (``--donor ID``) overrides the choice. Age is not estimated (no
offline age model): not part of the cost.

Variants (per frame): the target's mouth opening and eye opening (from its own 68 points) are placed on the
identity's measured variant grid; the weights are linear between mouth levels (the closed one and those
whose inner mouth shows teeth, ``TEETH_MIN``), and for the eyes 0 below ``EYES_CLOSED_BELOW`` and 1 above
``EYES_OPEN_FROM`` of the person's usual opening in video (in a still: below ``STILL_SHUT_GAP`` and above
``STILL_OPEN_GAP`` of the eye gap itself; linear between), so a
syllable or a blink moves the fill continuously from one rendered expression to the next, and open eyes show
the open variant alone.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from stngan.donors.attributes import GLASSES_THRESHOLD, FaceAttributes, chin_shadow
from stngan.donors.bank import DonorBank

ITA_SCALE = 12.0  # degrees of ITA that cost as much as ...
GLASSES_COST = 3.0  # ... a glasses mismatch costs 3 of them
YAW_SCALE = 0.15  # nose offset (inter-ocular distances) per unit of cost
SHADOW_SCALE = 6.0  # L* of chin shadow (beard, stubble) difference per unit of cost
TOP = 4
TEETH_MIN = 0.15  # an open mouth level is used when this share of its inner mouth is teeth
# eyes at least this fraction as open as the person's usual opening (a video track's) show the open variant
# alone, at most the second fraction the closed one alone: the lids of the two variants do not mix into a
# half-transparent ghost on open eyes
EYES_OPEN_FROM, EYES_CLOSED_BELOW = 0.6, 0.2
# a still has no usual opening: its eye gap (inter-ocular distances, dlib's lids) itself decides, and the warp
# already narrows the open variant's lids to the person's, so only nearly shut eyes take the closed one
# (measured: dlib reads the bank's shut variants at 0.03-0.06, the NBA head shots' open eyes at 0.075 (10th
# percentile) to 0.145; a broad smile at 0.066 had got the shut variant when measured against the donor's range)
STILL_OPEN_GAP, STILL_SHUT_GAP = 0.05, 0.03

@dataclass(frozen=True)
class Choice:
    identity: int
    mirrored: bool  # the donor is mirrored (its yaw has the other sign than the target's)
    cost: float


def identity_costs(bank: DonorBank, target: FaceAttributes, target_shadow: float = math.nan
                   ) -> list[tuple[float, int, bool]]:
    """(cost, identity, mirrored) for every identity of the bank, cheapest first (ties: lower id first).
    ``target_shadow``: the target's chin shadow (:func:`stngan.donors.attributes.chin_shadow`; nan: unknown)."""
    out = []
    for ident in bank.identities:
        row = bank.variants_of(ident)[0]
        ita, yaw = bank.attribute(row, "ita"), bank.attribute(row, "yaw")
        glasses = bank.attribute(row, "glasses") > GLASSES_THRESHOLD
        cost = 0.0 if math.isnan(target.ita) else abs(ita - target.ita) / ITA_SCALE
        cost += GLASSES_COST * (glasses != target.wears_glasses)
        mirrored = abs(target.yaw) > 0.05 and np.sign(yaw) != np.sign(target.yaw)
        cost += abs(abs(yaw) - abs(target.yaw)) / YAW_SCALE
        if not math.isnan(target_shadow):
            donor_shadow = chin_shadow(bank.image(row), bank.landmarks[row])
            cost += 0.0 if math.isnan(donor_shadow) else abs(donor_shadow - target_shadow) / SHADOW_SCALE
        out.append((cost, ident, bool(mirrored)))
    return sorted(out)


def choose_identity(bank: DonorBank, target: FaceAttributes, seed: int = 0, track: int = 0,
                    pinned: int | None = None, target_shadow: float = math.nan) -> Choice:
    costs = identity_costs(bank, target, target_shadow)
    if pinned is not None:
        bank.variants_of(pinned)  # one-line error for an unknown id
        cost, ident, mirrored = next(c for c in costs if c[1] == pinned)
        return Choice(ident, mirrored, cost)
    top = costs[:TOP]
    cost, ident, mirrored = top[(seed + track) % len(top)]
    return Choice(ident, mirrored, cost)


def variant_weights(bank: DonorBank, identity: int, mouth_open: float | None, eyes_open: float,
                    eyes_reference: float | None = None) -> list[tuple[int, float]]:
    """(bank row, weight) pairs (weights > 0, summing to 1) for a target expression (IOD-normalised inner-lip
    gap and eyelid gap, :func:`stngan.faces.landmarks.landmark_attributes`). ``eyes_reference``: the person's
    own open-eye gap (a video track's, :class:`EyeReference`): openness is then measured against it, not
    against the donor's, so narrow eyes held open stay open and only a blink closes the lids. ``mouth_open``
    None: the weights for the eye region, from the closed-mouth variants only (the open-mouth edits narrow the
    donor's eyes as a smile does; warped onto a person's open lids they looked shut)."""
    rows = bank.variants_of(identity)
    grid: dict[tuple[float, float], int] = {}
    for r in rows:
        v = bank.variants[int(bank.variant[r])]
        grid[(v["mouth"], v["eyes"])] = r
    eyes_levels = sorted({e for _, e in grid}, reverse=True)  # open first
    open_level = eyes_levels[0]
    # the closed mouth, and the open levels that show teeth (a toothless cavity is not what a smile shows)
    lowest = min(m for m, _ in grid)
    mouths = [m for m in sorted({m for m, _ in grid})
              if m == lowest or bank.attribute(grid[(m, open_level)], "teeth") >= TEETH_MIN]
    # measured openness of the grid's levels on this identity (with eyes open / the neutral mouth)
    if mouth_open is None:  # the eyes' own weights: the closed mouth's variants (a smile's squint is not in them)
        wm = [1.0] + [0.0] * (len(mouths) - 1)
    else:
        m_measured = [bank.attribute(grid[(m, open_level)], "mouth_open") for m in mouths]
        m_measured = np.maximum.accumulate(m_measured)  # a level never counts as less open than the one before
        wm = _interp_weights(mouth_open, m_measured)
    if len(eyes_levels) == 2:
        if eyes_reference is None:
            closed = float(np.clip((STILL_OPEN_GAP - eyes_open) / (STILL_OPEN_GAP - STILL_SHUT_GAP), 0, 1))
        else:
            fraction = eyes_open / max(eyes_reference, 1e-6)  # 1: as open as this person's eyes usually are
            closed = float(np.clip((EYES_OPEN_FROM - fraction) / (EYES_OPEN_FROM - EYES_CLOSED_BELOW), 0, 1))
        we = [1 - closed, closed]
    else:
        we = [1.0]
    out = []
    for i, m in enumerate(mouths):
        for j, e in enumerate(eyes_levels):
            w = wm[i] * we[j]
            if w > 1e-6 and (m, e) in grid:
                out.append((grid[(m, e)], w))
    total = sum(w for _, w in out)
    return [(r, w / total) for r, w in out]


class EyeReference:
    """A track's usual open-eye gap: the ``PERCENTILE``-th percentile of its last ``FRAMES`` eye openings (a blink
    is a few frames: it does not move the reference)."""

    FRAMES, PERCENTILE, MIN_FRAMES = 75, 80, 5

    def __init__(self) -> None:
        self.values: list[float] = []

    def __call__(self, eyes_open: float) -> float | None:
        """Add this frame's gap; the reference, or None while the track is too young to have one."""
        self.values = (self.values + [float(eyes_open)])[-self.FRAMES:]
        if len(self.values) < self.MIN_FRAMES:
            return None
        return float(np.percentile(self.values, self.PERCENTILE))


def _interp_weights(x: float, levels) -> list[float]:
    """Linear-interpolation weights of x between increasing ``levels`` (clamped at both ends)."""
    levels = list(levels)
    w = [0.0] * len(levels)
    if x <= levels[0]:
        w[0] = 1.0
        return w
    for k in range(len(levels) - 1):
        lo, hi = levels[k], levels[k + 1]
        if x <= hi:
            t = (x - lo) / (hi - lo) if hi > lo else 1.0
            w[k], w[k + 1] = 1 - t, t
            return w
    w[-1] = 1.0
    return w
