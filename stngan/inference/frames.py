"""Per-frame work of the two application commands, independent of how frames are read and written.

- ``Anonymizer.process(frame, index)``: detect → landmarks → track → privacy mask → masked frame + record.
- ``FrameInpainter.process(frame, index)``: the sidecar's faces of that frame → crops → model → paste
  (``process_batch`` does several frames in one model call: batching across frames on a GPU).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from stngan.faces.analyzer import Face, FaceAnalyzer
from stngan.faces.box import Box
from stngan.faces.crop import CropTransform
from stngan.faces.masks import apply_mask, mask_geometry, rasterize
from stngan.inference.control import LandmarkControl
from stngan.inference.crops import paste, prepare_crop
from stngan.inference.inpainter import Inpainter
from stngan.inference.sidecar import FaceRecord, FrameRecord, Sidecar
from stngan.inference.tracking import IouTracker, smooth_boxes


@dataclass
class AnonymizeOptions:
    detector: str = "hog"
    upsample: int = 1
    fill: tuple[int, int, int] = (0, 0, 0)
    min_face: int = 20  # faces with a box side below this (px) are left alone and counted
    max_res: int = 0  # detect on a copy whose long side is at most this (0 = full resolution)


@dataclass
class AnonymizeStats:
    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    skipped_tiny: int = 0
    tracks: set[int] = field(default_factory=set)

    def to_dict(self) -> dict:
        return {"frames": self.frames, "frames_with_faces": self.frames_with_faces, "faces": self.faces,
                "skipped_tiny": self.skipped_tiny, "tracks": len(self.tracks)}


class Anonymizer:
    def __init__(self, options: AnonymizeOptions | None = None) -> None:
        self.options = options or AnonymizeOptions()
        self.analyzer = FaceAnalyzer(self.options.detector, self.options.upsample)
        self.tracker = IouTracker()
        self.stats = AnonymizeStats()

    def _faces(self, frame: np.ndarray) -> list[Face]:
        """Faces at full resolution; detection on a downscaled copy when max_res caps it."""
        h, w = frame.shape[:2]
        cap = self.options.max_res
        if not cap or max(h, w) <= cap:
            return self.analyzer.analyze(frame)
        s = cap / max(h, w)
        small = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
        def up(e: float) -> float:  # pixel centres sit at integers: scale about the -0.5 edge
            return (e + 0.5) / s - 0.5

        boxes = [Box(up(b.left), up(b.top), up(b.right), up(b.bottom), b.score)
                 for b in self.analyzer.detector.detect(small)]
        return [Face(b, self.analyzer.predictor.predict(frame, b)) for b in boxes]

    def process(self, frame: np.ndarray, index: int) -> tuple[np.ndarray, FrameRecord]:
        """(H, W, 3) uint8 frame → (masked frame, record of its faces)."""
        faces = self._faces(frame)
        kept = [f for f in faces if min(f.box.width, f.box.height) >= self.options.min_face]
        self.stats.frames += 1
        self.stats.skipped_tiny += len(faces) - len(kept)
        ids = self.tracker.update(index, [f.box for f in kept])
        records = [FaceRecord(t, f.box, f.landmarks, mask_geometry(f.landmarks)) for t, f in zip(ids, kept)]
        masked = frame
        if records:
            self.stats.frames_with_faces += 1
            self.stats.faces += len(records)
            self.stats.tracks.update(ids)
            masked = apply_mask(frame, mask_union(records, frame.shape[:2]), self.options.fill)
        return masked, FrameRecord(index, records)


def smoothed_transforms(sidecar: Sidecar, pad: float, size: int, radius: int = 2) -> dict[tuple[int, int], CropTransform]:
    """Crop transform per (frame index, track), from boxes smoothed along each track (see tracking)."""
    per_track: dict[int, list[tuple[int, Box]]] = {}
    for fr in sidecar.frames:
        for face in fr.faces:
            per_track.setdefault(face.track, []).append((fr.index, face.box))
    out = {}
    for track, items in per_track.items():
        items.sort(key=lambda t: t[0])
        frames = [i for i, _ in items]
        raw = np.array([[b.left, b.top, b.right, b.bottom] for _, b in items], dtype=np.float64)
        for f, (l, t, r, b) in zip(frames, smooth_boxes(frames, raw, radius)):
            out[(f, track)] = CropTransform.from_box(Box(l, t, r, b), pad=pad, size=size)
    return out


class FrameInpainter:
    """Inpaints the faces a sidecar lists, frame by frame (frames must come in order for STN)."""

    def __init__(self, inpainter: Inpainter, sidecar: Sidecar, control: LandmarkControl | None = None,
                 pad: float = 0.2, smooth_radius: int = 2) -> None:
        self.inpainter = inpainter
        self.faces = sidecar.faces_by_frame()
        self.transforms = smoothed_transforms(sidecar, pad, inpainter.crop_size, smooth_radius)
        self.control = control or LandmarkControl()
        self.last_frame_of_track = {k[1]: k[0] for k in sorted(self.transforms)}
        self.faces_done = 0

    def process(self, frame: np.ndarray, index: int) -> np.ndarray:
        return self.process_batch([(frame, index)])[0]

    def process_batch(self, frames: list[tuple[np.ndarray, int]]) -> list[np.ndarray]:
        """Inpaint the faces of several consecutive frames in one model call (SI) and paste them back.

        STN streams each track frame by frame, so its frames still go to the model one at a time (all the
        tracks of a frame together).
        """
        if self.inpainter.config.model.kind == "stn" and len(frames) > 1:
            return [out for f in frames for out in self.process_batch([f])]
        items, owner = [], []
        for k, (frame, index) in enumerate(frames):
            for face in self.faces.get(index, []):
                ct = self.transforms[(index, face.track)]
                lm = self.control.apply(ct.to_crop(face.landmarks), face.track, ct.size)
                items.append(prepare_crop(frame, face.track, ct, face.mask, lm))
                owner.append((k, index))
        outs = [frame for frame, _ in frames]
        if not items:
            return outs
        ys = self.inpainter.inpaint(items)
        for item, y, (k, index) in zip(items, ys, owner):
            outs[k] = paste(outs[k], item, y)
            if self.last_frame_of_track.get(item.track) == index:
                self.inpainter.end_track(item.track)
        self.faces_done += len(items)
        return outs


def mask_union(records: list[FaceRecord], shape: tuple[int, int]) -> np.ndarray:
    union = np.zeros(shape, dtype=np.uint8)
    for r in records:
        union |= rasterize(r.mask, shape[0], shape[1])
    return union

