"""The anonymisation sidecar: per frame and per face, track id, box, landmarks, the exact mask and how it was made.

`stngan anonymize` writes it next to its output (``OUTPUT.stngan.json``); `stngan inpaint` reads it to
rebuild exactly the same masks without detecting faces on masked frames (which fails). JSON, versioned,
written atomically. Coordinates are pixels of the frame *as displayed* (``source.rotation`` is the
counter-clockwise display rotation that was applied to stored frames) with pixel centres at integers.

Per face, ``rule`` says which landmarks made the mask (MASK_RULES) and ``origin`` whether the face was
detected in that frame or carried there from the frames around it (FACE_ORIGINS). Version 1 files (no
rule/origin/rotation) still load: their faces are "lm68"/"detected", rotation 0.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from stngan.errors import UserError
from stngan.faces.box import Box
from stngan.faces.masks import MaskGeometry

FORMAT = "stngan-sidecar"
VERSION = 2
# lm68: circles from the 68 landmarks; lm68+lm5: those plus circles from the detector's 5 points where the
# 68-point fit missed one of them; lm5: from the 5 points only (68-point fit unreliable: profile, tiny,
# occluded); box: from the box geometry alone (no usable points)
MASK_RULES = ("lm68", "lm68+lm5", "lm5", "box")
# detected in this frame; interpolated between two detections of its track; held past a track's end/start
FACE_ORIGINS = ("detected", "interpolated", "held")
SUFFIX = ".stngan.json"


class SidecarError(UserError, ValueError):
    """Missing, unreadable or mismatching sidecar."""


@dataclass
class FaceRecord:
    track: int
    box: Box
    landmarks: np.ndarray  # (68, 2) float32, frame coordinates (for lm5/box rules: a template fitted to the face)
    mask: MaskGeometry  # frame coordinates
    rule: str = "lm68"  # one of MASK_RULES
    origin: str = "detected"  # one of FACE_ORIGINS

    def __post_init__(self) -> None:
        if self.rule not in MASK_RULES:
            raise SidecarError(f"unknown mask rule {self.rule!r}; expected one of {', '.join(MASK_RULES)}")
        if self.origin not in FACE_ORIGINS:
            raise SidecarError(f"unknown face origin {self.origin!r}; expected one of {', '.join(FACE_ORIGINS)}")

    def to_dict(self) -> dict:
        return {"track": self.track, "box": self.box.to_dict(), "rule": self.rule, "origin": self.origin,
                "landmarks": np.round(self.landmarks.astype(np.float64), 3).tolist(), **self.mask.to_dict()}

    @classmethod
    def from_dict(cls, d: dict) -> FaceRecord:
        lm = np.asarray(d["landmarks"], dtype=np.float32)
        if lm.shape != (68, 2):
            raise SidecarError(f"face landmarks must be 68×2, got {lm.shape}")
        return cls(int(d["track"]), Box.from_dict(d["box"]), lm, MaskGeometry.from_dict(d),
                   str(d.get("rule", "lm68")), str(d.get("origin", "detected")))


@dataclass
class FrameRecord:
    index: int
    faces: list[FaceRecord] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"index": self.index, "faces": [f.to_dict() for f in self.faces]}

    @classmethod
    def from_dict(cls, d: dict) -> FrameRecord:
        return cls(int(d["index"]), [FaceRecord.from_dict(f) for f in d["faces"]])


@dataclass
class Sidecar:
    """Everything `inpaint` needs to redo the masks of one anonymised image or video."""

    source: dict  # name, kind (image|video), width, height (as displayed), frame_count, rotation
    mask_style: dict  # shape, fill (RGB), jitter
    frames: list[FrameRecord] = field(default_factory=list)
    stats: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        return {"format": FORMAT, "version": VERSION, "source": self.source, "mask_style": self.mask_style,
                "stats": self.stats, "frames": [f.to_dict() for f in self.frames if f.faces]}

    def faces_by_frame(self) -> dict[int, list[FaceRecord]]:
        return {f.index: f.faces for f in self.frames}

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
        try:
            with os.fdopen(fd, "w") as f:
                json.dump(self.to_dict(), f, separators=(",", ":"))
            os.chmod(tmp, 0o644)  # mkstemp creates 0600; a sidecar is shared like its media file
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        return path

    @classmethod
    def load(cls, path: str | Path) -> Sidecar:
        path = Path(path)
        try:
            data = json.loads(path.read_text())
        except FileNotFoundError as e:
            raise SidecarError(f"sidecar not found: {path}") from e
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
            raise SidecarError(f"{path}: not a readable sidecar ({e.__class__.__name__})") from e
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise SidecarError(f"{path}: not an stngan sidecar")
        if data.get("version", 0) > VERSION:
            raise SidecarError(f"{path}: sidecar version {data['version']} is newer than this stngan ({VERSION})")
        try:
            frames = [FrameRecord.from_dict(f) for f in data["frames"]]
            return cls(dict(data["source"]), dict(data["mask_style"]), frames, dict(data.get("stats", {})))
        except (KeyError, TypeError, ValueError) as e:
            raise SidecarError(f"{path}: malformed sidecar ({e})") from e

    def check_matches(self, width: int, height: int, frame_count: int | None, name: str) -> None:
        """Refuse a sidecar written for another image/video (size or frame count differ)."""
        src = self.source
        if (src["width"], src["height"]) != (width, height):
            raise SidecarError(f"sidecar is for a {src['width']}×{src['height']} {src['kind']}, but {name} is "
                               f"{width}×{height}")
        if frame_count is not None and src.get("frame_count") not in (None, frame_count):
            raise SidecarError(f"sidecar is for {src['frame_count']} frames, but {name} has {frame_count}")
        last = max((f.index for f in self.frames), default=-1)
        if frame_count is not None and last >= frame_count:
            raise SidecarError(f"sidecar has faces in frame {last}, but {name} has only {frame_count} frames")


def sidecar_path_for(media: str | Path) -> Path:
    media = Path(media)
    return media.with_name(media.name + SUFFIX)
