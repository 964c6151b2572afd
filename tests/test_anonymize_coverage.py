"""`anonymize` masks every face a viewer could recognise (issue: profile, tiny, dim, occluded, gaps, rotation).

Ground truth is never the shipped detector: points read by eye from the real photos (profile, hand), or
dlib's 68 landmarks on the *original, large, frontal* photo carried through the composition (tiny, dim).
A face counts as masked when its eye centres, nose tip and mouth centre are all under the mask.
"""
from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner
from skimage import data as skdata

from stngan.cli import cli
from stngan.faces.image_io import load_image, save_png_atomic
from stngan.faces.landmarks import LEFT_EYE, MOUTH, RIGHT_EYE
from stngan.inference import app
from stngan.inference.frames import AnonymizeOptions, FaceFinder, mask_union
from stngan.inference.sidecar import Sidecar, sidecar_path_for
from stngan.media import VideoReader, from_display, to_display
from helpers import astronaut_frames, frames_of
from clips import make_clip

DATA = Path(__file__).parent / "data"
# read by eye on the files (x, y): eye, nose tip, mouth of the profile; both eyes and the nose of the
# face half covered by a hand (its mouth is behind the hand)
PROFILE_POINTS = np.array([[160, 125], [142, 168], [153, 193]], float)
HAND_POINTS = np.array([[390, 205], [495, 212], [455, 250]], float)


@pytest.fixture(scope="module")
def finder() -> FaceFinder:
    return FaceFinder(AnonymizeOptions())


def key_points(landmarks: np.ndarray) -> np.ndarray:
    lm = np.asarray(landmarks, float)
    return np.stack([lm[RIGHT_EYE].mean(0), lm[LEFT_EYE].mean(0), lm[30], lm[MOUTH].mean(0)])


def masked_points(finder: FaceFinder, img: np.ndarray, points: np.ndarray) -> np.ndarray:
    mask = mask_union(finder.find(img, 0), img.shape[:2])
    ij = np.round(points).astype(int)
    return mask[ij[:, 1], ij[:, 0]].astype(bool)


def background(face_images, size: tuple[int, int] = (320, 240)) -> np.ndarray:
    """A real background without a face (the astronaut photo's lower part), ``size`` = (width, height)."""
    return cv2.resize(face_images["astronaut"][300:500, 250:506], size, interpolation=cv2.INTER_AREA)


def composed(face_analyses, face_images, face_width: float, gain: float = 1.0, seed: int = 0,
             size: tuple[int, int] = (320, 240)):
    """The frontal real photo scaled so its face box is ``face_width`` px, on a real background of ``size``."""
    img, face = face_images["frontal"], face_analyses["frontal"][0]
    s = face_width / face.box.width
    small = cv2.resize(img, None, fx=s, fy=s, interpolation=cv2.INTER_AREA)
    canvas = background(face_images, size)
    h, w = min(small.shape[0], size[1]), min(small.shape[1], size[0])
    y0, x0 = (size[1] - h) // 2, (size[0] - w) // 2
    canvas[y0:y0 + h, x0:x0 + w] = small[:h, :w]
    if gain != 1.0:
        noise = np.random.default_rng(seed).normal(0, 3, canvas.shape)
        canvas = np.clip(canvas * gain + noise, 0, 255).astype(np.uint8)
    points = (key_points(face.landmarks) + 0.5) * s - 0.5 + [x0, y0]
    return canvas, points


def test_profile_face_is_masked(finder):
    assert masked_points(finder, load_image(DATA / "feat_bw_profile.jpg"), PROFILE_POINTS).all()


def test_profile_face_gets_a_fallback_rule(finder):
    records = finder.find(load_image(DATA / "feat_bw_profile.jpg"), 0)
    assert [r.rule for r in records] == ["lm5"]


def test_face_half_covered_by_a_hand_is_masked(finder):
    assert masked_points(finder, load_image(DATA / "feat_hand_occluded.jpg"), HAND_POINTS).all()


