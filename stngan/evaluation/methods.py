"""Pluggable inpainting methods: MethodInput (masked crops, mask, condition, landmarks) -> composited crops.

- :class:`OpenCVInpaint`: Telea / Navier-Stokes (cv2.inpaint) on the same masks, the floor to beat;
- :class:`CheckpointMethod`: a trained stngan checkpoint (SI, SI-lm, w/o BGCP, STN, PartialConv);
- :class:`ExternalOutputs` (:mod:`stngan.evaluation.external`): outputs another system wrote to disk.

A method returns (B, 3, S, S) float in [-1, 1]; the evaluation rounds it to 8 bits like a saved image.
"""
from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np
import torch

from stngan.evaluation.batch import MethodInput, from_uint8_images, to_uint8_images


class Method(ABC):
    """``label`` names the method in tables; ``fingerprint()`` changes whenever its outputs could."""

    label: str
    uses_landmarks: bool = False
    history: int = 0  # previous frames of a track the method remembers (STN: T - 1)

    @abstractmethod
    def fingerprint(self) -> str: ...

    @abstractmethod
    def __call__(self, inp: MethodInput) -> torch.Tensor: ...

    def reset(self) -> None:
        """Forget per-track state (called before each pass over a set)."""


class OpenCVInpaint(Method):
    """cv2.inpaint with the Telea (fast marching) or Navier-Stokes algorithm; pixels outside the mask are
    copied from the input bit for bit."""

    _FLAGS = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
    _LABELS = {"telea": "OpenCV Telea", "ns": "OpenCV Navier-Stokes"}

    def __init__(self, algorithm: str, radius: float = 3.0) -> None:
        if algorithm not in self._FLAGS:
            raise ValueError(f"unknown OpenCV inpainting {algorithm!r}; use telea or ns")
        if radius <= 0:
            raise ValueError(f"inpainting radius must be > 0, got {radius}")
        self.algorithm, self.radius = algorithm, float(radius)
        self.label = self._LABELS[algorithm]

    def fingerprint(self) -> str:
        return f"opencv-{self.algorithm}-r{self.radius:g}-cv{cv2.__version__}"

    def __call__(self, inp: MethodInput) -> torch.Tensor:
        images = to_uint8_images(inp.x_hat)
        masks = (inp.mask[:, 0] > 0.5).numpy().astype(np.uint8)
        out = np.stack([np.where(m[..., None] > 0, cv2.inpaint(img, m, self.radius, self._FLAGS[self.algorithm]), img)
                        for img, m in zip(images, masks)])
        return from_uint8_images(out)


def checkpoint_label(kind: str, landmarks: bool, bgcp: bool) -> str:
    """The paper's name of a model: SI / SI-lm / STN / STN-lm / PartialConv, '(SI-lm) w/o BGCP'."""
    if kind == "partialconv":
        return "PartialConv"
    name = ("STN" if kind == "stn" else "SI") + ("-lm" if landmarks else "")
    return name if bgcp else f"{name} w/o BGCP"


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:16]


class CheckpointMethod(Method):
    """A trained checkpoint or run folder (its latest checkpoint). SI models run per batch; STN models keep
    a streaming state per track and take at most one frame per track per network call (frames of a
    track must arrive in order, as the evaluation set delivers them)."""

    def __init__(self, path: str | Path, device: str = "cpu", label: str | None = None) -> None:
        from stngan.checkpoint import resolve
        from stngan.models.build import load_generator

        self.path = resolve(path)
        self.device = torch.device(device)
        self.g, self.cfg = load_generator(self.path, map_location=self.device)
        m = self.cfg.model
        self.kind, self.uses_landmarks, self.bgcp = m.kind, m.landmarks and m.kind != "partialconv", m.bgcp
        self.label = label or checkpoint_label(m.kind, m.landmarks, m.bgcp)
        self._digest = _file_digest(self.path / "model.safetensors")
        self.history = m.T - 1 if m.kind == "stn" else 0
        self.streams: dict[int, object] = {}

    def fingerprint(self) -> str:
        return f"ckpt-{self._digest}"

    def reset(self) -> None:
        self.streams = {}

    def _raw(self, x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor, tracks: np.ndarray) -> torch.Tensor:
        if self.kind == "partialconv":
            return self.g(x_hat, mask)
        c = cond if self.uses_landmarks else None
        if self.kind != "stn":
            return self.g(x_hat, mask, c)
        out = torch.empty_like(x_hat)
        remaining = list(range(len(tracks)))
        while remaining:  # rounds with each track at most once, in arrival order
            seen, now = set(), []
            for i in remaining:
                if tracks[i] not in seen:
                    seen.add(tracks[i])
                    now.append(i)
            sel = torch.tensor(now)
            out[sel] = self.g.stream_step([int(tracks[i]) for i in now], x_hat[sel], mask[sel],
                                          None if c is None else c[sel], self.streams)
            remaining = [i for i in remaining if i not in set(now)]
        return out

    @torch.inference_mode()
    def __call__(self, inp: MethodInput) -> torch.Tensor:
        from stngan.models.generator import background_copy

        x_hat, mask, cond = (t.to(self.device) for t in (inp.x_hat, inp.mask, inp.cond))
        raw = self._raw(x_hat, mask, cond, inp.tracks).float()
        y = background_copy(x_hat, mask, raw) if self.bgcp or self.kind == "partialconv" else raw
        return y.cpu()


def parse_method(spec: str, device: str = "cpu") -> Method:
    """A method from a command-line spec: ``telea``, ``ns``, ``ext:DIR_OR_VIDEO``, or a checkpoint / run
    folder; ``LABEL=SPEC`` sets the label shown in tables (e.g. ``vid2vid=ext:out/vid2vid``)."""
    label, _, rest = spec.partition("=") if "=" in spec and not Path(spec).exists() else ("", "", spec)
    if rest in OpenCVInpaint._FLAGS:
        method: Method = OpenCVInpaint(rest)
    elif rest.startswith("ext:"):
        from stngan.evaluation.external import ExternalOutputs

        method = ExternalOutputs(rest[4:], label=label or None)
    elif Path(rest).exists():
        method = CheckpointMethod(rest, device=device, label=label or None)
    else:
        raise ValueError(f"method {spec!r}: not telea, ns, ext:PATH or an existing checkpoint / run folder")
    if label:
        method.label = label
    return method
