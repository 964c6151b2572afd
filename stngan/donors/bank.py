"""The donor bank: synthetic faces (people who do not exist) with their landmarks and attributes.

Layout: one ``bank.npz`` (no pickles) + ``bank.json`` (human-readable: licence, how it was made, per-identity
attributes). Every identity has the same grid of expression *variants* rendered from one latent (mouth
opening levels × eyes open / closed, :data:`stngan.donors.build.VARIANTS`), all in one face-centred square
crop, so a variant differs from its neutral only where the expression changes.

Arrays in ``bank.npz``: ``jpeg`` (concatenated JPEG files, uint8) with ``offsets`` (N + 1,), ``landmarks``
(N, 68, 2) float32 in image pixels, ``identity`` (N,) int32, ``variant`` (N,) int32 (index into
``bank.json``'s ``variants``), ``attributes`` (N, A) float32 (columns: ``attribute_names``).
"""
from __future__ import annotations

import json
import os
import tempfile
from functools import cached_property
from pathlib import Path

import cv2
import numpy as np

from stngan.errors import UserError

BANK_VERSION = 2  # 2: mouth_aspect and teeth attributes
LICENCE = ("synthetic faces from MobileStyleGAN (random-face wheel, weights derived from NVIDIA StyleGAN2 on "
           "FFHQ): NVIDIA Source Code License-NC, non-commercial research and evaluation only")


class DonorBankError(UserError, ValueError):
    """Missing, unreadable or inconsistent donor bank."""


def shipped_bank_dir() -> Path:
    return Path(__file__).resolve().parent.parent / "assets" / "donors"


class DonorBank:
    """A loaded bank; images decode lazily and stay cached (a bank of 100 × 8 variants of 256² is 157 MB)."""

    def __init__(self, path: str | os.PathLike) -> None:
        self.path = Path(path)
        meta_file, data_file = self.path / "bank.json", self.path / "bank.npz"
        if not data_file.is_file() or not meta_file.is_file():
            raise DonorBankError(f"no donor bank in {self.path} (expected bank.json and bank.npz; build one with "
                                 f"`stngan donors build DIR`)")
        try:
            self.meta = json.loads(meta_file.read_text())
            with np.load(data_file, allow_pickle=False) as f:
                self._jpeg, self._offsets = f["jpeg"], f["offsets"].astype(np.int64)
                self.landmarks = f["landmarks"].astype(np.float64)
                self.identity = f["identity"].astype(np.int64)
                self.variant = f["variant"].astype(np.int64)
                self.attributes = f["attributes"].astype(np.float64)
        except (OSError, ValueError, KeyError) as e:
            raise DonorBankError(f"unreadable donor bank {self.path}: {e}") from e
        if self.meta.get("version") != BANK_VERSION:
            raise DonorBankError(f"donor bank {self.path} has version {self.meta.get('version')}, expected "
                                 f"{BANK_VERSION}; rebuild it with `stngan donors build`")
        n = len(self.identity)
        if not (len(self._offsets) == n + 1 and self.landmarks.shape == (n, 68, 2) and len(self.variant) == n
                and self.attributes.shape == (n, len(self.attribute_names))):
            raise DonorBankError(f"donor bank {self.path} is inconsistent (array lengths differ)")
        self._cache: dict[int, np.ndarray] = {}

    @property
    def variants(self) -> list[dict]:
        """The variant grid: [{"name", "mouth", "eyes"}, ...] (edit strengths along the latent directions)."""
        return self.meta["variants"]

    @property
    def attribute_names(self) -> list[str]:
        return self.meta["attribute_names"]

    @cached_property
    def identities(self) -> list[int]:
        return sorted(set(int(i) for i in self.identity))

    def __len__(self) -> int:
        return len(self.identity)

    def variants_of(self, identity: int) -> list[int]:
        """Row indices of an identity's variants, in variant order."""
        if identity not in self.identities:
            raise DonorBankError(f"no donor {identity} in {self.path} (donors: {self.identities[0]}.."
                                 f"{self.identities[-1]}; `stngan donors list` shows them)")
        rows = np.nonzero(self.identity == identity)[0]
        return [int(r) for r in rows[np.argsort(self.variant[rows])]]

    def image(self, row: int) -> np.ndarray:
        if row not in self._cache:
            data = self._jpeg[self._offsets[row]:self._offsets[row + 1]]
            bgr = cv2.imdecode(data, cv2.IMREAD_COLOR)
            if bgr is None:
                raise DonorBankError(f"donor bank {self.path}: image {row} does not decode")
            self._cache[row] = np.ascontiguousarray(bgr[..., ::-1])
        return self._cache[row]

    def attribute(self, row: int, name: str) -> float:
        return float(self.attributes[row, self.attribute_names.index(name)])


def write_bank(path: str | os.PathLike, images: list[np.ndarray], landmarks: list[np.ndarray],
               identity: list[int], variant: list[int], attributes: np.ndarray, meta: dict,
               quality: int = 92) -> Path:
    """Write a bank atomically (both files in a temporary folder beside ``path``, then renamed into place)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    blobs = []
    for img in images:
        ok, buf = cv2.imencode(".jpg", np.ascontiguousarray(img[..., ::-1]), [cv2.IMWRITE_JPEG_QUALITY, quality])
        assert ok
        blobs.append(buf.reshape(-1))
    offsets = np.concatenate([[0], np.cumsum([len(b) for b in blobs])]).astype(np.int64)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    np.savez(tmp / "bank.npz", jpeg=np.concatenate(blobs).astype(np.uint8), offsets=offsets,
             landmarks=np.stack(landmarks).astype(np.float32), identity=np.asarray(identity, np.int32),
             variant=np.asarray(variant, np.int32), attributes=np.asarray(attributes, np.float32))
    (tmp / "bank.json").write_text(json.dumps({"version": BANK_VERSION, "licence": LICENCE, **meta}, indent=1))
    for f in tmp.iterdir():
        f.chmod(0o644)
    path.mkdir(exist_ok=True)
    for name in ("bank.npz", "bank.json"):
        os.replace(tmp / name, path / name)
    tmp.rmdir()
    return path