@pytest.mark.parametrize("width", [24, 32])
def test_small_face_is_masked(finder, face_analyses, face_images, width):
    img, points = composed(face_analyses, face_images, width)
    assert masked_points(finder, img, points).all()


def test_dim_face_is_masked(finder, face_analyses, face_images):
    img, points = composed(face_analyses, face_images, 90, gain=0.3)
    assert img.mean() < 40
    assert masked_points(finder, img, points).all()


# ------------------------------------------------------------------ video continuity

def _anonymize_clip(tmp_path: Path, frames: list[np.ndarray], monkeypatch=None, blind: tuple[int, ...] = (),
                    rotation: int | None = None, **options) -> tuple[Path, Sidecar]:
    tmp_path.mkdir(parents=True, exist_ok=True)
    src = tmp_path / "in.mkv"
    make_clip(src, frames, codec="ffv1", rotation=rotation)
    if blind:
        original = FaceFinder.track
        monkeypatch.setattr(FaceFinder, "track", lambda self, i, faces: original(self, i, [] if i in blind else faces))
    out = tmp_path / "out.mkv"
    app.anonymize_video(src, out, AnonymizeOptions(**options), app.VideoOptions("lossless"), progress=False)
    return out, Sidecar.load(sidecar_path_for(out))


def test_gap_of_three_frames_is_masked_by_interpolation(tmp_path, monkeypatch, finder):
    frames = astronaut_frames(10)
    truth = [key_points(finder.find(f, i)[0].landmarks) for i, f in enumerate(frames)]
    out, sidecar = _anonymize_clip(tmp_path, frames, monkeypatch, blind=(4, 5, 6))
    faces = sidecar.faces_by_frame()
    assert [faces[i][0].origin for i in (3, 4, 5, 6, 7)] == ["detected", "interpolated", "interpolated",
                                                             "interpolated", "detected"]
    assert {f.track for fs in faces.values() for f in fs} == {0}
    for i, img in enumerate(frames_of(out)):
        ij = np.round(truth[i]).astype(int)
        assert (img[ij[:, 1], ij[:, 0]] == 0).all(), f"frame {i}: a face point is visible"


def test_track_start_and_end_are_held(tmp_path, monkeypatch):
    frames = astronaut_frames(12)
    _, sidecar = _anonymize_clip(tmp_path, frames, monkeypatch, blind=(0, 1, 10, 11), hold=2)
    faces = sidecar.faces_by_frame()
    assert sorted(faces) == list(range(12))
    assert [faces[i][0].origin for i in (0, 1, 2, 9, 10, 11)] == ["held", "held", "detected", "detected", "held", "held"]


def test_frames_detected_in_parallel_give_the_serial_result(tmp_path):
    frames = astronaut_frames(6)
    scene = np.full_like(frames[0], 30)
    scene[::8] = 220
    frames = frames[:3] + [scene] * 2 + frames[3:]  # two cuts: new shots start in the worker queue
    serial = _anonymize_clip(tmp_path / "1", frames, workers=1)
    parallel = _anonymize_clip(tmp_path / "3", frames, workers=3)
    assert serial[1].to_dict()["frames"] == parallel[1].to_dict()["frames"]
    assert serial[1].stats["cuts"] == 2 and serial[1].stats["tracks"] == 2
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(serial[0]), frames_of(parallel[0]), strict=True))


def test_no_mask_is_dragged_across_a_shot_cut(tmp_path, monkeypatch):
    frames = astronaut_frames(4)
    scene = np.full_like(frames[0], 30)
    scene[::8] = 220  # a different shot: stripes, no face
    frames = frames + [scene] * 4
    _, sidecar = _anonymize_clip(tmp_path, frames, monkeypatch, hold=3)
    assert sidecar.stats["cuts"] == 1
    assert sorted(sidecar.faces_by_frame()) == [0, 1, 2, 3]  # nothing held into the new shot


