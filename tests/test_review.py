"""The privacy review page: self-contained, every track, no-face ranges, fallback faces, images, rotation."""
from __future__ import annotations

import base64
import io
import re
import shutil
import subprocess
from fractions import Fraction
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from stngan.faces import Box, load_image, mask_geometry, rasterize
from stngan.inference.review import plan_review, write_review
from stngan.inference.review_figures import face_crop, thumbnail
from stngan.inference.sidecar import FaceRecord, FrameRecord, Sidecar, SidecarError
from stngan.media import VideoInfo, VideoReader, VideoWriter, from_display

FACE_PHOTO = Path(__file__).parent / "data" / "feat_single_face.jpg"
FRAME_W, FRAME_H, FACE_SIDE = 176, 128, 96
# the video of ``clip``: 20 frames; track 3 in frames 2-9 (5 interpolated, 9 held, 6 lm5, 7 box), track 7
# in 12-14; frames 0-1, 10-11 and 15-19 have no face
TRACK_FRAMES = {3: range(2, 10), 7: range(12, 15)}
RULES = {6: "lm5", 7: "box"}
ORIGINS = {5: "interpolated", 9: "held"}


@pytest.fixture(scope="module")
def photo_face(face_analyzer) -> tuple[np.ndarray, Box, np.ndarray]:
    """The test photo resized to FACE_SIDE², with its face box and 68 landmarks in that picture."""
    original = load_image(FACE_PHOTO)
    face = face_analyzer.analyze(original)[0]
    scale = np.array([FACE_SIDE / original.shape[1], FACE_SIDE / original.shape[0]], np.float32)
    (left, top), (right, bottom) = (np.array([[face.box.left, face.box.top], [face.box.right, face.box.bottom]])
                                    + 0.5) * scale - 0.5  # pixel centres stay at integers
    landmarks = ((face.landmarks + 0.5) * scale - 0.5).astype(np.float32)
    photo = cv2.resize(original, (FACE_SIDE, FACE_SIDE), interpolation=cv2.INTER_AREA)
    return photo, Box(left, top, right, bottom), landmarks


def _frame(photo: np.ndarray, index: int, x: int | None) -> np.ndarray:
    """A textured background (different per frame) with the photo pasted at column ``x`` (None: no face)."""
    rng = np.random.default_rng(index)
    img = rng.integers(40, 80, (FRAME_H, FRAME_W, 3), dtype=np.uint8)
    if x is not None:
        img[16:16 + FACE_SIDE, x:x + FACE_SIDE] = photo
    return img


def _face(box: Box, landmarks: np.ndarray, dx: float, dy: float, track: int, rule: str = "lm68",
          origin: str = "detected") -> FaceRecord:
    """The photo's face moved by (dx, dy), with its mask from the 68 landmarks."""
    lm = landmarks + np.array([dx, dy], np.float32)
    shifted = Box(box.left + dx, box.top + dy, box.right + dx, box.bottom + dy)
    return FaceRecord(track, shifted, lm, mask_geometry(lm), rule, origin)


def _write_video(path: Path, frames: list[np.ndarray], rotation: int = 0) -> Path:
    """Lossless FFV1 of display-oriented ``frames``, stored turned back by ``rotation`` (tagged so)."""
    stored = [np.ascontiguousarray(from_display(f, rotation)) for f in frames]
    h, w = stored[0].shape[:2]
    info = VideoInfo(path=None, width=w, height=h, fps=Fraction(25), time_base=Fraction(1, 25), codec="rawvideo",
                     pix_fmt="rgb24", container="none", frame_count=0, duration=None, rotation=rotation)
    with VideoWriter(path, info, "lossless") as writer:
        for image in stored:
            writer.write(image)
    return path


def _clip(tmp_path: Path, photo_face, rotation: int = 0) -> tuple[Path, Sidecar, list[np.ndarray]]:
    """The 20-frame video described above (display frames returned) and its hand-made sidecar."""
    photo, box, landmarks = photo_face
    xs = {i: 4 + 6 * (i - 2) for i in TRACK_FRAMES[3]} | {i: 70 - 4 * (i - 12) for i in TRACK_FRAMES[7]}
    frames = [_frame(photo, i, xs.get(i)) for i in range(20)]
    records = [FrameRecord(i, [_face(box, landmarks, x, 16, 3 if i < 12 else 7, RULES.get(i, "lm68"),
                                     ORIGINS.get(i, "detected"))]) for i, x in xs.items()]
    source = {"name": "clip.mkv", "kind": "video", "width": FRAME_W, "height": FRAME_H, "frame_count": 20,
              "rotation": rotation}
    path = _write_video(tmp_path / "clip.mkv", frames, rotation)
    return path, Sidecar(source, {"shape": "circles"}, records), frames


