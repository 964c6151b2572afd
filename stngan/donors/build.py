"""Build a donor bank from the project's face generator (MobileStyleGAN, the ``synthetic`` extra).

Per candidate latent (seeded: ``default_rng([seed, 11, i])``, truncation ``truncation``): render the face at
1024 px, find it (dlib HOG on a 512-px copy) and its 68 points, cut a face-centred square of ``CROP_PER_FACE`` ×
the landmarks' extent (:class:`~stngan.faces.crop.CropTransform`: anti-aliased), and measure its attributes
(:mod:`stngan.donors.attributes`); dim pictures are skipped (:func:`well_exposed`). The kept identities are
spread evenly over the candidates' skin tones (ITA order, both ends included), the faces with glasses a
separate, smaller group; each is rendered in every expression variant of :data:`VARIANTS` (edits of the same
latent along the fitted directions), cut with the same square, given its own landmarks (dlib on the variant
at twice the bank's size, then halved), its irises made dark brown (:mod:`stngan.donors.irises`: the person's
own is under the mask), and replaced by the next candidate of about its tone when the
variants do not do what their names say (:func:`variants_behave`).

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

from stngan.donors.attributes import FaceAttributes, measure
from stngan.donors.choose import TEETH_MIN
from stngan.donors.irises import brown_irises
from stngan.donors.bank import write_bank
from stngan.errors import UserError
from stngan.faces import FaceAnalyzer
from stngan.faces.box import Box
from stngan.faces.crop import CropTransform
from stngan.synthetic.directions import load_directions
from stngan.synthetic.stylegan import FaceGenerator

# name, mouth_open strength (σ, rows 4-10), eyes_open strength (σ, rows 5-10)
VARIANTS: tuple[tuple[str, float, float], ...] = tuple(
    (f"{mouth_name}{'_eyes_closed' if eyes else ''}", mouth, eyes)
    for eyes in (0.0, -5.0)
    for mouth_name, mouth in (("mouth_closed", -2.5), ("neutral", 0.0), ("mouth_half", 2.5), ("mouth_open", 3.5)))
MOUTH_ROWS, EYE_ROWS = (4, 11), (5, 11)
CROP_PER_FACE = 1.6  # side of a donor's square / the extent of its 68 points
ATTRIBUTES = ("yaw", "pitch", "roll", "mouth_open", "smile", "eyes_open", "ita", "glasses", "mouth_aspect", "teeth")
MAX_YAW = 0.35  # candidates turned further (nose offset / inter-ocular distance) are skipped: the warp mirrors
EXPOSED_L = 75.0  # see well_exposed
EYES_CLOSED_RATIO, MOUTH_RANGE = 0.6, 0.12  # see variants_behave


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

    def landmarks(self, cut2x: np.ndarray, guess: np.ndarray) -> np.ndarray:
        """68 points of a variant on its 2×-size cut, from a box around the neutral's points (halved)."""
        lo, hi = guess.min(0), guess.max(0)
        lm = self.analyzer.predictor.predict(cut2x, Box(lo[0], lo[1], hi[0], hi[1]))
        return (lm.astype(np.float64) + 0.5) / 2 - 0.5


def face_square(lm: np.ndarray, size: int) -> CropTransform:
    """The donor's face-centred square (CROP_PER_FACE × the points' extent) resampled to size²."""
    lo, hi = lm.min(0), lm.max(0)
    return CropTransform((lo[0] + hi[0]) / 2, (lo[1] + hi[1]) / 2, CROP_PER_FACE * float((hi - lo).max()), size)


def well_exposed(img: np.ndarray) -> bool:
    """The brightest parts of the picture (95th percentile L*) are at least EXPOSED_L: a dark face in a dim
    picture would otherwise pass for dark skin."""
    light = cv2.cvtColor(img.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab)[..., 0]
    return bool(np.percentile(light, 95) >= EXPOSED_L)


def variants_behave(attrs: list[FaceAttributes]) -> bool:
    """The rendered grid does what its names say, by dlib's points: closed eyes at most EYES_CLOSED_RATIO as
    open as open ones, the mouth levels opening (the widest at least MOUTH_RANGE wider than the closed), and
    one open level showing teeth (a toothless dark cavity where a smile shows teeth gives a fill away)."""
    by_name = dict(zip((n for n, _, _ in VARIANTS), attrs))
    opened = [by_name[n].eyes_open for n, _, e in VARIANTS if e == 0]
    closed = [by_name[n].eyes_open for n, _, e in VARIANTS if e != 0]
    mouths = [by_name[n].mouth_open for n, _, e in VARIANTS if e == 0]
    teeth = [by_name[n].teeth for n, m, e in VARIANTS if e == 0 and m > 0]
    return (float(np.median(closed)) <= EYES_CLOSED_RATIO * float(np.median(opened))
            and mouths[-1] - mouths[0] >= MOUTH_RANGE and np.nanmax(teeth) >= TEETH_MIN)


