"""`stngan doctor`: versions, accelerator, and which weight files are found or missing."""
from __future__ import annotations

import platform
from importlib import metadata

import torch

from stngan import __version__, weights

PACKAGES = ("torch", "torchvision", "numpy", "dlib-bin", "face-recognition-models", "av",
            "opencv-python-headless", "safetensors", "PyYAML", "click", "tensorboard")


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "NOT INSTALLED"


def lines() -> list[str]:
    out = [f"stngan {__version__} on Python {platform.python_version()} ({platform.machine()})"]
    out += [f"  {name:<24} {_version(name)}" for name in PACKAGES]
    if torch.cuda.is_available():
        names = ", ".join(torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count()))
        out.append(f"GPU: {torch.cuda.device_count()} visible ({names}); CUDA {torch.version.cuda}")
    else:
        out.append(f"GPU: none visible (torch CUDA build {torch.version.cuda}); CPU threads {torch.get_num_threads()}")
    out.append(f"weights dir ($STNGAN_WEIGHTS): {weights.project_weights_dir()}")
    out.append(f"torch hub cache: {weights.torch_hub_checkpoints_dir()}")
    for entry, path in weights.report():
        if path is not None:
            out.append(f"  found    {entry.key:<22} {path}")
        else:
            looked = " | ".join(str(p) for p in weights.candidate_paths(entry))
            out.append(f"  MISSING  {entry.key:<22} {entry.purpose}; looked in: {looked}; {weights.how_to_get(entry)}")
    return out