def _section(page: str, section_id: str) -> str:
    match = re.search(f'<section id="{section_id}">(.*?)</section>', page, re.S)
    assert match, section_id
    return match.group(1)


def _image(page: str, alt: str) -> np.ndarray:
    """The embedded PNG whose alt text is ``alt``, decoded."""
    match = re.search(f'<img src="data:image/png;base64,([^"]+)" alt="{re.escape(alt)}"', page)
    assert match, alt
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(match.group(1)))).convert("RGB"))


def _assert_self_contained(page: str) -> None:
    sources = re.findall(r'src="([^"]*)"', page)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert not re.search(r"https?://|<script|<link|@import|url\(", page)


def test_video_page_lists_tracks_no_face_ranges_and_fallbacks(tmp_path, photo_face):
    media, sidecar, frames = _clip(tmp_path, photo_face)
    out = write_review(media, sidecar, tmp_path / "review.html")
    page = out.read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv", "review.html"]  # no temp file left
    summary = _section(page, "summary")
    for item, value in [("Frames", 20), ("Frames with faces", 11), ("Frames with no face", 9), ("Tracks", 2),
                        ("Faces (face-frames)", 11), ("Faces with mask rule lm5", 1), ("Faces with mask rule box", 1),
                        ("Faces interpolated", 1), ("Faces held", 1), ("Tracks that used a fallback mask", 1)]:
        assert f"<td>{item}</td><td>{value}</td>" in summary, item
    tracks = _section(page, "tracks")
    assert 'class="track fallback" id="track-3"' in tracks and 'class="track" id="track-7"' in tracks
    assert 'alt="last · frame 9 · held"' in tracks and 'alt="first · frame 12"' in tracks
    assert "frames 2–9 (8 frames)" in tracks and "interpolated 1, held 1" in tracks
    assert tracks.count("<img") == 6  # first / middle / last of both tracks
    no_face = _section(page, "noface")
    assert "0–1, 10–11, 15–19" in no_face and no_face.count("<img") == 9
    fallback = _section(page, "fallback")
    assert "2 faces used a fallback rule" in fallback and fallback.count("<img") == 2
    assert "frame 6 · lm5 · track 3" in fallback and "frame 7 · box · track 3" in fallback
    assert "<img" in _section(page, "timeline")
    face = sidecar.faces_by_frame()[2][0]
    assert np.array_equal(_image(page, "first · frame 2"), face_crop(frames[2], face))


def test_crop_shows_mask_circles_over_the_face(tmp_path, photo_face):
    media, sidecar, frames = _clip(tmp_path, photo_face)
    page = write_review(media, sidecar, tmp_path / "review.html").read_text(encoding="utf-8")
    crop = _image(page, "middle · frame 6 · lm5").astype(int)
    assert crop.shape[0] == 128
    red = (crop[..., 0] > 200) & (crop[..., 1] < 60) & (crop[..., 2] < 60)
    assert red.sum() > 100  # the circle outlines
    assert crop.std() > 20  # and the face behind them


def test_face_crop_draws_the_circles_exactly_over_the_mask(photo_face):
    _, box, landmarks = photo_face
    face = _face(box, landmarks, 40, 20, 0)
    inside = rasterize(face.mask, FRAME_H, FRAME_W).astype(bool)
    img = np.full((FRAME_H, FRAME_W, 3), 100, np.uint8)
    img[inside] = (0, 255, 0)  # the masked pixels green, the rest grey
    crop = face_crop(img, face).astype(int)
    green = crop[..., 1] > 150
    untinted_green = green & (crop[..., 0] < 30)
    tinted_grey = (crop[..., 0] > 130) & (crop[..., 1] < 85) & (crop[..., 1] > 40)
    assert green.sum() > 500
    assert untinted_green.sum() < 0.02 * green.sum()  # every masked pixel lies under a red circle
    assert tinted_grey.sum() < 0.05 * green.sum()  # and the circles do not reach far beyond the mask


def test_rotated_video_crops_are_taken_in_display_orientation(tmp_path, photo_face):
    media, sidecar, frames = _clip(tmp_path, photo_face, rotation=90)
    with VideoReader(media) as reader:  # stored sideways (portrait), shown upright (landscape)
        assert reader.rotation == 90 and (reader.width, reader.height) == (FRAME_H, FRAME_W)
    page = write_review(media, sidecar, tmp_path / "review.html").read_text(encoding="utf-8")
    assert "176×128, rotated 90°" in _section(page, "summary")
    for index, label in [(2, "first · frame 2"), (14, "last · frame 14")]:
        face = sidecar.faces_by_frame()[index][0]
        assert np.array_equal(_image(page, label), face_crop(frames[index], face)), label
    assert np.array_equal(_image(page, "frame 0"), thumbnail(frames[0]))


