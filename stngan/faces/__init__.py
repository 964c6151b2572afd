"""Face geometry for STN-GAN: image loading, detection, landmarks, crops, privacy masks and the condition c.

Conventions: images are (H, W, 3) uint8 RGB; points are (x, y) with pixel centres at integers; landmarks are
(68, 2) float32 in the iBUG 300-W layout; masks are (H, W) uint8 {0, 1} with 1 = region to inpaint.
"""
from stngan.faces.analyzer import Face, FaceAnalyzer
from stngan.faces.box import Box
from stngan.faces.condition import CONDITION_PARTS, N_COND_CHANNELS, render_condition
from stngan.faces.crop import CropTransform
from stngan.faces.detect import FaceDetector
from stngan.faces.image_io import UnsupportedImageError, load_image, save_png_atomic, to_rgb_uint8
from stngan.faces.landmarks import (
    JAW,
    LEFT_BROW,
    LEFT_EYE,
    MOUTH,
    NOSE,
    RIGHT_BROW,
    RIGHT_EYE,
    LandmarkPredictor,
    flip_landmarks,
)
from stngan.faces.masks import Circle, MaskGeometry, apply_mask, mask_geometry, rasterize

__all__ = [
    "Box", "CONDITION_PARTS", "Circle", "CropTransform", "Face", "FaceAnalyzer", "FaceDetector", "JAW",
    "LEFT_BROW", "LEFT_EYE", "LandmarkPredictor", "MOUTH", "MaskGeometry", "N_COND_CHANNELS", "NOSE",
    "RIGHT_BROW", "RIGHT_EYE", "UnsupportedImageError", "apply_mask", "flip_landmarks", "load_image",
    "mask_geometry", "rasterize", "render_condition", "save_png_atomic", "to_rgb_uint8",
]
