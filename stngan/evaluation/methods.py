"""The inpainting methods `stngan evaluate` scores (the interface: :mod:`stngan.evaluation.method`).

- :class:`OpenCVInpaint`: Telea / Navier-Stokes (cv2.inpaint) on the same masks, the floor to beat;
- :class:`CheckpointMethod`: a trained stngan checkpoint (SI, SI-lm, w/o BGCP, STN, PartialConv), run by the
  :class:`~stngan.inference.inpainter.Inpainter` that ``stngan inpaint`` uses, with ``blend="none"`` (the
  paper's composite: its metrics are of the model) unless Poisson blending is asked for;
- :class:`~stngan.evaluation.external.ExternalOutputs`: outputs another system wrote to disk.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import torch

from stngan.evaluation.batch import MethodInput, from_uint8_images, to_uint8_images
from stngan.evaluation.external import ExternalOutputs
from stngan.evaluation.method import Method, MethodError
from stngan.errors import InputError
from stngan.inference.inpainter import Inpainter


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
    """A trained checkpoint, run folder (its latest checkpoint) or export, run by the Inpainter users run.

    ``blend`` is the Inpainter's: "none" (default) scores the model's own composite, "poisson" what
    ``stngan inpaint`` writes by default. fp32 (no autocast) so that scores do not depend on the device.
    STN models stream each track (frames of a track arrive in order, as the evaluation set delivers them).
    """

    def __init__(self, path: str | Path, device: str = "cpu", label: str | None = None, blend: str = "none") -> None:
        self.inpainter = Inpainter(path, device=device, amp="none", allowed_kinds=("si", "stn", "partialconv"),
                                   blend=blend)
        m = self.inpainter.cfg.model
        if m.exemplar:
            raise InputError(f"{path} is an exemplar model (it needs a donor per face): measure it with "
                             f"benchmarks/bench_realism.py, not stngan evaluate")
        self.uses_landmarks, self.history = self.inpainter.uses_landmarks, self.inpainter.history
        name = label or checkpoint_label(m.kind, m.landmarks, m.bgcp)
        self.label = name if blend == "none" or label else f"{name} + {blend} blend"
        self._digest = _file_digest(self.inpainter.path / "model.safetensors")

    def fingerprint(self) -> str:
        blend = self.inpainter.blend
        return f"ckpt-{self._digest}" + ("" if blend == "none" else f"-{blend}")

    def reset(self) -> None:
        self.inpainter.reset()

    def __call__(self, inp: MethodInput) -> torch.Tensor:
        return self.inpainter.inpaint_tensors(inp.x_hat, inp.mask, inp.cond, [int(t) for t in inp.tracks])


def parse_method(spec: str, device: str = "cpu", blend: str = "none") -> Method:
    """A method from a command-line spec: ``telea``, ``ns``, ``ext:DIR_OR_VIDEO``, or a checkpoint / run
    folder (run with `blend`); ``LABEL=SPEC`` sets the label shown in tables (e.g. ``vid2vid=ext:out/vid2vid``)."""
    label, _, rest = spec.partition("=") if "=" in spec and not Path(spec).exists() else ("", "", spec)
    if rest in OpenCVInpaint._FLAGS:
        method: Method = OpenCVInpaint(rest)
    elif rest.startswith("ext:"):
        method = ExternalOutputs(rest[4:], label=label or None)
    elif Path(rest).exists():
        method = CheckpointMethod(rest, device=device, label=label or None, blend=blend)
    else:
        raise MethodError(f"method {spec!r}: not telea, ns, ext:PATH or an existing checkpoint / run folder")
    if label:
        method.label = label
    return method
