"""Evaluation metrics (paper 4.2-4.4): pure functions on images, features and landmarks.

Image conventions: float tensors (N, 3, H, W) in [0, 1] (see :func:`stngan.metrics.images.to_unit_float`),
masks (N, 1, H, W) {0, 1} with 1 = inpainted region. Feature sets are (N, D) float arrays.
Networks (Inception for FID, LPIPS, dlib / VGGFace2 face embeddings) load from local files only.
"""
from stngan.metrics.frechet import GaussianStats, frechet_distance, gaussian_stats, kernel_inception_distance
from stngan.metrics.images import to_unit_float
from stngan.metrics.ms_ssim import MSSSIMConfig, ms_ssim, ssim
from stngan.metrics.psnr import psnr
from stngan.metrics.tv import total_variation

__all__ = [
    "GaussianStats", "MSSSIMConfig", "frechet_distance", "gaussian_stats", "kernel_inception_distance",
    "ms_ssim", "psnr", "ssim", "to_unit_float", "total_variation",
]
