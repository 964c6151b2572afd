"""Reading, normalising and atomically writing RGB images.

Every image that enters the face pipeline is a numpy ``uint8`` array of shape (H, W, 3) in RGB order.
Conversion rules shared by :func:`load_image` and :func:`to_rgb_uint8`:

* each sample type has a nominal range: uint8 0..255, 16-bit integers 0..65535, floats 0..1;
  data inside the nominal range is scaled linearly to 0..255 and rounded (65535 -> 255, 32768 -> 128,
  0.5 -> 128); data outside it (e.g. a float image holding 0..255 or -1..1, a 32-bit image with values
  above 65535) is min-max stretched to 0..255, so nothing is ever clipped or wrapped;
* grey is replicated to three channels;
* alpha is dropped by compositing on black (RGB * alpha / 255): fully transparent pixels become black.
"""
from __future__ import annotations

import os
import struct
import uuid
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from stngan.errors import InputError

# Pillow signals bad files with several exception types depending on the format plugin.
_DECODE_ERRORS = (OSError, SyntaxError, ValueError, EOFError, struct.error, Image.DecompressionBombError)
_NOMINAL_MAX = {np.dtype(np.uint8): 255.0, np.dtype(np.uint16): 65535.0}


class UnsupportedImageError(InputError):
    """An image file or array that cannot be turned into (H, W, 3) uint8 RGB; the message is one line."""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _rescale(values: np.ndarray, nominal_max: float) -> np.ndarray:
    """Scale samples to 0..255 float64: linear from [0, nominal_max], or min-max if outside that range."""
    v = values.astype(np.float64, copy=False)
    if v.size and not np.isfinite(v).all():
        raise UnsupportedImageError("image array contains NaN or infinite values")
    lo, hi = (float(v.min()), float(v.max())) if v.size else (0.0, nominal_max)
    if lo >= 0.0 and hi <= nominal_max:
        return v * (255.0 / nominal_max)
    if hi == lo:
        return np.zeros_like(v)
    return (v - lo) * (255.0 / (hi - lo))


