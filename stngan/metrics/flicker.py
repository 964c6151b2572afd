"""Temporal flicker: flow-based warping error between consecutive output frames in the masked region.

Flow is estimated on the *original* frames (OpenCV Farneback on grey crops), so it measures how the face
really moved; an inpainting that is temporally consistent moves its pixels the same way. For frames
t-1, t with backward flow f (pixel p of frame t sits at p + f(p) in frame t-1):

  E_t = mean over p in M_t ∩ V_t and channels of |y_t(p) - y_{t-1}(p + f(p))|   (8-bit grey levels)

where M_t is frame t's mask and V_t keeps pixels whose flow stays inside the crop and passes a
forward-backward check (|f(p) + f_fwd(p + f(p))| <= 1 px). The same error on the originals is the floor a
perfect method reaches (flow error, lighting changes).
"""
from __future__ import annotations

import cv2
import numpy as np

FARNEBACK = {"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5, "poly_sigma": 1.2,
             "flags": 0}
CONSISTENCY_PX = 1.0


def _grey(img: np.ndarray) -> np.ndarray:
    if img.ndim != 3 or img.shape[2] != 3 or img.dtype != np.uint8:
        raise ValueError(f"frames must be (H, W, 3) uint8, got {img.shape} {img.dtype}")
    return cv2.cvtColor(img, cv2.COLOR_RGB2GRAY)


def _sample(img: np.ndarray, flow: np.ndarray) -> np.ndarray:
    h, w = flow.shape[:2]
    gx, gy = np.meshgrid(np.arange(w, dtype=np.float32), np.arange(h, dtype=np.float32))
    return cv2.remap(img, gx + flow[..., 0], gy + flow[..., 1], cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def backward_flow(prev: np.ndarray, cur: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Flow (H, W, 2) float32 from frame ``cur`` to ``prev`` and the (H, W) bool validity mask V."""
    g0, g1 = _grey(prev), _grey(cur)
    back = cv2.calcOpticalFlowFarneback(g1, g0, None, **FARNEBACK)
    fwd = cv2.calcOpticalFlowFarneback(g0, g1, None, **FARNEBACK)
    h, w = back.shape[:2]
    gx, gy = np.meshgrid(np.arange(w), np.arange(h))
    tx, ty = gx + back[..., 0], gy + back[..., 1]
    inside = (tx >= 0) & (tx <= w - 1) & (ty >= 0) & (ty <= h - 1)
    round_trip = back + _sample(fwd, back)
    consistent = np.linalg.norm(round_trip, axis=2) <= CONSISTENCY_PX
    return back, inside & consistent


def warping_error(prev_out: np.ndarray, cur_out: np.ndarray, flow: np.ndarray, region: np.ndarray) -> float:
    """E_t of the module doc: outputs (H, W, 3) uint8, flow from :func:`backward_flow`, region (H, W) bool
    (mask ∩ validity). nan when the region is empty."""
    if prev_out.shape != cur_out.shape or region.shape != cur_out.shape[:2]:
        raise ValueError(f"frames {prev_out.shape}, {cur_out.shape} and region {region.shape} do not match")
    if not region.any():
        return float("nan")
    warped = _sample(prev_out.astype(np.float32), flow)
    return float(np.abs(cur_out.astype(np.float32) - warped)[region].mean())
