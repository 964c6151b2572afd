"""The metric networks of one evaluation, built once and shared by every method and set."""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from functools import cached_property
from pathlib import Path

from stngan.faces.landmarks import LandmarkPredictor
from stngan.metrics.face_embedding import DlibFaceEmbedder
from stngan.metrics.inception import load_fid_inception
from stngan.metrics.lpips import find_lpips_files, load_lpips, require_lpips_files
from stngan.metrics.vggface2 import VGGFace2Embedder
from stngan.weights import MissingWeightsError

RECORDS_VERSION = 2  # the per-item records a cache chunk holds (2: + colour error de, de_means)


@dataclass(frozen=True)
class MetricOptions:
    """Which metrics run. ``fid``/``lpips``: "on" (error if weights are missing), "off", or "auto" (when
    present). ``vggface2``: path of a local VGGFace2 ResNet-50 file or None. ``embeddings``: dlib face
    embeddings (FD-dlib, KID-dlib, ReID, identity test); ``landmarks``: NME. ``samples``: output crops kept
    per method for the report's grids."""

    fid: str = "auto"
    lpips: str = "auto"
    vggface2: str | None = None
    landmarks: bool = True
    flicker: bool = False
    embeddings: bool = True
    samples: int = 8
    device: str = "cpu"

    def __post_init__(self) -> None:
        for name in ("fid", "lpips"):
            if getattr(self, name) not in ("auto", "on", "off"):
                raise ValueError(f"{name} must be auto, on or off, got {getattr(self, name)!r}")


class MetricModels:
    """Lazily loaded networks; ``available`` says which feature kinds this run computes."""

    def __init__(self, options: MetricOptions) -> None:
        self.options = options
        self.notes: list[str] = []
        self.inception = self._inception()
        self.lpips = self._lpips()
        self.dlib = DlibFaceEmbedder()
        self.vggface2 = None
        if options.vggface2:
            self.vggface2 = VGGFace2Embedder(options.vggface2, options.device)

    def _inception(self):
        if self.options.fid == "off":
            return None
        try:
            return load_fid_inception(device=self.options.device)
        except MissingWeightsError as e:
            if self.options.fid == "on":
                raise
            self.notes.append(f"FID/KID not computed: {e}")
            return None

    def _lpips(self):
        if self.options.lpips == "off":
            return None
        found = require_lpips_files() if self.options.lpips == "on" else find_lpips_files()
        if found is None:
            self.notes.append("LPIPS not computed: AlexNet + LPIPS v0.1 weights not found locally")
            return None
        return load_lpips(*found, device=self.options.device)

    @cached_property
    def predictor(self) -> LandmarkPredictor:
        return LandmarkPredictor()

    def embedders(self) -> dict[str, object]:
        """Feature name -> embedder(crops, landmarks) for the face-identity features of this run."""
        out: dict[str, object] = {"dlib": self.dlib} if self.options.embeddings else {}
        if self.vggface2 is not None:
            out["vggface2"] = self.vggface2
        return out

    def fingerprint(self) -> str:
        """Changes when the set of computed metrics changes (cache entries are per metric set)."""
        spec = {**asdict(self.options), "records": RECORDS_VERSION, "samples": self.options.samples,
                "inception": self.inception is not None,
                "lpips": self.lpips is not None,
                "vggface2": Path(self.options.vggface2).stat().st_size if self.options.vggface2 else None}
        spec.pop("device")
        return hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()[:12]
