"""VGGFace2 ResNet-50 face descriptor (Cao et al. 2018), the paper's identity network (4.4), from a local file.

Architecture and preprocessing of the Caffe model converted by cydonia999/VGGFace2-pytorch
(``resnet50_ft_weight.pkl`` / ``resnet50_scratch_weight.pkl``): torchvision's ResNet-50 layout with the
stride of each down-sampling bottleneck on its first 1x1 convolution, a ceil-mode 3x3 max pool, 8631
training identities; input 224x224 BGR minus the mean (91.4953, 103.8827, 131.0912). The descriptor is the
2048-D average-pooled feature, L2-normalised. Accepted files: that pickle of numpy arrays (read by an
unpickler that admits numpy arrays only), or the same tensors as .pth / .safetensors.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import torchvision
from torch import nn

from stngan.metrics.netload import load_exact, read_state_dict

MEAN_BGR = (91.4953, 103.8827, 131.0912)
INPUT_SIZE = 224
FEATURE_DIM = 2048
_ALLOWED = {("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
            ("numpy", "ndarray"), ("numpy", "dtype"), ("collections", "OrderedDict"),
            ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
            ("_codecs", "encode")}  # protocol-2 pickles encode raw bytes through it


class _NumpyOnlyUnpickler(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # noqa: ANN201
        if (module, name) not in _ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are accepted)")
        return super().find_class(module, name)


def build_vggface2_resnet50() -> nn.Module:
    """The ResNet-50 trunk (no classifier: ``fc`` is Identity), randomly initialised."""
    net = torchvision.models.resnet50(weights=None, num_classes=8631)
    net.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=0, ceil_mode=True)
    for layer in (net.layer2, net.layer3, net.layer4):
        layer[0].conv1.stride, layer[0].conv2.stride = layer[0].conv2.stride, (1, 1)
    net.fc = nn.Identity()
    return net


def read_vggface2_state(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a VGGFace2 weight file (.pkl of numpy arrays, .pth, .safetensors), classifier dropped."""
    p = Path(path)
    if p.suffix == ".pkl":
        if not p.is_file():
            raise FileNotFoundError(f"weight file not found: {p}")
        try:
            with open(p, "rb") as f:
                raw = _NumpyOnlyUnpickler(f, encoding="latin1").load()
        except (pickle.UnpicklingError, EOFError, ValueError) as e:
            raise ValueError(f"{p}: not a VGGFace2 weight pickle ({e})") from e
        state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in raw.items()}
    else:
        state = read_state_dict(p)
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


class VGGFace2Embedder:
    """embed(crops (N, H, W, 3) uint8 RGB) -> (N, 2048) float32 unit vectors."""

    name = "vggface2"
    dim = FEATURE_DIM

    def __init__(self, path: str | Path, device: str | torch.device = "cpu", batch_size: int = 16) -> None:
        net = build_vggface2_resnet50()
        state = read_vggface2_state(path)
        # Caffe conversions carry no BatchNorm step counters; they are not used in eval mode
        for k, v in net.state_dict().items():
            if k.endswith("num_batches_tracked"):
                state.setdefault(k, torch.zeros_like(v))
        self.net = load_exact(net, state, path).to(device)
        self.device, self.batch_size = torch.device(device), batch_size

    def _preprocess(self, crops: np.ndarray) -> torch.Tensor:
        x = torch.from_numpy(np.ascontiguousarray(crops)).permute(0, 3, 1, 2).float()
        x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True)
        return x.flip(1) - torch.tensor(MEAN_BGR).view(1, 3, 1, 1)

    @torch.inference_mode()
    def embed(self, crops: np.ndarray, landmarks: np.ndarray | None = None) -> np.ndarray:
        """``landmarks`` is accepted for interface parity with the dlib embedder and not used (crops are
        already the padded face box, the framing VGGFace2 was trained on)."""
        if crops.ndim != 4 or crops.shape[-1] != 3 or crops.dtype != np.uint8:
            raise ValueError(f"crops must be (N, H, W, 3) uint8, got {crops.shape} {crops.dtype}")
        out = []
        for i in range(0, len(crops), self.batch_size):
            f = self.net(self._preprocess(crops[i:i + self.batch_size]).to(self.device)).flatten(1)
            out.append(F.normalize(f, dim=1).cpu())
        return torch.cat(out).numpy() if out else np.zeros((0, FEATURE_DIM), np.float32)
