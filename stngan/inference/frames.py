"""Per-frame work of the two application commands, independent of how frames are read and written.

- ``FaceFinder.find(frame, index)``: detect → landmarks → track → mask rule → the frame's face records;
  ``Anonymizer.process(frame, index)`` also masks the frame (images; videos add continuity first).
- ``FrameInpainter.process(frame, index)``: the sidecar's faces of that frame → crops → model → paste
  (``process_batch`` does several frames in one model call: batching across frames on a GPU).
"""
from __future__ import annotations

import os
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from stngan.errors import InputError
from stngan.faces.analyzer import FaceAnalyzer
from stngan.faces.box import Box
from stngan.faces.crop import CropTransform
from stngan.faces.detect import Detection, FaceDetector, overlaps_any
from stngan.faces.fallback import FaceMask, face_mask
from stngan.faces.landmarks import LandmarkPredictor
from stngan.faces.masks import apply_mask, rasterize
from stngan.inference.control import LandmarkControl
from stngan.inference.crops import CROP_MASK_MARGIN, paste, prepare_crop
from stngan.inference.inpainter import Inpainter
from stngan.inference.sidecar import FACE_ORIGINS, MASK_RULES, FaceRecord, FrameRecord, Sidecar
from stngan.inference.temporal import TemporalFilter
from stngan.inference.tracking import IouTracker, smooth_track


