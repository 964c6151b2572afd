"""load_image / to_rgb_uint8 / save_png_atomic: every input kind lands on the right RGB values."""
from __future__ import annotations

import io
import os

import cv2
import numpy as np
import pytest
from PIL import Image
from skimage import data as skdata

from stngan.faces import UnsupportedImageError, load_image, save_png_atomic, to_rgb_uint8


def _save(tmp_path, name: str, im: Image.Image, **kw) -> str:
    path = tmp_path / name
    im.save(path, **kw)
    return str(path)


def _rgb(values) -> np.ndarray:
    return np.array(values, dtype=np.uint8)


def test_grey_png_is_replicated(tmp_path):
    grey = np.arange(0, 240, 10, dtype=np.uint8).reshape(4, 6)
    img = load_image(_save(tmp_path, "g.png", Image.fromarray(grey)))
    assert img.shape == (4, 6, 3) and img.dtype == np.uint8
    assert np.array_equal(img, np.repeat(grey[..., None], 3, axis=2))


def test_rgba_png_composited_on_black(tmp_path):
    rgba = np.array([[[200, 100, 50, 255], [200, 100, 50, 128], [200, 100, 50, 0]]], dtype=np.uint8)
    img = load_image(_save(tmp_path, "a.png", Image.fromarray(rgba)))
    assert np.array_equal(img[0], _rgb([[200, 100, 50], [100, 50, 25], [0, 0, 0]]))


def test_la_png_composited_on_black(tmp_path):
    la = np.array([[[200, 255], [200, 51]]], dtype=np.uint8)
    img = load_image(_save(tmp_path, "la.png", Image.fromarray(la)))
    assert np.array_equal(img[0], _rgb([[200] * 3, [40] * 3]))


def test_palette_png_with_and_without_transparency(tmp_path):
    pal = Image.new("P", (3, 1))
    pal.putpalette([255, 0, 0, 0, 255, 0, 10, 20, 30] + [0] * (768 - 9))
    pal.putdata([0, 1, 2])
    opaque = load_image(_save(tmp_path, "p.png", pal))
    assert np.array_equal(opaque[0], _rgb([[255, 0, 0], [0, 255, 0], [10, 20, 30]]))
    transparent = load_image(_save(tmp_path, "pt.png", pal, transparency=1))
    assert np.array_equal(transparent[0], _rgb([[255, 0, 0], [0, 0, 0], [10, 20, 30]]))


def test_real_palette_file_with_transparency(face_data_dir):
    with Image.open(face_data_dir / "nba_adama_sanogo.png") as im:
        assert im.mode == "P" and "transparency" in im.info
    img = load_image(face_data_dir / "nba_adama_sanogo.png")
    assert img.shape == (190, 260, 3) and img.dtype == np.uint8


def test_16bit_grey_png_scaled_not_clipped_or_wrapped(tmp_path):
    grey16 = np.array([[0, 257, 32768, 40000, 65535]], dtype=np.uint16)
    path = _save(tmp_path, "g16.png", Image.fromarray(grey16))
    with Image.open(path) as im:
        assert im.mode.startswith("I")  # really stored as 16 bits
    img = load_image(path)
    assert np.array_equal(img[0, :, 0], _rgb([0, 1, 128, 156, 255]))  # clipping: 255s, wrapping: 40000 -> 64
    assert np.array_equal(img[..., 0], img[..., 2])


def test_16bit_rgb_png(tmp_path):
    rgb16 = np.zeros((2, 2, 3), np.uint16)
    rgb16[...] = (300, 32768, 65535)
    path = str(tmp_path / "c16.png")
    cv2.imwrite(path, rgb16[..., ::-1])  # Pillow cannot write 16-bit RGB; OpenCV writes BGR
    img = load_image(path)
    assert np.abs(img.astype(int) - [1, 128, 255]).max() <= 1


def test_float_and_int32_tiff(tmp_path):
    f = np.array([[0.0, 0.5, 1.0]], dtype=np.float32)
    assert np.array_equal(load_image(_save(tmp_path, "f.tif", Image.fromarray(f)))[0, :, 1], _rgb([0, 128, 255]))
    wide = np.array([[-1.0, 0.0, 3.0]], dtype=np.float32)  # outside 0..1: stretched, not clipped
    assert np.array_equal(load_image(_save(tmp_path, "w.tif", Image.fromarray(wide)))[0, :, 1],
                          _rgb([0, 64, 255]))
    i32 = np.array([[0, 32768, 65535]], dtype=np.int32)
    assert np.array_equal(load_image(_save(tmp_path, "i.tif", Image.fromarray(i32)))[0, :, 1],
                          _rgb([0, 128, 255]))


