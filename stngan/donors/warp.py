"""Piecewise-affine warp of a donor face onto a target face's 68 landmarks.

Both faces get the same extra points (``support_points``): a ring around the 68 points, so the warp also covers
the mask's margin beyond the outermost landmarks (masks reach 4 crop pixels past them) and the forehead. One
triangulation, made once on the mean face (``faces.template``), serves every pair: a per-face Delaunay would
pick different triangles on the donor and on the target and tear the texture. Each target pixel inside a
triangle is mapped to the donor by that triangle's affine map (exact at the vertices, continuous across
edges), then sampled bilinearly after a Gaussian pre-blur when the donor is shrunk (the crop code's rule).
"""
from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np

from stngan.faces.crop import antialias_sigma
from stngan.faces.landmarks import FLIP_PERMUTATION, JAW, LEFT_EYE, RIGHT_EYE
from stngan.faces.template import mean_shape

RING_SCALE = 1.45  # support ring: jaw and brow points pushed this far from the face centre
BROW_POINTS = (17, 19, 21, 22, 24, 26)


def support_points(landmarks: np.ndarray) -> np.ndarray:
    """(68, 2) landmarks → (68 + R, 2) float64: the landmarks, then a ring of R points around the face.

    The ring: every other jaw point and the brow points pushed ``RING_SCALE`` times as far from the face
    centre (mean of the eye centres and the chin), and two forehead points above the brows; they move with
    the face like the landmarks do, so donor and target rings correspond."""
    lm = np.asarray(landmarks, np.float64)
    assert lm.shape == (68, 2), lm.shape
    eyes = (lm[RIGHT_EYE].mean(0) + lm[LEFT_EYE].mean(0)) / 2
    centre = (eyes + lm[8]) / 2
    outline = lm[list(JAW[::2]) + list(BROW_POINTS)]
    ring = centre + RING_SCALE * (outline - centre)
    up = eyes - lm[8]  # chin → eyes: the face's up direction, scaled by its length
    forehead = lm[[19, 24]] + 0.45 * up
    return np.concatenate([lm, ring, forehead])


@lru_cache(maxsize=1)
def triangles() -> np.ndarray:
    """(K, 3) int32 vertex indices into :func:`support_points`: Delaunay of the mean face's points."""
    pts = support_points(mean_shape() * 200.0)
    lo, hi = pts.min(0) - 10, pts.max(0) + 10
    sub = cv2.Subdiv2D((int(lo[0]), int(lo[1]), int(hi[0] - lo[0]) + 1, int(hi[1] - lo[1]) + 1))
    for p in pts:
        sub.insert((float(p[0]), float(p[1])))
    tris = []
    for t in sub.getTriangleList().reshape(-1, 3, 2):
        idx = [int(np.argmin(np.linalg.norm(pts - v, axis=1))) for v in t]
        if np.linalg.norm(pts[idx] - t, axis=1).max() < 1e-3 and len(set(idx)) == 3:
            tris.append(idx)
    return np.array(tris, np.int32)


def mirror(image: np.ndarray, landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A face mirrored left-right with its landmarks renumbered (a right eye stays point 36-41)."""
    w = image.shape[1]
    lm = np.asarray(landmarks, np.float64)[FLIP_PERMUTATION].copy()
    lm[:, 0] = (w - 1) - lm[:, 0]
    return np.ascontiguousarray(image[:, ::-1]), lm


class TargetMesh:
    """The target side of a warp, built once per target face and shared by every donor warped onto it (the
    expression variants of one frame): which triangle covers each pixel, and its barycentric coordinates.

    ``dst_points``: the target's :func:`support_points` (pixel centres at integers) in a (height, width) image.
    """

    def __init__(self, dst_points: np.ndarray, height: int, width: int) -> None:
        tris = triangles()
        dst = np.asarray(dst_points, np.float64)
        assert dst.shape[0] > tris.max(), dst.shape
        self.dst, self.height, self.width = dst, height, width
        index = np.zeros((height, width), np.uint16)  # 0 = outside every triangle, k + 1 = triangle k
        shift = 4  # sub-pixel vertex precision for the rasteriser
        corners = dst[tris]  # (K, 3, 2)
        e1, e2 = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        usable = np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0]) >= 1e-6  # degenerate on the target: no pixel
        inverse = np.zeros((len(tris) + 1, 3, 3))
        homogeneous = np.concatenate([corners.transpose(0, 2, 1), np.ones((len(tris), 1, 3))], axis=1)
        inverse[1:][usable] = np.linalg.inv(homogeneous[usable])
        fixed = np.round(corners * (1 << shift)).astype(np.int32)
        for k in np.nonzero(usable)[0]:
            cv2.fillConvexPoly(index, fixed[k], int(k) + 1, cv2.LINE_8, shift)
        self.valid = index > 0
        self._grid = np.meshgrid(np.arange(width, dtype=np.float32), np.arange(height, dtype=np.float32))
        ys, xs = np.nonzero(self.valid)
        tri = index[ys, xs].astype(np.int64)
        self.pixels = (ys, xs)
        self.vertices = tris[tri - 1]  # (P, 3) support-point indices of each inside pixel's triangle
        self.weights = np.einsum("pij,pj->pi", inverse[tri], np.stack([xs, ys, np.ones_like(xs)], 1).astype(np.float64))

    def maps(self, src_points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """map_x, map_y (float32) for ``cv2.remap``: where each target pixel samples a donor with these support
        points; outside the support, the similarity that best takes the target's points to the donor's."""
        src = np.asarray(src_points, np.float64)
        assert src.shape == self.dst.shape, (src.shape, self.dst.shape)
        sim = cv2.estimateAffinePartial2D(self.dst.astype(np.float32), src.astype(np.float32), method=cv2.LMEDS)[0]
        xs, ys = self._grid
        sim = sim.astype(np.float32)
        map_x = sim[0, 0] * xs + sim[0, 1] * ys + sim[0, 2]
        map_y = sim[1, 0] * xs + sim[1, 1] * ys + sim[1, 2]
        inside = np.einsum("pi,pij->pj", self.weights, src[self.vertices])  # barycentric = the triangle's affine map
        map_x[self.pixels], map_y[self.pixels] = inside[:, 0], inside[:, 1]
        return map_x, map_y


def warp_maps(src_points: np.ndarray, dst_points: np.ndarray, height: int, width: int
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Dense maps for ``cv2.remap`` from donor to target :func:`support_points`: map_x, map_y and valid (bool:
    inside the warped support). See :class:`TargetMesh`."""
    mesh = TargetMesh(dst_points, height, width)
    return (*mesh.maps(src_points), mesh.valid)


def warp_face(donor: np.ndarray, donor_landmarks: np.ndarray, target: TargetMesh) -> np.ndarray:
    """The donor image (H, W, C) warped so that its 68 points land on the target's (``target``: a
    :class:`TargetMesh` of :func:`support_points` of the target landmarks) → (height, width, C) like the donor."""
    src = support_points(donor_landmarks)
    sigma = antialias_sigma(_shrink_factor(src, target.dst))
    if sigma > 0:
        donor = cv2.GaussianBlur(donor, (0, 0), sigma)
    return cv2.remap(donor, *target.maps(src), cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def _shrink_factor(src: np.ndarray, dst: np.ndarray) -> float:
    """Donor pixels per target pixel, from the spread of the two point sets."""
    spread = lambda p: float(np.sqrt(((p - p.mean(0)) ** 2).sum(1).mean()))  # noqa: E731
    return spread(src) / max(spread(dst), 1e-6)
