"""Build a donor bank from the project's face generator (MobileStyleGAN, the ``synthetic`` extra).

Per candidate latent (seeded: ``default_rng([seed, 11, i])``, truncation ``truncation``): render the neutral
face at 1024 px, find it (dlib HOG on a 512-px copy) and its 68 points, cut a face-centred square of
``CROP_PER_FACE`` × the landmarks' extent, and measure its attributes (:mod:`stngan.donors.attributes`). The
kept identities are spread evenly over the candidates' skin tones (ITA order, both ends included), the
faces with glasses a separate, smaller group; each kept identity is then rendered in every expression
variant of :data:`VARIANTS` (edits of the same latent along the fitted directions), cut with the neutral's
square and given its own landmarks (dlib on the variant at twice the bank's size, then halved).

Edits are applied to w+ rows where they change the expression but not the accessories: measured on the
shipped directions, ``eyes_open`` on all 11 semantic rows puts sunglasses on, on rows 5-10 it closes the
lids; ``mouth_open`` on rows 4-10 opens the mouth with teeth (−2.5 σ closes the lips of the generator's
frequent toothy smile), on rows 0-10 it also adds glasses.
"""
from __future__ import annotations

import math
import time
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from stngan.donors.attributes import measure
from stngan.donors.bank import write_bank
from stngan.errors import UserError
from stngan.faces import FaceAnalyzer
from stngan.faces.box import Box
from stngan.synthetic.directions import load_directions
from stngan.synthetic.stylegan import FaceGenerator

# name, mouth_open strength (σ, rows 4-10), eyes_open strength (σ, rows 5-10)
VARIANTS: tuple[tuple[str, float, float], ...] = tuple(
    (f"{mouth_name}{'_eyes_closed' if eyes else ''}", mouth, eyes)
    for eyes in (0.0, -5.0)
    for mouth_name, mouth in (("mouth_closed", -2.5), ("neutral", 0.0), ("mouth_half", 2.5), ("mouth_open", 3.5)))
MOUTH_ROWS, EYE_ROWS = (4, 11), (5, 11)
CROP_PER_FACE = 1.6  # side of a donor's square / the extent of its 68 points
ATTRIBUTES = ("yaw", "pitch", "roll", "mouth_open", "smile", "eyes_open", "ita", "glasses")


