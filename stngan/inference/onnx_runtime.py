"""ONNX Runtime for SI generators on the CPU: the fastest runtime whose output stays within one
grey level of eager PyTorch (benchmarks/bench_runtime.py; issue 16).

The generator is exported once per model (``torch.onnx.export``, batch and image size dynamic) into the
cache of :mod:`stngan.onnx_cache`, under a name hashed from the weights, the config and the exporter's
versions. STN generators stay on torch: their per-track streaming state does not fit one static graph; so
does PartialConv (the TorchScript exporter cannot trace its mask-shaped kernels).
"""
from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from stngan.errors import InputError
from stngan.onnx_cache import INSTALL, cached_path, cpu_session, export, onnx_importable

RUNTIMES = ("auto", "torch", "onnx")
ONNX_KINDS = ("si",)
EXPORT_FORMAT = 1  # bump when the export below changes, so old cache files are not reused


def choose_runtime(requested: str, kind: str, device: torch.device, autocast: bool) -> str:
    """"torch" or "onnx" for ``--runtime requested``. auto: onnx for SI models on the CPU without
    autocast when onnxruntime imports, else torch. An explicit onnx that cannot run raises InputError."""
    if requested not in RUNTIMES:
        raise InputError(f"unknown runtime {requested!r}; use one of {', '.join(RUNTIMES)}")
    fits = kind in ONNX_KINDS and device.type == "cpu" and not autocast
    if requested == "auto":
        return "onnx" if fits and onnx_importable() else "torch"
    if requested == "torch":
        return "torch"
    if kind not in ONNX_KINDS:
        why = "keeps a streaming state per track" if kind == "stn" else "has mask-shaped kernels"
        raise InputError(f"--runtime onnx runs SI models; this {kind!r} model {why} that one ONNX graph cannot "
                         f"hold: use --runtime torch")
    if device.type != "cpu" or autocast:
        raise InputError("--runtime onnx runs fp32 on the CPU: drop --device cuda / --amp, or use --runtime torch")
    if not onnx_importable():
        raise InputError(f"--runtime onnx needs onnxruntime and onnx: {INSTALL}")
    return "onnx"


def cached_model_path(ckpt: Path) -> Path:
    """Where the export of checkpoint ``ckpt`` lives: named by its weights, config and the exporter versions."""
    return cached_path("g", (ckpt / "model.safetensors", ckpt / "config.json"), f"format {EXPORT_FORMAT}")


def input_names(uses_landmarks: bool) -> list[str]:
    return ["x_hat", "mask"] + (["cond"] if uses_landmarks else [])


def export_generator(g: nn.Module, names: list[str], crop_size: int, path: Path) -> None:
    """Write G as ONNX to ``path`` atomically; batch and image size stay free, as for the torch module."""
    channels = {"x_hat": 3, "mask": 1, "cond": getattr(g, "cond_channels", 0)}
    example = tuple(torch.zeros(1, channels[n], crop_size, crop_size) for n in names)
    export(g, example, names, ["raw"], {n: {0: "batch", 2: "height", 3: "width"} for n in [*names, "raw"]}, path)


class OnnxGenerator:
    """G as an ONNX Runtime session on the CPU: ``(x_hat, mask[, cond]) → raw`` like the torch module."""

    def __init__(self, path: Path, names: list[str], threads: int) -> None:
        self.path, self.names = path, names
        self.session = cpu_session(path, threads)

    @classmethod
    def for_checkpoint(cls, g: nn.Module, ckpt: Path, uses_landmarks: bool, crop_size: int) -> OnnxGenerator:
        """The cached export of checkpoint ``ckpt`` (exported now if missing), intra-op threads as torch's."""
        path = cached_model_path(ckpt)
        names = input_names(uses_landmarks)
        if not path.is_file():
            export_generator(g, names, crop_size, path)
        return cls(path, names, torch.get_num_threads())

    def __call__(self, *inputs: torch.Tensor | None) -> torch.Tensor:
        feed = {n: t.detach().float().contiguous().numpy() for n, t in zip(self.names, inputs)}
        return torch.from_numpy(self.session.run(["raw"], feed)[0])
