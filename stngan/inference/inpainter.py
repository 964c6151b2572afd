"""Run a trained checkpoint on prepared crops: batched, optional autocast, per-track streaming for STN.

The one inpainting loop: ``stngan inpaint`` / ``anonymize --inpaint`` call :meth:`Inpainter.inpaint` with
crops of video frames, ``stngan evaluate`` calls :meth:`Inpainter.inpaint_tensors` with the test set's
crops, so the numbers it reports are of the code users run.
"""
from __future__ import annotations

import contextlib
import warnings
from pathlib import Path

import torch

from stngan.checkpoint import CheckpointError, resolve
from stngan.config import ExperimentConfig
from stngan.errors import InputError
from stngan.inference.blend import BLEND_MODES, poisson_blend
from stngan.inference.crops import CropInput
from stngan.inference.onnx_runtime import OnnxGenerator, choose_runtime
from stngan.inference.temporal import DEFAULT_WEIGHT, check_weight
from stngan.models.build import load_generator
from stngan.models.generator import background_copy
from stngan.onnx_cache import cache_dir


# si_lm_fast: si_lm distilled into width 16 (2.6x less CPU per face); an STN-lm joins when one beats SI-lm on
# flicker with faces as real (si_lm/MODEL_CARD.md)
SHIPPED_MODELS = ("si_lm", "si_lm_fast")


def shipped_model_dir(name: str = "si_lm") -> Path:
    """A model shipped in stngan/assets/models/NAME."""
    return Path(__file__).resolve().parent.parent / "assets" / "models" / name


def default_model_dir() -> Path:
    """The model used when no --model is given: the shipped SI-lm."""
    return shipped_model_dir("si_lm")


def model_path(model: str | Path | None) -> Path:
    """--model value → folder: None → the shipped SI-lm; a shipped model's name (SHIPPED_MODELS) → its folder
    unless a path of that name exists; otherwise the path itself (checkpoint, run folder or export)."""
    path = Path(model) if model is not None else None
    if path is None or (str(model) in SHIPPED_MODELS and not path.exists()):
        shipped = shipped_model_dir(str(model or "si_lm"))
        if not (shipped / "config.json").is_file():
            raise CheckpointError(f"no shipped model at {shipped} in this checkout; pass --model RUN_OR_CHECKPOINT")
        return shipped
    if not path.exists():
        raise FileNotFoundError(f"model not found: {model} (give a checkpoint, run folder or exported model, "
                                f"or a shipped model: {', '.join(SHIPPED_MODELS)})")
    return path