def test_cmyk_jpeg(tmp_path):
    inks = [(255, 0, 0, 0), (0, 255, 0, 0), (0, 0, 255, 0), (0, 0, 0, 255), (0, 0, 0, 0)]
    expected = [(0, 255, 255), (255, 0, 255), (255, 255, 0), (0, 0, 0), (255, 255, 255)]
    cmyk = np.zeros((16, 16 * len(inks), 4), np.uint8)
    for k, ink in enumerate(inks):
        cmyk[:, 16 * k:16 * (k + 1)] = ink
    im = Image.frombytes("CMYK", (cmyk.shape[1], cmyk.shape[0]), cmyk.tobytes())
    path = _save(tmp_path, "cmyk.jpg", im, quality=95)
    with Image.open(path) as im:
        assert im.mode == "CMYK"
    img = load_image(path)
    centres = img[8, 8::16].astype(int)
    assert np.abs(centres - np.array(expected)).max() <= 8


def test_exif_orientation_applied(tmp_path):
    arr = np.zeros((20, 40, 3), np.uint8)
    arr[:, :20] = (255, 0, 0)  # left half red, right half blue
    arr[:, 20:] = (0, 0, 255)
    im = Image.fromarray(arr)
    exif = im.getexif()
    exif[0x0112] = 6  # stored image must be rotated 90 degrees clockwise for display
    img = load_image(_save(tmp_path, "o.jpg", im, exif=exif, quality=95))
    assert img.shape == (40, 20, 3)
    assert img[5, 10, 0] > 200 and img[5, 10, 2] < 50  # red now on top
    assert img[35, 10, 2] > 200 and img[35, 10, 0] < 50


def _assert_one_line_naming(err: pytest.ExceptionInfo, path) -> None:
    msg = str(err.value)
    assert "\n" not in msg and str(path) in msg


def test_truncated_jpeg_raises(tmp_path):
    buf = io.BytesIO()
    Image.fromarray(skdata.astronaut()).save(buf, format="JPEG", quality=90)
    path = tmp_path / "truncated.jpg"
    path.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(UnsupportedImageError) as err:
        load_image(path)
    _assert_one_line_naming(err, path)
    assert isinstance(err.value, ValueError)


def test_text_file_named_png_raises(tmp_path):
    path = tmp_path / "notes.png"
    path.write_text("this is not an image\nsecond line\n")
    with pytest.raises(UnsupportedImageError) as err:
        load_image(path)
    _assert_one_line_naming(err, path)


def test_missing_file_raises(tmp_path):
    with pytest.raises(UnsupportedImageError) as err:
        load_image(tmp_path / "nope.jpg")
    _assert_one_line_naming(err, tmp_path / "nope.jpg")


@pytest.mark.parametrize("shape", [(5, 7), (5, 7, 1), (5, 7, 3), (5, 7, 4)])
def test_to_rgb_uint8_shapes(shape):
    rng = np.random.default_rng(0)
    a = rng.integers(0, 256, size=shape, dtype=np.uint8)
    if len(shape) == 3 and shape[2] == 4:
        a[..., 3] = 255
    out = to_rgb_uint8(a)
    assert out.shape == (5, 7, 3) and out.dtype == np.uint8
    grey = a.reshape(5, 7, -1)
    assert np.array_equal(out, grey[..., :3] if grey.shape[2] >= 3 else np.repeat(grey, 3, axis=2))


def test_to_rgb_uint8_dtypes():
    assert np.array_equal(to_rgb_uint8(np.array([[0, 257, 65535]], np.uint16))[0, :, 0], _rgb([0, 1, 255]))
    assert np.array_equal(to_rgb_uint8(np.array([[0.0, 0.25, 1.0]]))[0, :, 0], _rgb([0, 64, 255]))
    assert np.array_equal(to_rgb_uint8(np.array([[0.0, 255.0]], np.float32))[0, :, 0], _rgb([0, 255]))
    assert np.array_equal(to_rgb_uint8(np.array([[False, True]]))[0, :, 0], _rgb([0, 255]))
    big_endian = np.array([[0, 65535]], dtype=">u2")
    assert np.array_equal(to_rgb_uint8(big_endian)[0, :, 0], _rgb([0, 255]))


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.int32), np.zeros((4, 4, 2), np.uint8),
                                 np.zeros((4,), np.uint8), np.full((2, 2), np.nan)])
def test_to_rgb_uint8_rejects(bad):
    with pytest.raises(UnsupportedImageError):
        to_rgb_uint8(bad)


def test_save_png_atomic_round_trip_and_no_leftovers(tmp_path):
    img = skdata.astronaut()[:64, :80]
    path = tmp_path / "out.png"
    path.write_bytes(b"old content")
    save_png_atomic(path, img)
    assert np.array_equal(load_image(path), img)
    assert os.listdir(tmp_path) == ["out.png"]


def test_save_png_atomic_rejects_bad_array_without_touching_disk(tmp_path):
    with pytest.raises(UnsupportedImageError):
        save_png_atomic(tmp_path / "x.png", np.zeros((4, 4), np.float32))
    assert os.listdir(tmp_path) == []
