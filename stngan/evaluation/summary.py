"""Dataset-level numbers of one method from per-item records (runner.Records) against the reference pass.

PSNR, MS-SSIM, TV, LPIPS, ΔE, ΔE of means, NME, flicker: means over items (flicker over the frames that have a previous
frame). FID / KID: Inception features of the outputs vs the originals of the same set; FD-dlib / KID-dlib:
the same with dlib's 128-D face embeddings. ReID@0.6: share of outputs within dlib's same-person
distance (0.6) of their own original. KID values are reported x 10^3.
"""
from __future__ import annotations

import numpy as np

from stngan.metrics import frechet_distance, gaussian_stats, kernel_inception_distance
from stngan.metrics.face_embedding import DlibFaceEmbedder
from stngan.metrics.identity import self_distance

MEAN_COLUMNS = ("psnr", "psnr_mask", "ms_ssim", "tv", "lpips", "de", "de_means", "nme", "flicker")


def _mean(v: np.ndarray) -> float:
    v = np.asarray(v, np.float64)
    if np.isposinf(v).any():
        return float("inf")
    return float(np.nanmean(v)) if np.isfinite(v).any() else float("nan")


def _distances(ref: np.ndarray, out: np.ndarray, prefix: str, seed: int) -> dict[str, float]:
    if len(ref) < 2:
        return {}
    kid, kid_std = kernel_inception_distance(ref, out, seed=seed)
    return {f"{prefix}fd": frechet_distance(gaussian_stats(ref), gaussian_stats(out)),
            f"{prefix}kid": 1e3 * kid, f"{prefix}kid_std": 1e3 * kid_std}


def summarize(ref: dict[str, np.ndarray], out: dict[str, np.ndarray], seed: int = 0) -> dict[str, float]:
    """Keys: n, the MEAN_COLUMNS, fid, kid, kid_std (when Inception features exist), dlib_fd, dlib_kid,
    dlib_kid_std, reid (share of outputs re-identified as their original by dlib; with dlib embeddings)."""
    values: dict[str, float] = {"n": float(len(out["position"]))}
    values.update({k: _mean(out[k]) for k in MEAN_COLUMNS})
    if "inception" in out and "inception" in ref:
        d = _distances(ref["inception"], out["inception"], "", seed)
        values.update({"fid": d["fd"], "kid": d["kid"], "kid_std": d["kid_std"]} if d else {})
    if "dlib" in out and "dlib" in ref:
        values.update(_distances(ref["dlib"], out["dlib"], "dlib_", seed))
        values["reid"] = float(np.mean(self_distance(ref["dlib"], out["dlib"]) < DlibFaceEmbedder.same_person_threshold))
    return values