def _composite_on_black(rgb: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """(H, W, 3) uint8 colour and (H, W) uint8 alpha -> (H, W, 3) uint8 colour * alpha / 255 (rounded)."""
    a = alpha.astype(np.uint32)[..., None]
    return ((rgb.astype(np.uint32) * a + 127) // 255).astype(np.uint8)


def to_rgb_uint8(array: np.ndarray) -> np.ndarray:
    """Convert an image array to (H, W, 3) uint8 RGB following the module's conversion rules.

    Accepts shapes (H, W), (H, W, 1), (H, W, 3) (taken as RGB) and (H, W, 4) (RGBA; alpha composited on
    black) with dtype uint8, uint16, bool or floating. The input is never modified; uint8 RGB input is
    returned as a C-contiguous array (the same object if it already is one).
    """
    a = np.asarray(array)
    if not a.dtype.isnative:
        a = a.astype(a.dtype.newbyteorder("="))
    if a.ndim == 3 and a.shape[2] == 1:
        a = a[..., 0]
    if a.ndim not in (2, 3) or (a.ndim == 3 and a.shape[2] not in (3, 4)) or 0 in a.shape[:2]:
        raise UnsupportedImageError(f"unsupported image array shape {a.shape}; expected (H, W), (H, W, 1), "
                                    "(H, W, 3) or (H, W, 4)")
    if a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype in _NOMINAL_MAX and a.dtype != np.uint8:
        a = np.rint(_rescale(a, _NOMINAL_MAX[a.dtype])).astype(np.uint8)
    elif np.issubdtype(a.dtype, np.floating):
        a = np.rint(_rescale(a, 1.0)).astype(np.uint8)
    elif a.dtype != np.uint8:
        raise UnsupportedImageError(f"unsupported image array dtype {a.dtype}; expected uint8, uint16, bool "
                                    "or float")
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.shape[2] == 4:
        a = _composite_on_black(a[..., :3], a[..., 3])
    return np.ascontiguousarray(a)


def ensure_rgb_uint8(img: np.ndarray, what: str = "image") -> np.ndarray:
    """Return ``img`` as a C-contiguous (H, W, 3) uint8 array, or raise UnsupportedImageError.

    Unlike :func:`to_rgb_uint8` this does not convert: the face functions take exactly the project's image
    convention and reject anything else with a message saying what was passed.
    """
    a = np.asarray(img)
    if a.dtype != np.uint8 or a.ndim != 3 or a.shape[2] != 3 or 0 in a.shape:
        raise UnsupportedImageError(f"{what} must be an (H, W, 3) uint8 RGB array, got shape {a.shape} dtype "
                                    f"{a.dtype} (use stngan.faces.to_rgb_uint8 to convert)")
    return np.ascontiguousarray(a)


def check_mask(mask: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Validate an (H, W) mask of bool or {0, 1} integers against an image shape; return it as bool."""
    m = np.asarray(mask)
    if m.shape != shape:
        raise ValueError(f"mask shape {m.shape} does not match the image's {shape}")
    if m.dtype != np.bool_:
        if not np.issubdtype(m.dtype, np.integer) or m.min(initial=0) < 0 or m.max(initial=0) > 1:
            raise ValueError("mask must be bool or integer with values 0 and 1")
        m = m.astype(bool)
    return m


def _pil_to_rgb(im: Image.Image) -> np.ndarray:
    """Pillow image of any supported mode -> (H, W, 3) uint8 RGB."""
    mode = im.mode
    if mode == "P":
        im = im.convert("RGBA" if "transparency" in im.info else "RGB")
    elif mode == "PA":
        im = im.convert("RGBA")
    elif mode == "RGBa":  # premultiplied alpha is already composited on black
        return np.ascontiguousarray(np.asarray(im)[..., :3])
    elif mode == "La":
        return to_rgb_uint8(np.asarray(im)[..., 0])
    elif mode == "1":
        im = im.convert("L")
    elif mode in ("CMYK", "YCbCr", "RGBX", "HSV"):
        im = im.convert("RGB")
    mode = im.mode
    if mode in ("L", "RGB", "RGBA"):
        return to_rgb_uint8(np.asarray(im))
    if mode == "LA":
        la = np.asarray(im)
        return _composite_on_black(np.repeat(la[..., :1], 3, axis=2), la[..., 1])
    if mode.startswith("I;16"):
        return to_rgb_uint8(np.asarray(im))
    if mode == "I":  # 32-bit integers; in practice 16-bit data (old Pillow, TIFF), see module rules
        return to_rgb_uint8(np.rint(_rescale(np.asarray(im), 65535.0)).astype(np.uint8))
    if mode == "F":
        return to_rgb_uint8(np.asarray(im, dtype=np.float32))
    raise UnsupportedImageError(f"unsupported image mode {mode!r}")


def load_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image file as (H, W, 3) uint8 RGB, EXIF orientation applied.

    Grey (1, L, I;16, I, F) is scaled to 8 bits by the module's rules and replicated; RGBA, LA and palette
    images with transparency have their alpha dropped by compositing on black; CMYK and YCbCr are converted
    with Pillow's formulas (embedded ICC profiles are ignored). Truncated, corrupt or unreadable files
    (including a missing file) and unsupported modes raise :class:`UnsupportedImageError` with a one-line
    message naming the file. Truncation detection relies on Pillow's default
    ``ImageFile.LOAD_TRUNCATED_IMAGES = False``.
    """
    try:
        with Image.open(path) as im:
            im.load()
            im = ImageOps.exif_transpose(im)
            return _pil_to_rgb(im)
    except UnsupportedImageError as e:
        raise UnsupportedImageError(f"cannot read image {os.fspath(path)}: {e}") from None
    except FileNotFoundError:
        raise UnsupportedImageError(f"cannot read image {os.fspath(path)}: no such file") from None
    except _DECODE_ERRORS as e:
        reason = _one_line(e) or e.__class__.__name__
        raise UnsupportedImageError(f"cannot read image {os.fspath(path)}: {reason}") from e


def save_png_atomic(path: str | os.PathLike, img: np.ndarray) -> None:
    """Write an (H, W, 3) uint8 RGB image as PNG so that readers never see a partial file.

    The PNG is written to a uniquely named temporary file in the destination directory, flushed to disk,
    then moved over ``path`` with :func:`os.replace` (atomic on POSIX and Windows within one filesystem).
    The directory must exist. File permissions follow the process umask, as for a plain ``open``.
    """
    img = ensure_rgb_uint8(img)
    dest = Path(path)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.tmp")
    try:
        with open(tmp, "xb") as f:
            Image.fromarray(img).save(f, format="PNG")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, dest)
    finally:
        if tmp.exists():
            tmp.unlink()
