"""Time the per-face cost of each evaluation metric on real 128-px face crops (CPU by default).

    python benchmarks/bench_metrics.py [--batch 16] [--iters 3]

Inception / LPIPS run with random weights here (explicitly: only their cost is measured).
"""
from __future__ import annotations

import argparse
import os
import platform

import numpy as np
import torch
from skimage import data as skdata
from timing import median_time  # benchmarks/ is not a package: run from the repository root

from stngan.evaluation.batch import MethodInput
from stngan.evaluation.methods import OpenCVInpaint
from stngan.faces import CropTransform, FaceAnalyzer, mask_geometry, rasterize, render_condition
from stngan.faces.landmarks import LandmarkPredictor
from stngan.metrics import ms_ssim, psnr, to_unit_float, total_variation
from stngan.metrics.face_embedding import DlibFaceEmbedder
from stngan.metrics.flicker import backward_flow, warping_error
from stngan.metrics.inception import FIDInception
from stngan.metrics.landmarks import crop_face_box, predict_on_crops
from stngan.metrics.lpips import LPIPS


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--iters", type=int, default=3)
    a = ap.parse_args()
    img = skdata.astronaut()
    face = FaceAnalyzer().analyze(img)[0]
    ct = CropTransform.from_box(face.box)
    crop, lm = ct.crop(img), ct.to_crop(face.landmarks)
    crops, lms = np.repeat(crop[None], a.batch, 0), np.repeat(lm[None], a.batch, 0)
    x = to_unit_float(crops)
    y = (x + 0.05 * torch.randn_like(x)).clamp(0, 1)
    mask = torch.from_numpy(rasterize(mask_geometry(lm), 128, 128)).float()[None, None].repeat(a.batch, 1, 1, 1)
    inp = MethodInput(["k"] * a.batch, (x.float() * 2 - 1) * (1 - mask), mask,
                      torch.from_numpy(render_condition(lm))[None].repeat(a.batch, 1, 1, 1), lms,
                      np.arange(a.batch), np.zeros((a.batch, 3)))
    inception, lpips, dlib_emb, predictor = FIDInception().eval(), LPIPS().eval(), DlibFaceEmbedder(), LandmarkPredictor()
    jobs = {
        "PSNR (crop + mask)": lambda: (psnr(x, y), psnr(x, y, mask)),
        "MS-SSIM": lambda: ms_ssim(x, y),
        "TV": lambda: total_variation(y),
        "Inception pool3 (random weights)": lambda: inception(y.float()),
        "LPIPS (random weights)": lambda: lpips(x.float(), y.float()),
        "dlib embedding": lambda: dlib_emb.embed(crops, lms),
        "dlib landmarks (NME)": lambda: predict_on_crops(predictor, crops, crop_face_box()),
        "flow + warping error": lambda: [warping_error(crop, crop, *backward_flow(crop, crop)) for _ in range(a.batch)],
        "OpenCV Telea": lambda: OpenCVInpaint("telea")(inp),
        "OpenCV Navier-Stokes": lambda: OpenCVInpaint("ns")(inp),
    }
    print(f"{platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__}, "
          f"{torch.get_num_threads()} threads, load {os.getloadavg()[0]:.2f}, batch {a.batch}")
    for name, fn in jobs.items():
        print(f"{name:<34} {1e3 * median_time(fn, a.iters) / a.batch:8.2f} ms/face")


if __name__ == "__main__":
    main()
