"""Does a fill look like a real face part? Two measures that can fail, on eye-band and mouth patches.

Patches: the eye band and the mouth are cut from the original and from the output with the same similarity
transform (from the *original's* 68 points: eye centres, or mouth corners, to fixed positions), so both
show the same part of the face at the same scale; the same pixels are compared whatever the fill did.

- **detail ratio**: mean |Laplacian| of the output patch / of the original patch (1 = as much fine detail
  as the real face; a smear is < 0.6, a too-sharp paste > 1.3);
- **real-vs-fill classifier**: HOG + CIELAB mean/std + Laplacian energy per patch, standardised, an
  L2-regularised logistic regression, k-fold cross-validation *grouped by face* (a face's real and filled
  patch are always in the same fold, so the classifier never sees the face it is scored on); ROC AUC of the
  held-out scores. 0.5: cannot tell fills from real parts; 1.0: always can.
"""
from __future__ import annotations

import cv2
import numpy as np

# (patch width, height), and where the two anchor points go: eyes (centres), mouth (corners 48, 54)
EYE_PATCH, EYE_ANCHORS = (96, 32), ((24.0, 16.0), (72.0, 16.0))
MOUTH_PATCH, MOUTH_ANCHORS = (72, 48), ((16.0, 22.0), (56.0, 22.0))
PARTS = ("eyes", "mouth")


def _anchor_transform(p: np.ndarray, q: np.ndarray, anchors) -> np.ndarray:
    """2×3 similarity taking points p, q to the two anchors."""
    (ax, ay), (bx, by) = anchors
    src = np.array([p, q], np.float64)
    v, w = src[1] - src[0], np.array([bx - ax, by - ay])
    s = np.linalg.norm(w) / max(np.linalg.norm(v), 1e-9)
    ang = np.arctan2(w[1], w[0]) - np.arctan2(v[1], v[0])
    c, si = s * np.cos(ang), s * np.sin(ang)
    m = np.array([[c, -si, 0.0], [si, c, 0.0]])
    m[:, 2] = np.array([ax, ay]) - m[:, :2] @ src[0]
    return m