def test_rotated_phone_clip_is_detected_upright_and_keeps_its_rotation(tmp_path, finder):
    upright = astronaut_frames(4)
    stored = [np.ascontiguousarray(from_display(f, 90)) for f in upright]
    out, sidecar = _anonymize_clip(tmp_path, stored, rotation=90)
    assert sidecar.source["rotation"] == 90
    assert (sidecar.source["width"], sidecar.source["height"]) == (upright[0].shape[1], upright[0].shape[0])
    faces = sidecar.faces_by_frame()
    with VideoReader(out) as reader:
        assert reader.rotation == 90
        outs = [f.image for f in reader]
    for i, (orig, anon) in enumerate(zip(stored, outs)):
        mask = from_display(mask_union(faces[i], upright[0].shape[:2]), 90).astype(bool)
        assert mask.any() and (anon[mask] == 0).all()
        assert np.array_equal(anon[~mask], orig[~mask]), "outside the masks the stored pixels are bit-exact"
    ij = np.round(key_points(finder.find(upright[0], 0)[0].landmarks)).astype(int)
    assert (to_display(outs[0], 90)[ij[:, 1], ij[:, 0]] == 0).all(), "a face point is visible"


def test_detection_without_the_small_face_part_still_finds_a_large_face(face_analyses, face_images):
    from stngan.faces.detect import FaceDetector

    img, _ = composed(face_analyses, face_images, 90, size=(800, 600))
    detector = FaceDetector("mtcnn+blazeface")
    every_part, large_only = detector.detect(img), detector.detect_with_points(img, small=False)
    assert len(every_part) == 1 and len(large_only) == 1 and large_only[0].box.iou(every_part[0]) > 0.9


def test_small_face_appearing_between_small_face_scans_is_masked_from_its_first_frame(tmp_path, monkeypatch,
                                                                                       face_analyses, face_images):
    """Full detection every 3rd frame, the small-face part every 2nd of those (frames 0, 6, 12): a face that
    only the small-face part finds, appearing at frame 7, is first found at frame 12, and the backward hold
    masks frames 7-11 (it stays in view: a run of n detections is held at most n frames)."""
    from stngan.faces.detect import SMALL_FACE_PX, FaceDetector

    original = FaceDetector.detect_with_points
    calls = []

    def small_faces_need_the_small_part(self, img, *, fast_only=False, small=True):
        calls.append(small and not fast_only)
        found = original(self, img, fast_only=fast_only, small=small)
        return found if small and not fast_only else [d for d in found if d.box.width >= SMALL_FACE_PX]

    monkeypatch.setattr(FaceDetector, "detect_with_points", small_faces_need_the_small_part)
    empty = background(face_images, (640, 480))
    img, points = composed(face_analyses, face_images, 26, size=(640, 480))
    out, sidecar = _anonymize_clip(tmp_path, [empty] * 7 + [img] * 10, workers=1, detect_every=3, small_every=2,
                                   hold=5)
    assert calls.count(True) == 3  # frames 0, 6, 12
    faces = sidecar.faces_by_frame()
    assert sorted(faces) == list(range(7, 17))
    assert [faces[i][0].origin for i in (7, 11, 12)] == ["held", "held", "detected"]
    ij = np.round(points).astype(int)
    for i, anon in enumerate(frames_of(out)):
        if i >= 7:
            assert (anon[ij[:, 1], ij[:, 0]] == 0).all(), f"frame {i}: a face point is visible"


def test_a_hold_shorter_than_the_small_face_delay_is_refused():
    from stngan.errors import InputError

    with pytest.raises(InputError, match="small-every"):
        AnonymizeOptions(detect_every=3, small_every=2, hold=4)
    assert AnonymizeOptions(detect_every=3, small_every=1, hold=2).small_face_scans == 1
    assert AnonymizeOptions(detect_every=3, hold=2).small_face_scans == 1  # the default follows the hold
    assert AnonymizeOptions().small_face_scans == 2


def test_cli_refuses_a_small_face_schedule_the_hold_cannot_cover(tmp_path):
    src = tmp_path / "clip.mkv"
    make_clip(src, astronaut_frames(3), codec="ffv1")
    result = CliRunner().invoke(cli, ["anonymize", str(src), "-o", str(tmp_path / "out.mkv"), "--small-every", "3",
                                      "--quiet"])
    assert result.exit_code == 1 and "small-every" in str(result.exception)
    assert not (tmp_path / "out.mkv").exists()


