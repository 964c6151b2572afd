"""MTCNN (Zhang et al. 2016): the P-Net → R-Net → O-Net face detector cascade with 5 facial points.

Our own implementation of the cascade around the trained weights that ship inside the ``facenet-pytorch``
wheel (``facenet_pytorch/data/{pnet,rnet,onet}.pt``, plain state dicts loaded with ``weights_only``; the
package's code is not imported). Image pyramids and the 24/48 px crops are resized with OpenCV (area
interpolation) and batched per stage, which is several times faster on CPU than resizing each crop with
torch. Crops reaching past the image are zero-padded as in the original MTCNN.

Boxes come back as (x1, y1, x2, y2) in pixel-index units as the original code computes them; callers turn
them into dlib's convention (:mod:`stngan.faces.detect`).

The three networks run on ONNX Runtime when it is installed (``runtime="auto"``; exported once into
:mod:`stngan.onnx_cache`): on one thread R-Net and O-Net take half the CPU time of eager torch and P-Net 0.8×,
a whole 1280×720 detection 0.83-0.99×, with outputs within 1e-4 (benchmarks/bench_mtcnn_runtime.py).
"""
from __future__ import annotations

import contextlib
import warnings
from dataclasses import dataclass

import cv2
import numpy as np
import torch
from torch import nn
from torchvision.ops import nms

from stngan.faces.pyramid import Halves
from stngan.onnx_cache import cached_path, cpu_session, export, onnx_importable
from stngan.weights import require

PYRAMID_FACTOR = 0.709
NMS_SCALE, NMS_STAGE, NMS_OUTPUT = 0.5, 0.7, 0.7


def _block(cin: int, cout: int, k: int, pool: tuple[int, int] | None, index: int) -> list[tuple[str, nn.Module]]:
    layers = [(f"conv{index}", nn.Conv2d(cin, cout, k)), (f"prelu{index}", nn.PReLU(cout))]
    if pool:
        layers.append((f"pool{index}", nn.MaxPool2d(pool[0], pool[1], ceil_mode=True)))
    return layers


class _Net(nn.Module):
    """A cascade stage: conv trunk, then (for R/O-Net) a dense layer on the trunk flattened in the
    original (Caffe) W-major order, then the heads, returned in the order given: box regression, face
    logits, (O-Net) points."""

    def __init__(self, trunk: list[tuple[str, nn.Module]], dense: tuple[str, int, int] | None,
                 heads: dict[str, nn.Module]) -> None:
        super().__init__()
        for name, layer in trunk:
            self.add_module(name, layer)
        self._trunk = [name for name, _ in trunk]
        self._dense = None
        if dense is not None:
            name, cin, cout = dense
            self.add_module(name, nn.Linear(cin, cout))
            self.add_module(name.replace("dense", "prelu"), nn.PReLU(cout))
            self._dense = name
        for name, head in heads.items():
            self.add_module(name, head)
        self._heads = list(heads)

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        for name in self._trunk:
            x = getattr(self, name)(x)
        if self._dense is not None:
            x = x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)
            x = getattr(self, self._dense.replace("dense", "prelu"))(getattr(self, self._dense)(x))
        return [getattr(self, h)(x) for h in self._heads]


def pnet() -> _Net:
    trunk = _block(3, 10, 3, (2, 2), 1) + _block(10, 16, 3, None, 2) + _block(16, 32, 3, None, 3)
    return _Net(trunk, None, {"conv4_2": nn.Conv2d(32, 4, 1), "conv4_1": nn.Conv2d(32, 2, 1)})


def rnet() -> _Net:
    trunk = _block(3, 28, 3, (3, 2), 1) + _block(28, 48, 3, (3, 2), 2) + _block(48, 64, 2, None, 3)
    return _Net(trunk, ("dense4", 576, 128), {"dense5_2": nn.Linear(128, 4), "dense5_1": nn.Linear(128, 2)})


def onet() -> _Net:
    trunk = (_block(3, 32, 3, (3, 2), 1) + _block(32, 64, 3, (3, 2), 2) + _block(64, 64, 3, (2, 2), 3)
             + _block(64, 128, 2, None, 4))
    return _Net(trunk, ("dense5", 1152, 256), {"dense6_2": nn.Linear(256, 4), "dense6_1": nn.Linear(256, 2),
                                               "dense6_3": nn.Linear(256, 10)})


NET_INPUT = {"mtcnn_pnet": (1, 3, 24, 24), "mtcnn_rnet": (1, 3, 24, 24), "mtcnn_onet": (1, 3, 48, 48)}
RUNTIMES = ("auto", "torch", "onnx")


def _load(net: _Net, key: str) -> _Net:
    net.load_state_dict(torch.load(require(key), map_location="cpu", weights_only=True))
    return net.eval()