@dataclass
class AnonymizeOptions:
    detector: str = "mtcnn+blazeface"
    upsample: int = 1  # dlib detectors only
    fill: tuple[int, int, int] = (0, 0, 0)
    min_face: int = 20  # smallest face (box side, px) the detector looks for; every face found is masked
    max_res: int = 0  # detect on a copy whose long side is at most this (0 = full resolution)
    # videos: run the full detector on every n-th frame and at every shot cut; the frames between get MTCNN
    # on a window around each tracked face (MTCNN detectors) plus the detector's fast part when it has one
    # (the default union: BlazeFace on the whole frame), and interpolation for the rest
    detect_every: int = 3  # measured: same recall as 1 on every clip of docs/DETECTION.md, half the CPU
    # videos: the small-face part of the detector (faces under SMALL_FACE_PX) runs on every n-th full
    # detection and at every shot cut; a small face found up to hold frames late is still masked from its
    # first frame by the backward hold, and a tracked one is re-detected near where it was on every frame
    small_every: int = 0  # 0: as rarely as the hold allows, (hold + 1) // detect_every (2 at the defaults)
    hold: int = 5  # videos: frames a mask is kept before a track's first / after its last detection
    max_gap: int = 10  # videos: longest run of frames without detection bridged by interpolation
    workers: int = 0  # videos: frames detected at once, one thread each (0: one per CPU core, at most 4)

    def __post_init__(self) -> None:
        for name, low in (("min_face", 12), ("max_res", 0), ("detect_every", 1), ("small_every", 0), ("hold", 0),
                          ("max_gap", 0), ("workers", 0)):
            value = getattr(self, name)
            if int(value) != value or value < low:
                raise InputError(f"{name.replace('_', '-')} must be an integer >= {low}, got {value!r}")
        if self.max_gap < self.detect_every - 1:
            raise InputError(f"max-gap ({self.max_gap}) must be at least detect-every - 1 ({self.detect_every - 1}), "
                             f"or tracks break between detections")
        late = self.detect_every * self.small_face_scans - 1
        if self.small_face_scans > 1 and self.hold < late:
            raise InputError(f"hold ({self.hold}) must be at least detect-every x small-every - 1 ({late}): a small "
                             f"face is found up to {late} frames after it appears, and the hold masks those frames")

    @property
    def small_face_scans(self) -> int:
        """Every how many full detections the small-face part runs (``small_every``, or the auto value)."""
        return self.small_every or max(1, (self.hold + 1) // self.detect_every)

    @property
    def detection_threads(self) -> int:
        return self.workers or max(1, min(len(os.sched_getaffinity(0)), 4))


@dataclass
class AnonymizeStats:
    frames: int = 0
    frames_with_faces: int = 0
    faces: int = 0
    tracks: int = 0
    cuts: int = 0
    origins: Counter = field(default_factory=Counter)
    rules: Counter = field(default_factory=Counter)

    def add(self, records: list[FaceRecord]) -> None:
        self.frames += 1
        self.frames_with_faces += bool(records)
        self.faces += len(records)
        self.origins.update(r.origin for r in records)
        self.rules.update(r.rule for r in records)

    def to_dict(self) -> dict:
        return {"frames": self.frames, "frames_with_faces": self.frames_with_faces,
                "frames_without_faces": self.frames - self.frames_with_faces, "faces": self.faces,
                "tracks": self.tracks, "cuts": self.cuts,
                **{f"faces_{o}": self.origins[o] for o in FACE_ORIGINS},
                **{f"rule_{r}": self.rules[r] for r in MASK_RULES}}


class FaceFinder:
    """Detection → landmarks → mask rule for one frame (display orientation), with track ids per shot.

    :meth:`detect` may run on several threads at once (each thread gets its own detector: TFLite
    interpreters are not thread-safe; the landmark model is shared); :meth:`track` must then be called
    with the frames in order. :meth:`find` is both for one frame.
    """

    def __init__(self, options: AnonymizeOptions) -> None:
        self.options = options
        self.tracker = IouTracker(max_gap=options.max_gap)
        kind = FaceDetector(options.detector)  # what the detector can do; nothing is loaded
        self.has_fast_part, self.follows_tracks = kind.has_fast_part, kind.detects_near
        self._predictor = LandmarkPredictor()
        self._local = threading.local()

    @property
    def analyzer(self) -> FaceAnalyzer:
        """This thread's detector + the shared landmark model."""
        if not hasattr(self._local, "analyzer"):
            self._local.analyzer = FaceAnalyzer(self.options.detector, self.options.upsample,
                                                min_face=self.options.min_face, predictor=self._predictor)
        return self._local.analyzer

    def _detections(self, frame: np.ndarray, fast_only: bool, small: bool = True) -> list[Detection]:
        """Detections in frame coordinates; on a downscaled copy when max_res caps the resolution."""
        h, w = frame.shape[:2]
        cap = self.options.max_res
        detector = self.analyzer.detector
        if not cap or max(h, w) <= cap:
            return detector.detect_with_points(frame, fast_only=fast_only, small=small)
        s = cap / max(h, w)
        reduced = cv2.resize(frame, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)

        def up(e: float) -> float:  # pixel centres sit at integers: scale about the -0.5 edge
            return (e + 0.5) / s - 0.5

        return [Detection(Box(up(d.box.left), up(d.box.top), up(d.box.right), up(d.box.bottom), d.box.score),
                          None if d.points is None else (d.points + 0.5) / s - 0.5)
                for d in detector.detect_with_points(reduced, fast_only=fast_only, small=small)]

    def _with_masks(self, frame: np.ndarray, detections: list[Detection]) -> list[tuple[Box, FaceMask]]:
        predictor = self.analyzer.predictor
        ordered = sorted(detections, key=lambda d: (-d.box.area, -d.box.score))
        return [(d.box, face_mask(d.box, predictor.predict(frame, d.box), d.points)) for d in ordered]

    def new_shot(self) -> None:
        """Forget live tracks: the next faces start new tracks (a shot cut)."""
        self.tracker.end_all()

    def detect(self, frame: np.ndarray, fast_only: bool = False, small: bool = True) -> list[tuple[Box, FaceMask]]:
        """The faces of an (H, W, 3) uint8 frame with their masks and rules, before tracking (thread-safe;
        ``fast_only``, ``small``: parts of the detector, see :meth:`FaceDetector.detect_with_points`)."""
        frame = np.ascontiguousarray(frame)
        return self._with_masks(frame, self._detections(frame, fast_only, small))

    def detections(self, frame: np.ndarray, fast_only: bool, small: bool) -> list[Detection]:
        """The detector's parts (see :meth:`FaceDetector.detect_with_points`) without masks (thread-safe), for
        :meth:`detect_tracked`; ``fast_only`` on a detector without a fast part finds nothing."""
        if fast_only and not self.has_fast_part:
            return []
        return self._detections(np.ascontiguousarray(frame), fast_only, small)

    def detect_tracked(self, index: int, frame: np.ndarray, fast: list[Detection]) -> list[tuple[Box, FaceMask]]:
        """A frame between full detections (frames in order, after the previous frame's :meth:`track`): MTCNN
        on a window around every live track, so moving faces keep fresh masks, plus ``fast`` (the frame's
        other detections, :meth:`detections`) for faces no track knows."""
        frame = np.ascontiguousarray(frame)
        boxes = self.tracker.live_boxes(index)
        near = self.analyzer.detector.detect_near(frame, boxes) if boxes else []
        return self._with_masks(frame, near + [d for d in fast if not overlaps_any(d.box, near)])

    def track(self, index: int, faces: list[tuple[Box, FaceMask]]) -> list[FaceRecord]:
        """Frame ``index``'s faces (from :meth:`detect`) as records with track ids; frames in order."""
        ids = self.tracker.update(index, [box for box, _ in faces])
        return [FaceRecord(track, box, fm.landmarks, fm.geometry, fm.rule, "detected")
                for track, (box, fm) in zip(ids, faces)]

    def find(self, frame: np.ndarray, index: int, fast_only: bool = False) -> list[FaceRecord]:
        """:meth:`detect` then :meth:`track` for one frame."""
        return self.track(index, self.detect(frame, fast_only))


class Anonymizer:
    """One image: faces found and masked (videos go through :func:`stngan.inference.app.anonymize_video`,
    which adds the frames between and around detections, see :mod:`stngan.inference.continuity`)."""

    def __init__(self, options: AnonymizeOptions | None = None) -> None:
        self.options = options or AnonymizeOptions()
        self.finder = FaceFinder(self.options)
        self.stats = AnonymizeStats()

    def process(self, frame: np.ndarray, index: int) -> tuple[np.ndarray, FrameRecord]:
        """(H, W, 3) uint8 frame → (masked frame, record of its faces)."""
        records = self.finder.find(frame, index)
        self.stats.add(records)
        self.stats.tracks = len({r.track for r in records})
        return mask_frame(frame, records, self.options.fill), FrameRecord(index, records)


def mask_frame(frame: np.ndarray, records: list[FaceRecord], fill: tuple[int, int, int]) -> np.ndarray:
    """The frame with every record's circles filled (the frame itself when there is none)."""
    if not records:
        return frame
    return apply_mask(frame, mask_union(records, frame.shape[:2]), fill)


def smoothed_tracks(sidecar: Sidecar, pad: float, size: int | Callable[[float], int], radius: int = 2,
                    landmark_radius: int | None = None, aligned: bool = False
                    ) -> dict[tuple[int, int], tuple[CropTransform, np.ndarray]]:
    """Per (frame index, track): the crop transform from boxes smoothed along the track, and the (68, 2)
    landmarks smoothed the same way (frame coordinates), which the model is conditioned on: dlib's
    per-frame landmark jitter otherwise makes the painted features shimmer. Masks are not smoothed.
    ``size``: crop pixels, or a function of the track's median crop side (frame pixels) giving them, one size
    per track. ``radius``: frames each side averaged for the boxes, and for the landmarks unless ``landmark_radius``
    is given (0 leaves them as detected: the donor fill filters them itself).
    ``aligned``: crops one crop pixel per frame pixel on the frame's pixel grid (side = size, centre snapped) where
    the size reaches the window's side (larger faces are resampled to the size), so
    cropping and pasting copy pixels instead of resampling them (a bilinear resample at a half-pixel offset
    takes ~40 % of the fine detail, twice)."""
    per_track: dict[int, list[tuple[int, FaceRecord]]] = {}
    for fr in sidecar.frames:
        for face in fr.faces:
            per_track.setdefault(face.track, []).append((fr.index, face))
    out = {}
    for track, items in per_track.items():
        items.sort(key=lambda t: t[0])
        frames = [i for i, _ in items]
        boxes = smooth_track(frames, np.array([[f.box.left, f.box.top, f.box.right, f.box.bottom] for _, f in items],
                                              dtype=np.float64), radius)
        landmarks = np.stack([f.landmarks.reshape(-1) for _, f in items]).astype(np.float64)
        lm_radius = radius if landmark_radius is None else landmark_radius
        if lm_radius:
            landmarks = smooth_track(frames, landmarks, lm_radius)
        sides = np.maximum(boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]) * (1 + 2 * pad)
        crop = size(float(np.median(sides))) if callable(size) else size
        native = aligned and crop >= np.median(sides)  # the track fits its crops at its own resolution
        for f, (l, t, r, b), lm in zip(frames, boxes, landmarks):
            ct = CropTransform.from_box(Box(l, t, r, b), pad=pad, size=crop)
            if native:  # copy pixels, do not resample them
                half = crop / 2 - 0.5
                ct = CropTransform(round(ct.cx - half) + half, round(ct.cy - half) + half, crop, crop)
            out[(f, track)] = (ct, lm.reshape(68, 2))
    return out


