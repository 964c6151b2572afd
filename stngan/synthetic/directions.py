"""Semantic directions in w space (head yaw / pitch, mouth opening, smile, eye opening) for the video walks.

Fitted like InterFaceGAN, but with regression instead of an SVM: generate faces, measure each attribute from
dlib's 68 landmarks (in the eye-aligned frame, normalised by the inter-ocular distance, so in-plane rotation
and scale do not matter), project the truncated w's on their top principal components and fit a ridge
regression per attribute. A direction is scaled so that adding it to w moves the predicted attribute by one
standard deviation (of the fitted sample).

The fitted result ships as ``directions.npz`` next to this module (fitted on 600 faces of
``generate_images(seed=0, size=256)``); :func:`load_directions` falls back to fitting on the fly when it is
missing. Refit with ``python -m stngan.synthetic.directions --images data/synth_faces --count 600``.
"""
from __future__ import annotations

import argparse
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from stngan.faces import FaceAnalyzer
from stngan.faces.landmarks import landmark_attributes
from stngan.synthetic.naming import image_name
from stngan.synthetic.stylegan import STYLE_DIM, FaceGenerator

ATTRIBUTES = ("yaw", "pitch", "mouth_open", "smile", "eyes_open")
DIRECTIONS_FILE = Path(__file__).with_name("directions.npz")


@dataclass(frozen=True)
class Directions:
    """Unit-std attribute directions: ``vectors`` (A, 512) float32 for ``names``; ``r2`` (A,) held-out R^2."""

    names: tuple[str, ...]
    vectors: np.ndarray
    r2: np.ndarray

    def __getitem__(self, name: str) -> np.ndarray:
        return self.vectors[self.names.index(name)]

    def save(self, path: str | os.PathLike) -> None:
        np.savez(path, names=np.array(self.names), vectors=self.vectors.astype(np.float32),
                 r2=self.r2.astype(np.float32))

    @classmethod
    def load(cls, path: str | os.PathLike) -> Directions:
        with np.load(path) as f:
            return cls(tuple(str(n) for n in f["names"]), f["vectors"].astype(np.float32), f["r2"].astype(np.float32))


def fit(w: np.ndarray, attrs: np.ndarray, names: Sequence[str] = ATTRIBUTES, components: int = 128,
        ridge: float = 0.1) -> Directions:
    """Ridge regression of attributes (n, A) on w (n, 512) in the top ``components`` PCs of w.

    ``ridge`` is relative to the mean PC variance. R^2 is measured with 5-fold cross-validation. The defaults
    (128 PCs, ridge 0.1) gave the best held-out R^2 on 300 generated faces among 32..256 PCs x 0.03..1.
    """
    w = np.asarray(w, np.float64)
    y = np.asarray(attrs, np.float64)
    n = w.shape[0]
    if n < 10 or y.shape[0] != n:
        raise ValueError(f"need >= 10 samples with matching attributes, got w {w.shape}, attrs {y.shape}")

    def solve(wtr: np.ndarray, ytr: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        mu_w, mu_y = wtr.mean(0), ytr.mean(0)
        _, s, vt = np.linalg.svd(wtr - mu_w, full_matrices=False)
        k = min(components, len(s))
        p = (wtr - mu_w) @ vt[:k].T                                   # PC scores (n, k)
        lam = ridge * float((s[:k] ** 2).mean())
        b = np.linalg.solve(p.T @ p + lam * np.eye(k), p.T @ (ytr - mu_y))  # (k, A)
        return vt[:k].T @ b, mu_w, mu_y                              # beta (512, A)

    folds = np.arange(n) % 5
    pred = np.empty_like(y)
    for f in range(5):
        beta, mu_w, mu_y = solve(w[folds != f], y[folds != f])
        pred[folds == f] = (w[folds == f] - mu_w) @ beta + mu_y
    r2 = 1 - ((y - pred) ** 2).sum(0) / ((y - y.mean(0)) ** 2).sum(0)
    beta, _, _ = solve(w, y)
    vectors = (beta / (beta ** 2).sum(0) * y.std(0)).T                # moving by v changes prediction by 1 std
    return Directions(tuple(names), vectors.astype(np.float32), r2.astype(np.float32))


def collect(generator: FaceGenerator, count: int, seed: int = 0, truncation: float = 0.7, size: int = 256,
            images_dir: str | os.PathLike | None = None,
            landmarks: Callable[[np.ndarray], np.ndarray | None] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(w (m, 512), attributes (m, 5)) for the faces i < count of ``generate_images(seed=seed, size=size)``.

    Images already in ``images_dir`` (same seed, size, truncation) are read instead of synthesised. Faces
    where dlib does not find exactly one face are dropped (m <= count). ``landmarks`` maps an RGB image to
    (68, 2) landmarks or None (default: stngan.faces.FaceAnalyzer, exactly one face required).
    """
    if landmarks is None:
        analyzer = FaceAnalyzer()

        def landmarks(img: np.ndarray) -> np.ndarray | None:
            faces = analyzer.analyze(img)
            return faces[0].landmarks if len(faces) == 1 else None

    ws, ys = [], []
    for i in range(count):
        z = np.random.default_rng([seed, 0, i]).standard_normal((1, STYLE_DIM), dtype=np.float32)
        w = generator.truncate(generator.mapping(z), truncation)
        path = None if images_dir is None else Path(images_dir) / image_name(seed, i)
        if path is not None and path.is_file():
            img = cv2.imread(str(path), cv2.IMREAD_COLOR)[:, :, ::-1]
        else:
            img = generator.synthesize(w, size)[0]
        lm = landmarks(np.ascontiguousarray(img))
        if lm is not None:
            ws.append(w[0])
            ys.append(landmark_attributes(lm))
    return np.array(ws), np.array(ys)


def load_directions(generator: FaceGenerator, path: str | os.PathLike | None = None,
                    fit_count: int = 200) -> Directions:
    """The shipped directions (or ``path``); when the file is missing, fit on ``fit_count`` fresh faces."""
    p = Path(path) if path is not None else DIRECTIONS_FILE
    if p.is_file():
        return Directions.load(p)
    return fit(*collect(generator, fit_count))


def main(argv: Sequence[str] | None = None) -> None:
    """Refit ``directions.npz`` (reusing images written by generate_images when ``--images`` is given)."""
    ap = argparse.ArgumentParser(prog="python -m stngan.synthetic.directions", description=main.__doc__)
    ap.add_argument("--images", help="folder of generate_images output (seed --seed, 256 px) to reuse")
    ap.add_argument("--count", type=int, default=600)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(DIRECTIONS_FILE))
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args(argv)
    w, y = collect(FaceGenerator(threads=args.threads), args.count, args.seed, images_dir=args.images)
    d = fit(w, y)
    d.save(args.out)
    print(f"{args.out}: {len(w)} of {args.count} faces used; held-out R^2 "
          + ", ".join(f"{n} {r:.2f}" for n, r in zip(d.names, d.r2)))


if __name__ == "__main__":
    main()