def part_patch(img: np.ndarray, landmarks: np.ndarray, part: str) -> np.ndarray:
    """The ``part`` ("eyes" / "mouth") patch of an (H, W, 3) uint8 image, cut by the given 68 points."""
    lm = np.asarray(landmarks, np.float64)
    if part == "eyes":
        m, size = _anchor_transform(lm[36:42].mean(0), lm[42:48].mean(0), EYE_ANCHORS), EYE_PATCH
    elif part == "mouth":
        m, size = _anchor_transform(lm[48], lm[54], MOUTH_ANCHORS), MOUTH_PATCH
    else:
        raise ValueError(f"part must be one of {PARTS}, got {part!r}")
    scale = float(np.hypot(*m[0, :2]))
    src = img if scale >= 0.5 else cv2.GaussianBlur(img, (0, 0), (1 / scale - 1) / 2)
    return cv2.warpAffine(src, m, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def laplacian_energy(img: np.ndarray, region: np.ndarray | None = None) -> float:
    """Mean |Laplacian| of the grey image (uint8, or float in [0, 255]) over ``region`` (default: all of it)."""
    src = img if img.dtype == np.uint8 else np.clip(img, 0, 255).astype(np.float32)
    lap = np.abs(cv2.Laplacian(cv2.cvtColor(src, cv2.COLOR_RGB2GRAY).astype(np.float32), cv2.CV_32F, ksize=1))
    if region is None:
        return float(lap.mean())
    return float(lap[region].mean()) if region.any() else 0.0


def detail_ratio(output_patch: np.ndarray, original_patch: np.ndarray) -> float:
    return laplacian_energy(output_patch) / max(laplacian_energy(original_patch), 1e-6)


def hog(grey: np.ndarray, cell: int = 8, bins: int = 9) -> np.ndarray:
    """Dalal-Triggs HOG: unsigned gradient orientation histograms of ``cell``-px cells (magnitude-weighted,
    hard binning), L2-Hys normalised over 2×2-cell blocks at a one-cell stride; flattened."""
    g = grey.astype(np.float32)
    gx, gy = cv2.Sobel(g, cv2.CV_32F, 1, 0, ksize=1), cv2.Sobel(g, cv2.CV_32F, 0, 1, ksize=1)
    mag, ang = np.hypot(gx, gy), np.mod(np.arctan2(gy, gx), np.pi)
    b = np.minimum((ang / np.pi * bins).astype(int), bins - 1)
    ch, cw = g.shape[0] // cell, g.shape[1] // cell
    hist = np.zeros((ch, cw, bins))
    for k in range(bins):
        m = (mag * (b == k))[:ch * cell, :cw * cell]
        hist[..., k] = m.reshape(ch, cell, cw, cell).sum(axis=(1, 3))
    blocks = np.concatenate([hist[:-1, :-1], hist[1:, :-1], hist[:-1, 1:], hist[1:, 1:]], axis=-1)
    blocks = blocks / np.sqrt((blocks ** 2).sum(-1, keepdims=True) + 1e-6)
    blocks = np.minimum(blocks, 0.2)
    return (blocks / np.sqrt((blocks ** 2).sum(-1, keepdims=True) + 1e-6)).reshape(-1)


def patch_features(patch: np.ndarray) -> np.ndarray:
    """HOG (8-px cells, 16-px blocks, 9 bins) + CIELAB mean and std + Laplacian energy: (F,) float64."""
    grey = cv2.cvtColor(patch, cv2.COLOR_RGB2GRAY)
    lab = cv2.cvtColor(patch.astype(np.float32) / 255.0, cv2.COLOR_RGB2Lab).reshape(-1, 3)
    return np.concatenate([hog(grey), lab.mean(0), lab.std(0), [laplacian_energy(patch)]]).astype(np.float64)


def roc_auc(scores: np.ndarray, labels: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U with mid-ranks for ties); labels 1 = positive."""
    s, y = np.asarray(scores, np.float64), np.asarray(labels).astype(bool)
    order = np.argsort(s, kind="mergesort")
    ranks = np.empty(len(s))
    sorted_s = s[order]
    i = 0
    while i < len(s):
        j = i
        while j + 1 < len(s) and sorted_s[j + 1] == sorted_s[i]:
            j += 1
        ranks[order[i:j + 1]] = (i + j) / 2 + 1
        i = j + 1
    n_pos, n_neg = int(y.sum()), int((~y).sum())
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    return float((ranks[y].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def _fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 300) -> np.ndarray:
    """Weights (F + 1,) of an L2-regularised logistic regression (bias last, not regularised): Newton steps, or
    gradient steps when there are more features than samples."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg * w
        if xb.shape[1] > len(x):  # more features than samples: gradient steps (Newton's matrix is too big)
            w -= grad / (0.25 * np.linalg.norm(xb, 2) ** 2 + l2)
            continue
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def classifier_auc(real: np.ndarray, fill: np.ndarray, groups: np.ndarray, folds: int = 5, l2: float = 10.0,
                   seed: int = 0) -> float:
    """Grouped k-fold ROC AUC of a logistic real-vs-fill classifier (see module doc).

    ``real``, ``fill``: (N, F) features; ``groups`` (N,): the face each row pair belongs to."""
    real, fill = np.asarray(real, np.float64), np.asarray(fill, np.float64)
    assert real.shape == fill.shape and len(groups) == len(real), (real.shape, fill.shape, len(groups))
    x = np.concatenate([real, fill])
    y = np.concatenate([np.zeros(len(real)), np.ones(len(fill))])
    g = np.concatenate([groups, groups])
    unique = np.unique(g)
    fold_of = dict(zip(np.random.default_rng(seed).permutation(unique), np.arange(len(unique)) % folds))
    fold = np.array([fold_of[v] for v in g])
    scores = np.zeros(len(x))
    for k in range(folds):
        test = fold == k
        if not test.any() or test.all():
            continue
        mu, sd = x[~test].mean(0), x[~test].std(0) + 1e-6
        w = _fit_logistic((x[~test] - mu) / sd, y[~test], l2)
        xt = (x[test] - mu) / sd
        scores[test] = np.hstack([xt, np.ones((len(xt), 1))]) @ w
    return roc_auc(scores, y)
