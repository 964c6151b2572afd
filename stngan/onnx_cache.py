"""ONNX exports of torch modules, cached on disk, and ONNX Runtime sessions for them (CPU inference).

An export lives in ``$STNGAN_CACHE/onnx`` (default ``~/.cache/stngan/onnx``) under a name hashed from what
it was made of (weight files, config, torch / onnx versions, opset), written under a temporary name and
renamed, so another process never reads half a file. Used for the generator
(:mod:`stngan.inference.onnx_runtime`) and the MTCNN detector's networks (:mod:`stngan.faces.mtcnn`).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
import threading
import warnings
from collections.abc import Iterable
from pathlib import Path

import torch
from torch import nn

OPSET = 17
INSTALL = "pip install 'onnxruntime>=1.20,<2' 'onnx>=1.17,<2'"


def onnx_importable() -> bool:
    """onnxruntime (runs the graph) and onnx (torch's exporter writes with it) both import."""
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
    except ImportError:
        return False
    return True


def cache_dir() -> Path:
    root = os.environ.get("STNGAN_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "stngan") / "onnx"


def cached_path(prefix: str, files: Iterable[Path], tag: str) -> Path:
    """Where an export made from ``files`` (hashed in full) and ``tag`` (what else shaped it) lives."""
    import onnx

    h = hashlib.sha256()
    for path in files:
        with open(path, "rb") as f:
            for chunk in iter(lambda: f.read(1 << 20), b""):
                h.update(chunk)
    h.update(f"torch {torch.__version__} onnx {onnx.__version__} opset {OPSET} {tag}".encode())
    return cache_dir() / f"{prefix}-{h.hexdigest()[:24]}.onnx"


# torch.onnx.export keeps its state in process globals (GLOBALS.in_onnx_export): two threads exporting at once
# (each detection thread builds its own MTCNN on a cold cache) fail with an AssertionError, so exports queue
_EXPORT_LOCK = threading.Lock()


def export(module: nn.Module, example: tuple[torch.Tensor, ...], inputs: list[str], outputs: list[str],
           dynamic: dict[str, dict[int, str]], path: Path) -> None:
    """Write ``module`` as ONNX to ``path`` atomically (``dynamic``: the free axes of each input / output).
    Thread-safe; a ``path`` another thread wrote meanwhile is kept."""
    with _EXPORT_LOCK:
        if not path.is_file():
            _export(module, example, inputs, outputs, dynamic, path)


def _export(module: nn.Module, example: tuple[torch.Tensor, ...], inputs: list[str], outputs: list[str],
            dynamic: dict[str, dict[int, str]], path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with warnings.catch_warnings(), torch.no_grad():
            warnings.simplefilter("ignore")  # the TorchScript exporter's deprecation notice
            torch.onnx.export(module, example, tmp, input_names=inputs, output_names=outputs, opset_version=OPSET,
                              dynamic_axes=dynamic, dynamo=False)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would keep other users of a shared $STNGAN_CACHE out
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def cpu_session(path: Path, threads: int):
    """An ONNX Runtime CPU session of ``path`` on ``threads`` intra-op threads whose idle pool threads sleep
    instead of spinning (decode, detection and encode share the cores)."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    return ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