class _OnnxNet:
    """A cascade stage on a one-thread ONNX Runtime session: ``(N, 3, H, W)`` → the torch module's outputs."""

    def __init__(self, net: _Net, key: str) -> None:
        path = cached_path(key.replace("_", "-"), (require(key),), "mtcnn 1")
        self.outputs = [f"out{i}" for i in range(len(net._heads))]
        if not path.is_file():
            free = {"x": {0: "n", 2: "h", 3: "w"}, **{o: {0: "n"} for o in self.outputs}}
            if key == "mtcnn_pnet":  # fully convolutional: its maps follow the input's size
                free.update({o: {0: "n", 2: "h", 3: "w"} for o in self.outputs})
            export(net, (torch.zeros(NET_INPUT[key]),), ["x"], self.outputs, free, path)
        self.session = cpu_session(path, 1)

    def __call__(self, x: torch.Tensor) -> list[torch.Tensor]:
        return [torch.from_numpy(o) for o in self.session.run(self.outputs, {"x": x.contiguous().numpy()})]


def _normalise(batch: np.ndarray) -> torch.Tensor:
    """(N, H, W, 3) uint8 → (N, 3, H, W) float32 in MTCNN's range (x − 127.5) / 128."""
    return torch.from_numpy(batch).permute(0, 3, 1, 2).float().sub_(127.5).mul_(0.0078125)


def _square(boxes: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out = boxes.copy()
    out[:, 0] += (w - side) / 2
    out[:, 1] += (h - side) / 2
    out[:, 2:4] = out[:, 0:2] + side[:, None]
    return out


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
    out = boxes.copy()
    out[:, :4] += reg * np.stack([w, h, w, h], axis=1)
    return out


def _nms(boxes: np.ndarray, scores: np.ndarray, iou: float) -> np.ndarray:
    return nms(torch.from_numpy(boxes).float(), torch.from_numpy(scores).float(), iou).numpy()


def _nms_min(boxes: np.ndarray, scores: np.ndarray, threshold: float) -> np.ndarray:
    """Greedy NMS where overlap = intersection / the smaller area (MTCNN's last stage)."""
    area = (boxes[:, 2] - boxes[:, 0] + 1) * (boxes[:, 3] - boxes[:, 1] + 1)
    order, keep = np.argsort(scores)[::-1], []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0, np.minimum(boxes[i, 2], boxes[rest, 2]) - np.maximum(boxes[i, 0], boxes[rest, 0]) + 1)
        h = np.maximum(0, np.minimum(boxes[i, 3], boxes[rest, 3]) - np.maximum(boxes[i, 1], boxes[rest, 1]) + 1)
        order = rest[w * h / np.minimum(area[i], area[rest]) <= threshold]
    return np.array(keep, dtype=np.int64)


@contextlib.contextmanager
def one_torch_thread():
    """Run on one torch thread: the cascade's small convolutions gain nothing from a second thread, and
    when another process holds the other core OpenMP's threads spin-wait (measured 0.14 s per 720p frame on
    one thread vs 1.53 s on two beside a busy process)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def crops(img: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) uint8: each box's pixels (zero beyond the image), area-resized."""
    h, w = img.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.uint8)
    for k, (x1, y1, x2, y2) in enumerate(np.trunc(boxes[:, :4]).astype(int)):
        bw, bh = x2 - x1 + 1, y2 - y1 + 1
        if bw < 2 or bh < 2:
            continue
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(x1, 0), max(y1, 0), min(x2 + 1, w), min(y2 + 1, h)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y1:sy1 - y1, sx0 - x1:sx1 - x1] = img[sy0:sy1, sx0:sx1]
        out[k] = cv2.resize(patch, (size, size), interpolation=cv2.INTER_AREA)
    return out