def pick_spread(ita: np.ndarray, count: int) -> list[int]:
    """Positions of ``count`` values spread evenly over the sorted ``ita`` (both extremes included)."""
    order = np.argsort(ita)
    if count >= len(order):
        return [int(i) for i in order]
    picks = np.round(np.linspace(0, len(order) - 1, count)).astype(int)
    return [int(order[p]) for p in picks]


def _by_preference(pool: list[dict], count: int) -> list[dict]:
    """The pool ordered so that its first ``count`` spread over the skin tones and the rest follow, each after
    the nearest in tone (so a rejected identity is replaced by one of about its tone)."""
    first = pick_spread(np.array([p["attrs"].ita for p in pool]), count)
    rest = sorted(set(range(len(pool))) - set(first))
    return [pool[i] for i in first] + [pool[i] for i in rest]


def build_bank(out: str | Path, identities: int = 16, glasses: int = 2, candidates: int = 0, seed: int = 0,
               size: int = 256, truncation: float = 0.9, threads: int = 2,
               progress: Callable[[str], None] | None = None) -> dict:
    """Build a bank of ``identities`` donors (``glasses`` of them wearing glasses) into ``out``; returns a
    summary (counts, seconds). ``candidates`` latents are screened (0: 8 × identities)."""
    if identities < 1 or glasses < 0 or glasses >= identities:
        raise UserError(f"need identities >= 1 and 0 <= glasses < identities, got {identities}, {glasses}")
    say = progress or (lambda _: None)
    t0 = time.monotonic()
    r = _Renderer(threads)
    candidates = candidates or 8 * identities
    pool: list[dict] = []
    for i in range(candidates):
        w = r.gen.sample_w(np.random.default_rng([seed, 11, i]), 1, truncation)
        img = r.render(w)
        lm = r.find(img)
        if lm is None:
            continue
        square = face_square(lm, size)
        cut = square.crop(img)
        a = measure(cut, square.to_crop(lm))
        if math.isnan(a.ita) or abs(a.yaw) > MAX_YAW or not well_exposed(cut):
            continue
        pool.append({"index": i, "w": w, "lm": lm, "attrs": a})
        say(f"candidate {i + 1}/{candidates}: ita {a.ita:.0f}, glasses {a.glasses:.2f}")
    plain = [p for p in pool if not p["attrs"].wears_glasses]
    specs = [p for p in pool if p["attrs"].wears_glasses]
    queue = _by_preference(plain, identities - glasses) + specs
    wanted = {False: identities - glasses, True: glasses}
    images, lms, ids, vids, attrs, info = [], [], [], [], [], []
    rejected = 0
    for c in queue:
        kind = c["attrs"].wears_glasses
        if wanted[kind] == 0:
            continue
        square = face_square(c["lm"], size)
        twice = face_square(c["lm"], 2 * size)
        rendered = []
        for name, mouth, eyes in VARIANTS:
            img = r.render(c["w"], mouth, eyes)
            lm = r.landmarks(twice.crop(img), twice.to_crop(c["lm"]))
            cut = square.crop(img)
            rendered.append((cut, lm, measure(cut, lm)))
        if not variants_behave([a for _, _, a in rendered]):
            rejected += 1
            say(f"candidate {c['index']}: variants do not behave (eyes or mouth by dlib), replaced")
            continue
        ident = len(info)
        for v, (cut, lm, a) in enumerate(rendered):
            images.append(brown_irises(cut, lm)), lms.append(lm), ids.append(ident), vids.append(v)
            attrs.append([getattr(a, k) for k in ATTRIBUTES])
        info.append({"identity": ident, "candidate": c["index"], **rendered[1][2].to_dict()})
        wanted[kind] -= 1
        say(f"identity {ident + 1}/{identities}")
    if not info:
        raise UserError(f"no usable donor among {candidates} candidates; raise --candidates")
    meta = {"generator": "MobileStyleGAN (random-face 2021.7.21.1)", "seed": seed, "truncation": truncation,
            "size": size, "candidates": candidates, "rejected": rejected, "irises": "dark brown (stngan.donors.irises)",
            "variants": [{"name": n, "mouth": m, "eyes": e} for n, m, e in VARIANTS],
            "edit_rows": {"mouth_open": list(MOUTH_ROWS), "eyes_open": list(EYE_ROWS)},
            "attribute_names": list(ATTRIBUTES), "identities": info}
    path = write_bank(out, images, lms, ids, vids, np.array(attrs), meta)
    return {"path": str(path), "identities": len(info), "images": len(images), "rejected": rejected,
            "seconds": round(time.monotonic() - t0, 1), "bytes": sum(f.stat().st_size for f in path.iterdir())}