class Inpainter:
    """`inpaint(items)` returns the composited crops y (N, 3, S, S) for a list of CropInput.

    SI and PartialConv checkpoints process items independently; STN checkpoints keep a streaming state per
    track id (items of one track must arrive in frame order; `end_track` frees a finished track's state,
    `reset` all of them). ``blend="poisson"`` blends each fill into the visible skin around it
    (:mod:`stngan.inference.blend`); ``"none"`` returns the model's output as the paper composites it
    (background copy when the model was trained with it). ``temporal``: in videos, the weight of each new
    fill against its track's motion-compensated history (:mod:`stngan.inference.temporal`; 1 = off); each
    video's :class:`~stngan.inference.frames.FrameInpainter` keeps that history. ``runtime``: "torch", "onnx"
    (ONNX Runtime fp32, SI models on the CPU: :mod:`stngan.inference.onnx_runtime`) or "auto" (onnx
    where it can run and onnxruntime is installed); ``runtime_name`` says which one runs.
    """

    def __init__(self, model: str | Path | None = None, device: str = "cpu", amp: str = "auto",
                 allowed_kinds: tuple[str, ...] = ("si", "stn"), max_batch: int = 32, blend: str = "poisson",
                 temporal: float = DEFAULT_WEIGHT, runtime: str = "auto") -> None:
        if blend not in BLEND_MODES:
            raise ValueError(f"unknown blend mode {blend!r}; use one of {', '.join(BLEND_MODES)}")
        self.blend = blend
        self.temporal = check_weight(temporal)
        self.path = resolve(model_path(model))
        self.device = torch.device(device)
        self.g, self.cfg = load_generator(self.path, map_location=self.device)
        if self.cfg.model.kind not in allowed_kinds:
            raise CheckpointError(f"{self.path} holds a {self.cfg.model.kind!r} model; this command needs one of "
                                  f"{', '.join(allowed_kinds)}")
        self.amp = _resolve_amp(amp, self.device)
        self.runtime_name = choose_runtime(runtime, self.cfg.model.kind, self.device, self.amp is not None)
        self.onnx = None if self.runtime_name == "torch" else self._onnx_generator(required=runtime == "onnx")
        self.streams: dict[int, object] = {}
        self.max_batch = max_batch  # faces per model call: bounds memory when many faces arrive at once

    def _onnx_generator(self, required: bool) -> OnnxGenerator | None:
        """G on ONNX Runtime; with ``--runtime auto``, an export that cannot be written (read-only cache) leaves
        G on torch with a warning."""
        try:
            return OnnxGenerator.for_checkpoint(self.g, self.path, self.uses_landmarks, self.crop_size)
        except OSError as e:
            if required:
                raise InputError(f"--runtime onnx: the export of G cannot be written to {cache_dir()} ({e}); set "
                                 f"STNGAN_CACHE to a writable folder or use --runtime torch") from e
            warnings.warn(f"G runs on torch: its ONNX export could not be written ({e})", RuntimeWarning,
                          stacklevel=3)
            self.runtime_name = "torch"
            return None

    pixel_aligned = False  # crops are resampled to the model's input size
    smooth_radius = 2  # frames each side over which a track's landmarks are averaged before the condition

    def frame_blend(self, item: CropInput) -> str:
        """The blend after paste-back (:func:`stngan.inference.crops.paste`): the crop's, again at frame
        resolution (the crop was resampled)."""
        return self.blend

    @property
    def config(self) -> ExperimentConfig:
        return self.cfg

    @property
    def kind(self) -> str:
        return self.cfg.model.kind

    def crop_size_for(self, side: float) -> int:
        """Crop pixels for a face crop of ``side`` frame pixels: the model's input size, whatever the face's."""
        return self.crop_size

    @property
    def crop_size(self) -> int:
        return self.cfg.model.image_size

    @property
    def uses_landmarks(self) -> bool:
        return self.cfg.model.landmarks and self.cfg.model.kind != "partialconv"

    @property
    def history(self) -> int:
        """Previous frames of a track the model remembers (STN: T − 1)."""
        return self.cfg.model.T - 1 if self.cfg.model.kind == "stn" else 0

    def _autocast(self):
        if self.amp is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp)

    def inpaint(self, items: list[CropInput]) -> torch.Tensor:
        if not items:
            return torch.empty(0, 3, self.crop_size, self.crop_size)
        return self.inpaint_tensors(torch.stack([i.x_hat for i in items]), torch.stack([i.mask for i in items]),
                                    torch.stack([i.cond for i in items]), [i.track for i in items])

    @torch.inference_mode()
    def inpaint_tensors(self, x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor,
                        tracks: list[int]) -> torch.Tensor:
        """x_hat (N, 3, S, S) in [−1, 1], mask (N, 1, S, S), cond (N, C, S, S), the items' track ids →
        y (N, 3, S, S) float32 on the CPU. STN: items of a track in frame order, any number per call."""
        assert x_hat.shape[0] == mask.shape[0] == cond.shape[0] == len(tracks), (x_hat.shape, mask.shape, len(tracks))
        if self.cfg.model.kind == "stn":
            out = torch.empty(x_hat.shape, dtype=torch.float32)
            for now in _rounds(tracks):  # a track's streaming state advances once per network call
                sel = torch.tensor(now)
                out[sel] = self._run(x_hat[sel], mask[sel], cond[sel], [tracks[i] for i in now])
            return out
        return torch.cat([self._run(x_hat[i:i + self.max_batch], mask[i:i + self.max_batch],
                                    cond[i:i + self.max_batch], [])
                          for i in range(0, len(tracks), self.max_batch)])

    def _run(self, x_hat: torch.Tensor, mask: torch.Tensor, cond: torch.Tensor, tracks: list[int]) -> torch.Tensor:
        x_hat, mask = x_hat.to(self.device), mask.to(self.device)
        c = cond.to(self.device) if self.uses_landmarks else None
        kind = self.cfg.model.kind
        with self._autocast():
            if self.onnx is not None:
                raw = self.onnx(x_hat, mask, c)
            elif kind == "stn":
                raw = self.g.stream_step(tracks, x_hat, mask, c, self.streams)
            elif kind == "partialconv":
                raw = self.g(x_hat, mask)
            else:
                raw = self.g(x_hat, mask, c)
        if self.blend == "poisson":
            return poisson_blend(raw.float(), x_hat, mask).cpu()
        bgcp = self.cfg.model.bgcp or kind == "partialconv"  # PartialConv composites by construction
        return (background_copy(x_hat, mask, raw.float()) if bgcp else raw.float()).cpu()

    def end_track(self, track: int) -> None:
        self.streams.pop(track, None)

    def reset(self) -> None:
        """Forget every track's streaming state."""
        self.streams = {}


def _rounds(tracks: list[int]) -> list[list[int]]:
    """Positions of `tracks` split into rounds that hold each track at most once, in arrival order."""
    rounds: list[list[int]] = []
    depth: dict[int, int] = {}
    for i, track in enumerate(tracks):
        k = depth.get(track, 0)
        depth[track] = k + 1
        if k == len(rounds):
            rounds.append([])
        rounds[k].append(i)
    return rounds


def _resolve_amp(amp: str, device: torch.device) -> torch.dtype | None:
    if amp == "auto":
        return torch.bfloat16 if device.type == "cuda" and torch.cuda.is_bf16_supported() else None
    return {"none": None, "bf16": torch.bfloat16, "fp16": torch.float16}[amp]