def test_image_page(tmp_path, photo_face):
    photo, box, landmarks = photo_face
    img = _frame(photo, 0, 30)
    path = tmp_path / "photo.png"
    Image.fromarray(img).save(path)
    face = _face(box, landmarks, 30, 16, 0)
    sidecar = Sidecar({"name": "photo.png", "kind": "image", "width": FRAME_W, "height": FRAME_H, "frame_count": 1},
                      {}, [FrameRecord(0, [face])])
    page = write_review(path, sidecar, tmp_path / "reviews" / "sub" / "r.html").read_text(encoding="utf-8")
    _assert_self_contained(page)  # the page's folders are made (a folder run mirrors the input tree)
    assert "Image: 1 face." in _section(page, "timeline")
    assert "Every frame has at least one face" in page and "None: every mask was built" in page
    assert 'id="track-0"' in page and np.array_equal(_image(page, "first · frame 0"), face_crop(img, face))


def test_page_without_any_face_says_so_and_shows_at_most_24_thumbnails(tmp_path, photo_face):
    media = _write_video(tmp_path / "empty.mkv", [_frame(photo_face[0], i, None) for i in range(30)])
    sidecar = Sidecar({"name": "empty.mkv", "kind": "video", "width": FRAME_W, "height": FRAME_H, "frame_count": 30},
                      {}, [])
    page = write_review(media, sidecar, tmp_path / "r.html").read_text(encoding="utf-8")
    _assert_self_contained(page)
    assert '<p class="alert">No face was found' in _section(page, "summary")
    no_face = _section(page, "noface")
    assert "30 frames with no face: 0–29" in no_face
    assert no_face.count("<img") == 24 and 'alt="frame 0"' in no_face and 'alt="frame 29"' in no_face
    assert "No face track" in page


def test_plan_of_a_long_video_wants_a_bounded_sample(photo_face):
    _, box, landmarks = photo_face
    rules = ("lm68", "lm5", "box", "lm68+lm5")  # 2500 fallback faces over 5000 face-frames
    records = [FrameRecord(i, [_face(box, landmarks, 0, 0, i // 1000, rules[i % 4])]) for i in range(5000)]
    sidecar = Sidecar({"name": "long.mp4", "kind": "video", "width": 200, "height": 200, "frame_count": 9000},
                      {}, records)
    plan = plan_review(sidecar)
    assert [t.id for t in plan.tracks] == [0, 1, 2, 3, 4] and len(plan.fallback) == 2500
    assert plan.no_face == list(range(5000, 9000))
    crops = plan.crops_wanted()
    assert sum(len(v) for v in crops.values()) <= 5 * 3 + 60
    assert {0, 500, 999, 4999} <= set(crops)  # first / middle / last of tracks
    thumbs = plan.thumbnails_wanted()
    assert len(thumbs) == 24 and thumbs[0] == 5000 and thumbs[-1] == 8999
    assert np.diff(thumbs).max() - np.diff(thumbs).min() <= 1  # evenly spaced


def test_sidecar_of_another_video_is_refused_and_nothing_written(tmp_path, photo_face):
    media, sidecar, _ = _clip(tmp_path, photo_face)
    sidecar.source["width"] = FRAME_W + 2
    with pytest.raises(SidecarError, match="is 176×128"):
        write_review(media, sidecar, tmp_path / "review.html")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mkv"]


def test_review_renders_in_headless_chromium(tmp_path, photo_face):
    browser = shutil.which("chromium") or shutil.which("chromium-browser")
    if browser is None:
        pytest.skip("chromium not installed (Debian: apt-get install -y chromium chromium-driver)")
    media, sidecar, _ = _clip(tmp_path, photo_face)
    page = write_review(media, sidecar, tmp_path / "review.html")
    shot = tmp_path / "review.png"
    subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                    f"--screenshot={shot}", "--window-size=1280,2400", page.as_uri()],
                   check=True, capture_output=True, timeout=120)
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    assert img.shape == (2400, 1280, 3)
    assert img.std() > 10  # text, crops and the plot drawn, not a blank page
    red = (img[..., 0] > 180) & (img[..., 1] < 90) & (img[..., 2] < 90)
    assert red.sum() > 200  # mask circles and the fallback badge are visible