@dataclass
class MTCNN:
    """``detect(rgb)`` → boxes (N, 4) x1 y1 x2 y2, scores (N,), points (N, 5, 2): image-left eye, image-right
    eye, nose, image-left mouth corner, image-right mouth corner. Faces down to ``min_face`` px."""

    min_face: int = 20
    thresholds: tuple[float, float, float] = (0.6, 0.7, 0.7)
    # P-Net also looks this many of its 12-px windows past every border (black), so a face cut by the frame
    # edge, down to its nose and mouth, still gets a proposal; cheap: a few pixels per pyramid level
    edge: float = 0.5
    runtime: str = "auto"  # auto (ONNX Runtime when installed) | torch | onnx

    def __post_init__(self) -> None:
        if self.runtime not in RUNTIMES:
            raise ValueError(f"unknown MTCNN runtime {self.runtime!r}; use one of {', '.join(RUNTIMES)}")
        requested, self.runtime = self.runtime, "torch"
        stages = ("mtcnn_pnet", "mtcnn_rnet", "mtcnn_onet")
        self.nets = tuple(_load(build(), key) for build, key in zip((pnet, rnet, onet), stages))
        if requested == "torch" or (requested == "auto" and not onnx_importable()):
            return
        try:
            self.nets, self.runtime = tuple(_OnnxNet(net, key) for net, key in zip(self.nets, stages)), "onnx"
        except OSError as e:  # the export cannot be written (read-only cache): torch, unless ONNX was asked for
            if requested == "onnx":
                raise
            warnings.warn(f"MTCNN runs on torch: its ONNX export could not be written ({e})", RuntimeWarning,
                          stacklevel=3)

    def _scales(self, h: int, w: int, min_face: float) -> list[float]:
        scale, side, out = 12.0 / min_face, min(h, w) * 12.0 / min_face, []
        while side >= 12:
            out.append(scale)
            scale *= PYRAMID_FACTOR
            side *= PYRAMID_FACTOR
        return out

    def _proposals(self, img: np.ndarray, min_face: float) -> np.ndarray:
        """P-Net over the pyramid: (N, 9) x1 y1 x2 y2 score + 4 regression values."""
        h, w = img.shape[:2]
        pad = int(round(12 * self.edge))
        found = []
        halves = Halves(img)
        for scale in self._scales(h, w, min_face):
            level = halves.resize(int(w * scale + 1), int(h * scale + 1))
            if pad:
                level = cv2.copyMakeBorder(level, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
            reg, logits = self.nets[0](_normalise(level[None]))
            prob = torch.softmax(logits, dim=1)[0, 1].numpy()
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if not len(ys):
                continue
            cells = np.stack([xs, ys], axis=1).astype(np.float64)
            cells -= pad / 2  # P-Net's stride is 2 level pixels
            boxes = np.hstack([np.floor((2 * cells + 1) / scale), np.floor((2 * cells + 12) / scale),
                               prob[ys, xs][:, None], reg[0][:, ys, xs].numpy().T])
            found.append(boxes[_nms(boxes[:, :4], boxes[:, 4], NMS_SCALE)])
        if not found:
            return np.zeros((0, 9))
        boxes = np.vstack(found)
        return boxes[_nms(boxes[:, :4], boxes[:, 4], NMS_STAGE)]

    def _refine(self, img: np.ndarray, boxes: np.ndarray, stage: int) -> tuple[np.ndarray, np.ndarray | None]:
        size = 24 if stage == 1 else 48
        outs = self.nets[stage](_normalise(crops(img, boxes, size)))
        reg, prob = outs[0].numpy(), torch.softmax(outs[1], dim=1)[:, 1].numpy()
        keep = prob > self.thresholds[stage]
        points = outs[2].numpy()[keep] if stage == 2 else None
        return np.hstack([boxes[keep, :4], prob[keep, None], reg[keep]]), points

    @torch.inference_mode()
    def face_probability(self, img: np.ndarray, center: tuple[float, float], side: float,
                         angles: tuple[float, ...] = (0, 45, -45, 90, -90, 180)) -> float:
        """How sure R-Net and O-Net are that the ``side``-px square at ``center`` holds a face, at the best of
        ``angles`` (degrees; the cascade itself is upright-only): max over angles of min(R-Net, O-Net)."""
        cx, cy = center
        size = max(int(round(side)), 2)
        best = 0.0
        with one_torch_thread():
            for angle in angles:
                warp = cv2.getRotationMatrix2D((cx, cy), angle, 1.0)
                warp[:, 2] += (size / 2 - cx, size / 2 - cy)
                patch = cv2.warpAffine(img, warp, (size, size), flags=cv2.INTER_AREA, borderValue=(0, 0, 0))
                probs = []
                for stage, px in ((1, 24), (2, 48)):
                    logits = self.nets[stage](_normalise(cv2.resize(patch, (px, px), interpolation=cv2.INTER_AREA)[None]))[1]
                    probs.append(float(torch.softmax(logits, dim=1)[0, 1]))
                best = max(best, min(probs))
        return best

    @torch.inference_mode()
    def detect(self, img: np.ndarray, min_face: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Faces of at least ``min_face`` px (default: the instance's) in an (H, W, 3) uint8 RGB image."""
        with one_torch_thread():
            return self._detect(np.ascontiguousarray(img), float(min_face or self.min_face))

    def _detect(self, img: np.ndarray, min_face: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        empty = (np.zeros((0, 4)), np.zeros(0), np.zeros((0, 5, 2)))
        boxes = self._proposals(img, min_face)
        if not len(boxes):
            return empty
        boxes = _square(_regress(boxes[:, :5], boxes[:, 5:9]))
        boxes, _ = self._refine(img, boxes, 1)
        if not len(boxes):
            return empty
        boxes = boxes[_nms(boxes[:, :4], boxes[:, 4], NMS_STAGE)]
        boxes = _square(_regress(boxes[:, :5], boxes[:, 5:9]))
        boxes, raw_points = self._refine(img, boxes, 2)
        if not len(boxes):
            return empty
        w, h = boxes[:, 2] - boxes[:, 0] + 1, boxes[:, 3] - boxes[:, 1] + 1
        points = np.stack([w[:, None] * raw_points[:, :5] + boxes[:, :1] - 1,
                           h[:, None] * raw_points[:, 5:] + boxes[:, 1:2] - 1], axis=2)
        boxes = _regress(boxes[:, :5], boxes[:, 5:9])
        keep = _nms_min(boxes[:, :4], boxes[:, 4], NMS_OUTPUT)
        return boxes[keep, :4], boxes[keep, 4], points[keep]