# ------------------------------------------------------------------ nothing lost

def test_output_over_the_input_is_refused_and_the_input_unchanged(tmp_path):
    src = tmp_path / "clip.mkv"
    make_clip(src, astronaut_frames(3), codec="ffv1")
    before = src.read_bytes()
    for target in (src, sidecar_path_for(src)):
        result = CliRunner().invoke(cli, ["anonymize", str(src), "-o", str(target), "--quiet"])
        assert result.exit_code == 1 and "replace the input" in str(result.exception)
    assert src.read_bytes() == before


def test_existing_output_needs_overwrite(tmp_path, face_images):
    src = tmp_path / "face.png"
    save_png_atomic(src, face_images["frontal"])
    out = tmp_path / "out.png"
    out.write_bytes(b"keep me")
    result = CliRunner().invoke(cli, ["anonymize", str(src), "-o", str(out)])
    assert result.exit_code == 1 and "--overwrite" in str(result.exception) and out.read_bytes() == b"keep me"
    assert CliRunner().invoke(cli, ["anonymize", str(src), "-o", str(out), "--overwrite"]).exit_code == 0
    assert load_image(out).shape == face_images["frontal"].shape


def test_folder_processes_every_pillow_format_and_lists_the_rest(tmp_path, face_images):
    from PIL import Image

    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(face_images["frontal"]).save(src / "photo.ppm")
    Image.fromarray(face_images["frontal"]).save(src / "photo2.tga")
    (src / "notes.txt").write_text("not a picture")
    (src / "broken.jpg").write_bytes(b"\xff\xd8 truncated")
    result = CliRunner().invoke(cli, ["anonymize", str(src), "-o", str(tmp_path / "out"), "--quiet"])
    assert result.exit_code == 1, result.output  # one file failed
    assert (tmp_path / "out" / "photo.png").is_file() and (tmp_path / "out" / "photo2.png").is_file()
    assert "skipped: notes.txt" in result.output and "failed: broken.jpg" in result.output
    sidecar = json.loads((tmp_path / "out" / "photo.png.stngan.json").read_text())
    assert sidecar["stats"]["faces"] == 1


def _fast_astronaut(count: int, step: int) -> list[np.ndarray]:
    photo = skdata.astronaut()
    return [np.ascontiguousarray(photo[40 + step * i // 2:240 + step * i // 2, 60 + step * i:316 + step * i])
            for i in range(count)]


def test_frames_between_full_detections_follow_each_tracked_face(tmp_path, finder):
    """MTCNN alone (no fast part), full detection every 4th frame: the 3 frames between find the face that
    moves 8 px per frame in a window around its track, and their masks cover it."""
    frames = _fast_astronaut(8, 8)
    out, sidecar = _anonymize_clip(tmp_path, frames, detector="mtcnn", detect_every=4, hold=0, max_gap=3)
    faces = sidecar.faces_by_frame()
    assert sorted(faces) == list(range(8)) and all(len(faces[i]) == 1 for i in faces)
    assert {f.origin for fs in faces.values() for f in fs} == {"detected"}
    assert {f.track for fs in faces.values() for f in fs} == {0}
    for i, img in enumerate(frames_of(out)):
        ij = np.round(key_points(finder.find(frames[i], i)[0].landmarks)).astype(int)
        assert (img[ij[:, 1], ij[:, 0]] == 0).all(), f"frame {i}: a face point is visible"


def test_detect_near_looks_only_around_the_given_boxes():
    from stngan.faces.box import Box
    from stngan.faces.detect import FaceDetector

    frames = _fast_astronaut(2, 24)
    detector = FaceDetector("mtcnn")
    before, after = detector.detect(frames[0])[0], detector.detect(frames[1])[0]
    near = detector.detect_near(frames[1], [before])
    assert len(near) == 1 and near[0].box.iou(after) > 0.8 and near[0].points.shape == (5, 2)
    assert detector.detect_near(frames[1], [Box(0, 150, 30, 180)]) == []  # no face near that box
