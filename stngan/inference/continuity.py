"""Masks between and around detections: a video file is not a live stream, so both directions are used.

Given each frame's detected faces (with track ids), :func:`complete_tracks` adds

- *interpolated* faces in the frames of a track's gap (detection failed, or was not run on that frame):
  box, landmarks and circles linearly interpolated between the detections on both sides, circles grown by
  ``GROW_PER_FRAME`` box widths per frame of distance to the nearer detection (at most ``GROW_FRAMES``);
- *held* faces for ``hold`` frames before a track's first and after its last detection (the face is
  usually there before a detector picks it up and after it loses it), grown the same way; a run of n
  detections is held at most n frames, so one stray false detection does not become 2 × hold false masks.

Neither ever crosses a shot cut (a new shot's faces are elsewhere) nor leaves the video.
"""
from __future__ import annotations

import bisect
from collections import defaultdict

import numpy as np

from stngan.faces.box import Box
from stngan.faces.masks import Circle, MaskGeometry
from stngan.inference.sidecar import MASK_RULES, FaceRecord

GROW_PER_FRAME = 0.02
GROW_FRAMES = 5


def _lerp(a: float, b: float, t: float) -> float:
    return a + (b - a) * t


def _box_lerp(a: Box, b: Box, t: float) -> Box:
    return Box(_lerp(a.left, b.left, t), _lerp(a.top, b.top, t), _lerp(a.right, b.right, t),
               _lerp(a.bottom, b.bottom, t), min(a.score, b.score))


def _carried(geometry: MaskGeometry, src: Box, dst: Box) -> MaskGeometry:
    """Circles moved with their face box from ``src`` to ``dst`` (shift and scale about the box centre)."""
    (sx, sy), (dx, dy) = src.center, dst.center
    k = dst.width / src.width
    return MaskGeometry(tuple(Circle(dx + (c.cx - sx) * k, dy + (c.cy - sy) * k, c.r * k) for c in geometry.circles))


def _geometry_lerp(a: FaceRecord, b: FaceRecord, box: Box, t: float) -> MaskGeometry:
    if len(a.mask.circles) == len(b.mask.circles):
        return MaskGeometry(tuple(Circle(_lerp(p.cx, q.cx, t), _lerp(p.cy, q.cy, t), _lerp(p.r, q.r, t))
                                  for p, q in zip(a.mask.circles, b.mask.circles)))
    # different rules on the two sides: keep both masks, each carried along with the box
    return MaskGeometry(_carried(a.mask, a.box, box).circles + _carried(b.mask, b.box, box).circles)


def _worse_rule(a: str, b: str) -> str:
    return max(a, b, key=MASK_RULES.index)


def _grown(geometry: MaskGeometry, box: Box, distance: int) -> MaskGeometry:
    return geometry.dilated(GROW_PER_FRAME * box.width * min(distance, GROW_FRAMES))


def interpolate(a: FaceRecord, fa: int, b: FaceRecord, fb: int, frame: int) -> FaceRecord:
    """The face of one track at ``frame`` strictly between its detections a (frame fa) and b (frame fb)."""
    t = (frame - fa) / (fb - fa)
    box = _box_lerp(a.box, b.box, t)
    landmarks = ((1 - t) * a.landmarks.astype(np.float64) + t * b.landmarks.astype(np.float64)).astype(np.float32)
    geometry = _grown(_geometry_lerp(a, b, box, t), box, min(frame - fa, fb - frame))
    return FaceRecord(a.track, box, landmarks, geometry, _worse_rule(a.rule, b.rule), "interpolated")


def held(a: FaceRecord, distance: int) -> FaceRecord:
    """Face ``a`` kept ``distance`` frames past its track's end (or before its start)."""
    return FaceRecord(a.track, a.box, a.landmarks, _grown(a.mask, a.box, distance), a.rule, "held")


def complete_tracks(detected: dict[int, list[FaceRecord]], n_frames: int, cuts: list[int], hold: int,
                    max_gap: int) -> dict[int, list[FaceRecord]]:
    """Per frame index: the detected faces plus the interpolated and held ones (module doc).

    ``cuts`` are the frames where a new shot starts (sorted); gaps longer than ``max_gap`` frames are not
    bridged (the track is treated as ending and starting again, each side held).
    """
    shot_starts = [0] + [c for c in sorted(cuts) if 0 < c < n_frames]

    def shot_of(f: int) -> int:
        return bisect.bisect_right(shot_starts, f) - 1

    def shot_bounds(f: int) -> tuple[int, int]:
        k = shot_of(f)
        end = shot_starts[k + 1] - 1 if k + 1 < len(shot_starts) else n_frames - 1
        return shot_starts[k], end

    per_track: dict[int, list[tuple[int, FaceRecord]]] = defaultdict(list)
    for f, faces in detected.items():
        for face in faces:
            per_track[face.track].append((f, face))
    out: dict[int, list[FaceRecord]] = defaultdict(list)
    for f, faces in detected.items():
        out[f].extend(faces)
    for items in per_track.values():
        items.sort(key=lambda x: x[0])
        runs = [[items[0]]]
        for prev, cur in zip(items, items[1:]):
            same_shot = shot_of(prev[0]) == shot_of(cur[0])
            if same_shot and cur[0] - prev[0] - 1 <= max_gap:
                for f in range(prev[0] + 1, cur[0]):
                    out[f].append(interpolate(prev[1], prev[0], cur[1], cur[0], f))
                runs[-1].append(cur)
            else:
                runs.append([cur])
        for run in runs:
            (first, face_first), (last, face_last) = run[0], run[-1]
            start, end = shot_bounds(first)
            for d in range(1, min(hold, len(run)) + 1):
                if first - d >= start:
                    out[first - d].append(held(face_first, d))
                if last + d <= end:
                    out[last + d].append(held(face_last, d))
    return dict(out)