class FrameInpainter:
    """Inpaints the faces a sidecar lists, frame by frame (frames must come in order for STN)."""

    def __init__(self, inpainter: Inpainter, sidecar: Sidecar, control: LandmarkControl | None = None,
                 pad: float = 0.2) -> None:
        self.inpainter = inpainter
        inpainter.reset()  # one media file: track ids (streams, donors, filters) start again
        self.faces = sidecar.faces_by_frame()
        self.tracks = smoothed_tracks(sidecar, pad, inpainter.crop_size_for,
                                      landmark_radius=inpainter.smooth_radius, aligned=inpainter.pixel_aligned)
        self.control = control or LandmarkControl()
        self.last_frame_of_track = {k[1]: k[0] for k in sorted(self.tracks)}
        self.temporal = TemporalFilter(inpainter.temporal)
        self.faces_done = 0

    def process(self, frame: np.ndarray, index: int) -> np.ndarray:
        return self.process_batch([(frame, index)])[0]

    def process_batch(self, frames: list[tuple[np.ndarray, int]]) -> list[np.ndarray]:
        """Inpaint the faces of several consecutive frames in one model call (SI) and paste them back.

        STN streams each track frame by frame, so its frames still go to the model one at a time (all the
        tracks of a frame together).
        """
        return self.finish(frames, self.infer(frames))

    def infer(self, frames: list[tuple[np.ndarray, int]]) -> Inferred:
        """The model's half of :meth:`process_batch`: crops and fills. Calls must come in frame order (STN
        streams, landmark smoothing); they may run on another thread than :meth:`finish`'s, one batch ahead."""
        if self.inpainter.kind == "stn" and len(frames) > 1:
            parts = [self.infer([f]) for f in frames]
            return Inferred([i for p in parts for i in p.items], [y for p in parts for y in p.fills],
                            [(k, index) for k, p in enumerate(parts) for _, index in p.owners])
        items, owner = [], []
        for k, (frame, index) in enumerate(frames):
            for face in self.faces.get(index, []):
                ct, landmarks = self.tracks[(index, face.track)]
                lm = self.control.apply(ct.to_crop(landmarks), face.track, ct.size)
                # a crop that copies pixels mixes no masked pixel into a visible one: its mask is the frame's
                margin = 0.0 if ct.copies_pixels else CROP_MASK_MARGIN
                items.append(prepare_crop(frame, face.track, ct, face.mask, lm, margin))
                owner.append((k, index))
        fills = self.inpainter.inpaint(items) if items else []
        for item, (_, index) in zip(items, owner):
            if self.last_frame_of_track.get(item.track) == index:
                self.inpainter.end_track(item.track)
        return Inferred(items, fills, owner)

    def finish(self, frames: list[tuple[np.ndarray, int]], inferred: Inferred) -> list[np.ndarray]:
        """The frame half of :meth:`process_batch`: paste, blend and temporal filter (frames in order)."""
        outs = [frame for frame, _ in frames]
        for item, y, (k, index) in zip(inferred.items, inferred.fills, inferred.owners):
            outs[k] = paste(outs[k], item, y, self.inpainter.frame_blend(item))
            # the rectifying neighbourhood: about one model pixel, in frame pixels
            radius = max(1, round(1.0 / item.transform.scale))
            outs[k] = self.temporal.apply(outs[k], item.frame_mask, item.transform.to_frame(item.landmarks),
                                          item.track, radius)
            if self.last_frame_of_track.get(item.track) == index:
                self.temporal.end_track(item.track)
        self.faces_done += len(inferred.items)
        return outs


@dataclass
class Inferred:
    """What :meth:`FrameInpainter.infer` gives :meth:`FrameInpainter.finish`: crops, fills and, per crop,
    (position in the batch, frame index)."""

    items: list
    fills: list
    owners: list[tuple[int, int]]


def mask_union(records: list[FaceRecord], shape: tuple[int, int]) -> np.ndarray:
    union = np.zeros(shape, dtype=np.uint8)
    for r in records:
        union |= rasterize(r.mask, shape[0], shape[1])
    return union

