"""Face tracks across frames: greedy IoU association with gaps, and temporal smoothing of crop boxes.

Association: each frame's detections are matched to live tracks by IoU (greedy, highest first,
IoU ≥ `min_iou`); unmatched detections start new tracks; a track not seen for more than `max_gap`
frames ends. Ids are never reused.

Smoothing is for what the model sees only (crop boxes and the landmark condition, so they do not jitter
between frames); a detected face's privacy mask comes from that frame's own landmarks, so smoothing can
never move a mask off a face (masks between
detections: :mod:`stngan.inference.continuity`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from stngan.faces.box import Box


@dataclass
class _Live:
    track_id: int
    box: Box
    last_frame: int


@dataclass
class IouTracker:
    min_iou: float = 0.3
    max_gap: int = 10
    _live: list[_Live] = field(default_factory=list)
    _next_id: int = 0

    def end_all(self) -> None:
        """End every live track (a shot cut): later boxes start new tracks; ids stay unique."""
        self._live.clear()

    def live_boxes(self, frame_index: int) -> list[Box]:
        """The last boxes of the tracks still alive at ``frame_index`` (before its update)."""
        return [t.box for t in self._live if frame_index - t.last_frame <= self.max_gap + 1]

    def update(self, frame_index: int, boxes: list[Box]) -> list[int]:
        """Track ids for `boxes` (same order) detected in frame `frame_index`."""
        self._live = [t for t in self._live if frame_index - t.last_frame <= self.max_gap + 1]
        pairs = sorted(((t.box.iou(b), ti, bi) for ti, t in enumerate(self._live) for bi, b in enumerate(boxes)),
                       reverse=True)
        ids: list[int | None] = [None] * len(boxes)
        used_tracks: set[int] = set()
        for score, ti, bi in pairs:
            if score < self.min_iou:
                break
            if ti in used_tracks or ids[bi] is not None:
                continue
            used_tracks.add(ti)
            ids[bi] = self._live[ti].track_id
            self._live[ti].box, self._live[ti].last_frame = boxes[bi], frame_index
        for bi, box in enumerate(boxes):
            if ids[bi] is None:
                ids[bi] = self._next_id
                self._live.append(_Live(self._next_id, box, frame_index))
                self._next_id += 1
        return [int(i) for i in ids]


def smooth_track(frames: list[int], values: np.ndarray, radius: int = 2) -> np.ndarray:
    """Centred moving average of one track's per-frame values (n, K) at sorted `frames` (boxes, landmarks).

    Averages over observations within ±radius frames (a gap shortens the window; it never bridges
    frames the track was absent from by more than radius). Offline smoothing is possible because
    inpainting reads the complete sidecar before it starts.
    """
    frames_arr = np.asarray(frames)
    out = np.empty_like(values, dtype=np.float64)
    for i, f in enumerate(frames_arr):
        near = np.abs(frames_arr - f) <= radius
        out[i] = values[near].mean(axis=0)
    return out