class _Renderer:
    def __init__(self, threads: int) -> None:
        self.gen = FaceGenerator(threads=threads)
        self.directions = load_directions(self.gen)
        self.analyzer = FaceAnalyzer("hog", upsample=0)

    def render(self, w: np.ndarray, mouth: float = 0.0, eyes: float = 0.0) -> np.ndarray:
        """(1, 512) w → (1024, 1024, 3) uint8 with the expression edits of one variant."""
        wp = self.gen.to_wplus(w)
        wp[:, MOUTH_ROWS[0]:MOUTH_ROWS[1]] += mouth * self.directions["mouth_open"]
        wp[:, EYE_ROWS[0]:EYE_ROWS[1]] += eyes * self.directions["eyes_open"]
        return self.gen.synthesize(wp, size=None)[0]

    def find(self, img: np.ndarray) -> np.ndarray | None:
        """68 points (1024-px coordinates) of the one face on a 1024-px render, or None."""
        small = cv2.resize(img, (512, 512), interpolation=cv2.INTER_AREA)
        faces = self.analyzer.analyze(small)
        if len(faces) != 1:
            return None
        return (faces[0].landmarks.astype(np.float64) + 0.5) * 2 - 0.5

    def cut(self, img: np.ndarray, square: tuple[float, float, float], size: int) -> np.ndarray:
        """The square (cx, cy, side) of a 1024-px render resampled to size² (area filter)."""
        cx, cy, side = square
        s = size / side
        m = np.array([[s, 0, size / 2 - 0.5 - s * cx], [0, s, size / 2 - 0.5 - s * cy]])
        return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REFLECT)

    def landmarks(self, crop2x: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """68 points of a variant on its 2×-size cut, from a box around the neutral's points (halved)."""
        lo, hi = guess.min(0), guess.max(0)
        lm = self.analyzer.predictor.predict(crop2x, Box(lo[0], lo[1], hi[0], hi[1]))
        return (lm.astype(np.float64) + 0.5) / 2 - 0.5


def _square(lm: np.ndarray) -> tuple[float, float, float]:
    lo, hi = lm.min(0), lm.max(0)
    return float((lo[0] + hi[0]) / 2), float((lo[1] + hi[1]) / 2), float(CROP_PER_FACE * (hi - lo).max())


def _to_cut(lm: np.ndarray, square: tuple[float, float, float], size: int) -> np.ndarray:
    cx, cy, side = square
    s = size / side
    return (lm - [cx, cy]) * s + size / 2 - 0.5


def pick_spread(ita: np.ndarray, count: int) -> list[int]:
    """Positions of ``count`` values spread evenly over the sorted ``ita`` (both extremes included)."""
    order = np.argsort(ita)
    if count >= len(order):
        return [int(i) for i in order]
    picks = np.round(np.linspace(0, len(order) - 1, count)).astype(int)
    return [int(order[p]) for p in picks]


def build_bank(out: str | Path, identities: int = 16, glasses: int = 2, candidates: int = 0, seed: int = 0,
               size: int = 256, truncation: float = 0.8, threads: int = 2,
               progress: Callable[[str], None] | None = None) -> dict:
    """Build a bank of ``identities`` donors (``glasses`` of them wearing glasses) into ``out``; returns a
    summary (counts, seconds). ``candidates`` latents are screened (0: 4 × identities)."""
    if identities < 1 or glasses < 0 or glasses >= identities:
        raise UserError(f"need identities >= 1 and 0 <= glasses < identities, got {identities}, {glasses}")
    say = progress or (lambda _: None)
    t0 = time.monotonic()
    r = _Renderer(threads)
    candidates = candidates or 4 * identities
    pool: list[dict] = []
    for i in range(candidates):
        w = r.gen.sample_w(np.random.default_rng([seed, 11, i]), 1, truncation)
        img = r.render(w)
        lm = r.find(img)
        if lm is None:
            continue
        square = _square(lm)
        cut = r.cut(img, square, size)
        a = measure(cut, _to_cut(lm, square, size))
        if math.isnan(a.ita) or abs(a.yaw) > 0.35:
            continue
        pool.append({"index": i, "w": w, "lm": lm, "square": square, "attrs": a})
        say(f"candidate {i + 1}/{candidates}: ita {a.ita:.0f}, glasses {a.glasses:.2f}")
    plain = [p for p in pool if not p["attrs"].wears_glasses]
    specs = [p for p in pool if p["attrs"].wears_glasses]
    chosen = [plain[k] for k in pick_spread(np.array([p["attrs"].ita for p in plain]), identities - glasses)]
    chosen += specs[:glasses]
    images, lms, ids, vids, attrs, info = [], [], [], [], [], []
    for ident, c in enumerate(chosen):
        for v, (name, mouth, eyes) in enumerate(VARIANTS):
            img = r.render(c["w"], mouth, eyes)
            big = r.cut(img, c["square"], 2 * size)
            lm = r.landmarks(big, _to_cut(c["lm"], c["square"], 2 * size))
            small = cv2.resize(big, (size, size), interpolation=cv2.INTER_AREA)
            a = measure(small, lm)
            images.append(small), lms.append(lm), ids.append(ident), vids.append(v)
            attrs.append([getattr(a, k) for k in ATTRIBUTES])
            if name == "neutral":
                info.append({"identity": ident, "candidate": c["index"], **a.to_dict()})
        say(f"identity {ident + 1}/{len(chosen)}")
    meta = {"generator": "MobileStyleGAN (random-face 2021.7.21.1)", "seed": seed, "truncation": truncation,
            "size": size, "candidates": candidates,
            "variants": [{"name": n, "mouth": m, "eyes": e} for n, m, e in VARIANTS],
            "edit_rows": {"mouth_open": list(MOUTH_ROWS), "eyes_open": list(EYE_ROWS)},
            "attribute_names": list(ATTRIBUTES), "identities": info}
    path = write_bank(out, images, lms, ids, vids, np.array(attrs), meta)
    return {"path": str(path), "identities": len(chosen), "images": len(images),
            "seconds": round(time.monotonic() - t0, 1), "bytes": sum(f.stat().st_size for f in path.iterdir())}
