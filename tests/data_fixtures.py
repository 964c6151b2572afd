"""Builders of small datasets in the exact distributed layouts, from real face photos, at test time.

Faces come from skimage's astronaut and the photos in tests/data (see its README). Each builder writes a
dataset under a given root and returns what the tests should find there.
"""
from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image
from skimage import data as skdata

from stngan.data.prepare.extract import extractor_for
from stngan.data.prepare.folder import prepare_folder
from stngan.data.prepare.plan import ExtractOptions
from stngan.data.prepare.videos import prepare_videos
from stngan.faces import CropTransform, load_image

FACE_DATA = Path(__file__).parent / "data"
# Real faces: source file (None: skimage astronaut) and the dlib HOG box (left, top, right, bottom) in it.
FACES = {
    "astronaut": (None, (174, 76, 266, 166)),
    "frontal": ("feat_0-f15-hao-ph.jpg", (110, 170, 380, 440)),
    "outdoor": ("feat_single_face.jpg", (180, 200, 366, 388)),
    "sanogo": ("nba_adama_sanogo.png", (96, 38, 172, 114)),
}
CELEBA_SIZE = (178, 218)  # (width, height) of img_align_celeba
VIDEO_SIZE = (240, 200)


@functools.cache
def face_photo(name: str) -> np.ndarray:
    file, _ = FACES[name]
    return skdata.astronaut() if file is None else load_image(FACE_DATA / file)


def portrait(name: str, size: tuple[int, int] = CELEBA_SIZE, face_px: float = 100.0,
             shift: tuple[float, float] = (0.0, 0.0), flip: bool = False) -> np.ndarray:
    """(H, W, 3) image of ``size`` (W, H) with the real face ``name`` about ``face_px`` wide, centred a bit
    above the middle and moved by ``shift`` pixels (edges replicated, like a photo continuing)."""
    img = face_photo(name)
    l, t, r, b = FACES[name][1]
    s = face_px / (r - l)
    w, h = size
    cx, cy = w / 2 + shift[0], h * 0.53 + shift[1]
    m = np.array([[s, 0, cx - s * (l + r) / 2], [0, s, cy - s * (t + b) / 2]])
    out = cv2.warpAffine(img, m, size, flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    return np.ascontiguousarray(out[:, ::-1]) if flip else out


def two_faces(size: tuple[int, int] = CELEBA_SIZE) -> np.ndarray:
    """Two real faces side by side: a large one on the left, a smaller one on the right."""
    w, h = size
    left = portrait("frontal", (w // 2 + 20, h), face_px=85)
    right = portrait("astronaut", (w - w // 2 - 20, h), face_px=62)
    return np.concatenate([left, right], axis=1)


def no_face(size: tuple[int, int] = CELEBA_SIZE) -> np.ndarray:
    return cv2.resize(skdata.coffee(), size, interpolation=cv2.INTER_AREA)


def write_image(path: Path, img: np.ndarray) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(img).save(path, quality=95)
    return path


def truncate(path: Path, keep: float = 0.5) -> None:
    """Cut a file to ``keep`` of its bytes (a download that stopped part-way)."""
    raw = path.read_bytes()
    path.write_bytes(raw[:int(len(raw) * keep)])


def write_lines(path: Path, lines: list[str], newline: str = "\n") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(("".join(line + newline for line in lines)).encode())
    return path


def write_video(path: Path, frames: list[np.ndarray], codec: str = "mpeg4", fps: int = 25,
                pix_fmt: str = "yuv420p", pts_ms: list[int] | None = None) -> Path:
    """Encode RGB frames with PyAV; ``pts_ms`` gives each frame's time stamp (variable frame rate)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w") as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
        if pts_ms is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
        for k, img in enumerate(frames):
            frame = av.VideoFrame.from_ndarray(img, format="rgb24")
            if pts_ms is not None:
                frame.pts, frame.time_base = pts_ms[k], Fraction(1, 1000)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return path


def corrupt_packet(path: Path, k: int) -> None:
    """Garble the start of the k-th video packet of a file (a bad sector in the middle of a video)."""
    with av.open(str(path)) as container:
        pos = [p.pos for p in container.demux(video=0) if p.size][k]
    raw = bytearray(path.read_bytes())
    raw[pos:pos + 64] = bytes(b ^ 0xFF for b in raw[pos:pos + 64])
    path.write_bytes(bytes(raw))


def write_pts(path: Path, landmarks: np.ndarray, newline: str = "\n") -> Path:
    """iBUG .pts of 0-based (68, 2) landmarks (the file is 1-based)."""
    rows = [f"{x + 1:.3f} {y + 1:.3f}" for x, y in landmarks]
    return write_lines(path, ["version: 1", "n_points:  68", "{", *rows, "}"], newline)


@functools.cache
def _landmarks(name: str, size: tuple[int, int], face_px: float) -> np.ndarray:
    """dlib's (68, 2) frame landmarks of a portrait (models shared with the preparers in this process)."""
    crop, _ = extractor_for(ExtractOptions()).detect_and_crop(portrait(name, size, face_px))
    return CropTransform(*crop.transform).to_frame(crop.landmarks)


# --- CelebA ------------------------------------------------------------------------------------------------
@dataclass
class CelebaFixture:
    root: Path
    names: list[str]  # every listed image
    identities: dict[str, int]
    partition: dict[str, str]
    truncated: str
    missing: str
    no_face: str
    two_faces: str
    faces: list[str] = field(default_factory=list)  # images expected to give a face


def build_celeba(root: Path, newline: str = "\n") -> CelebaFixture:
    """img_align_celeba/ with 12 listed images (one truncated JPEG, one missing, one without a face, one with
    two faces) and the list files, written with ``newline`` line endings."""
    names = [f"{k:06d}.jpg" for k in range(1, 13)]
    people = ["astronaut", "frontal", "outdoor", "sanogo"]
    identities = dict(zip(names, [7, 7, 3, 3, 1, 1, 4090, 4090, 12, 12, 3, 7]))
    partition = dict(zip(names, "0 0 0 1 1 2 0 2 2 0 1 0".split()))
    truncated, missing, noface, two = names[4], names[5], names[7], names[10]
    images = root / "img_align_celeba"
    for k, name in enumerate(names):
        if name == missing:
            continue
        if name == noface:
            img = no_face()
        elif name == two:
            img = two_faces()
        else:
            img = portrait(people[k % 4], face_px=92 + 4 * (k % 3), shift=(k % 3 - 1, k % 2), flip=k % 5 == 0)
        write_image(images / name, img)
    truncate(images / truncated)
    write_lines(root / "list_eval_partition.txt", [f"{n} {partition[n]}" for n in names], newline)
    write_lines(root / "identity_CelebA.txt", [f"{n} {identities[n]}" for n in names], newline)
    # 5-point landmarks: the nose hint of the two-face image points at the smaller (right) face
    header = "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y rightmouth_x rightmouth_y"
    rows = [f"{n} 69 111 108 111 {140 if n == two else 89} 130 73 152 104 152" for n in names]
    write_lines(root / "list_landmarks_align_celeba.txt", [str(len(names)), header, *rows], newline)
    faces = [n for n in names if n not in (truncated, missing, noface)]
    return CelebaFixture(root, names, identities, {n: {"0": "train", "1": "val", "2": "test"}[p]
                                                       for n, p in partition.items()},
                         truncated, missing, noface, two, faces)


# --- 300-VW ------------------------------------------------------------------------------------------------
def motion(t: int) -> tuple[float, float]:
    """Small head motion of frame t in pixels."""
    return 2.0 * t, 1.0 * t


@dataclass
class Vw300Fixture:
    root: Path
    frames: dict[str, int]  # video -> number of frames
    gaps: dict[str, list[int]]  # video -> frames without a face
    annotated: dict[str, list[int]]  # video -> 0-based frames with a valid .pts
    bad_pts: list[str]
    corrupt: str
    face_px: float = 90.0


def video_frames(name: str, n: int, gaps: list[int], face_px: float = 90.0) -> list[np.ndarray]:
    return [no_face(VIDEO_SIZE) if t in gaps else portrait(name, VIDEO_SIZE, face_px, motion(t))
            for t in range(n)]


def build_300vw(root: Path) -> Vw300Fixture:
    """Videos 001 (official train: 8 frames, frame 4 without a face, .pts with CRLF for frames 0-2, a broken
    .pts for frame 5, none for the rest), 114 (official test: 6 frames, all .pts) and 002 (corrupt vid.avi)."""
    fx = Vw300Fixture(root, {"001": 8, "114": 6}, {"001": [4], "114": []},
                      {"001": [0, 1, 2], "114": list(range(6))}, ["001/annot/000006.pts"], "002/vid.avi")
    for vid, person, newline in (("001", "astronaut", "\r\n"), ("114", "outdoor", "\n")):
        frames = video_frames(person, fx.frames[vid], fx.gaps[vid], fx.face_px)
        write_video(root / vid / "vid.avi", frames, codec="mjpeg", pix_fmt="yuvj420p")
        lm0 = _landmarks(person, VIDEO_SIZE, fx.face_px)
        for t in fx.annotated[vid]:
            write_pts(root / vid / "annot" / f"{t + 1:06d}.pts", lm0 + np.float32(motion(t)), newline)
    write_lines(root / fx.bad_pts[0], ["version: 1", "n_points: 5", "{", "1 2", "}"], "\r\n")
    (root / "002").mkdir()
    (root / fx.corrupt).write_bytes(np.random.default_rng(0).bytes(4096))
    return fx


# --- FaceForensics++ ---------------------------------------------------------------------------------------
@dataclass
class FaceForensicsFixture:
    root: Path
    splits: dict[str, str]  # video id -> split, for the videos present
    frames_per_video: int
    excluded: str  # a video in no split file
    corrupt: str  # a truncated mp4


def build_faceforensics(root: Path, compression: str = "c23", frames: int = 5) -> FaceForensicsFixture:
    videos = root / "original_sequences" / "youtube" / compression / "videos"
    people = {"000": "astronaut", "001": "frontal", "002": "outdoor", "003": "sanogo", "004": "frontal"}
    for vid, person in people.items():
        write_video(videos / f"{vid}.mp4", video_frames(person, frames, []))
    truncate(videos / "002.mp4", 0.6)
    write_lines(root / "splits" / "train.json", [json.dumps([["000", "003"]])])
    write_lines(root / "splits" / "val.json", [json.dumps([["001", "071"]])])
    write_lines(root / "splits" / "test.json", [json.dumps([["002", "953"]])])
    return FaceForensicsFixture(root, {"000": "train", "003": "train", "001": "val", "002": "test"}, frames,
                                f"{videos.relative_to(root).as_posix()}/004.mp4",
                                f"{videos.relative_to(root).as_posix()}/002.mp4")


# --- users' folders ----------------------------------------------------------------------------------------
def build_image_folder(root: Path) -> dict[str, list[str]]:
    """person_a/, person_b/ and loose files: faces, a truncated JPEG, a no-face image, a fake .png."""
    faces = {"person_a/1.jpg": portrait("astronaut"), "person_a/2.png": portrait("astronaut", flip=True),
             "person_b/1.jpg": portrait("frontal", (300, 260), 120), "loose.jpg": portrait("outdoor")}
    for rel, img in faces.items():
        write_image(root / rel, img)
    write_image(root / "person_b/trunc.jpg", portrait("sanogo"))
    truncate(root / "person_b/trunc.jpg")
    write_image(root / "scenery.jpg", no_face())
    (root / "notes.png").write_text("not an image")
    (root / "readme.txt").write_text("ignored: not an image extension")
    return {"faces": sorted(faces), "unreadable": ["notes.png", "person_b/trunc.jpg"], "no_face": ["scenery.jpg"]}


def build_video_folder(root: Path) -> dict[str, object]:
    """An odd-size (239x199) mp4, a variable-frame-rate mp4 in a sub-folder, an RGBA GIF with a transparent
    corner, an MJPEG avi whose packet 3 is garbled and a corrupt mp4."""
    write_video(root / "odd.mp4", [f[:199, :239] for f in video_frames("frontal", 4, [], 80.0)])
    write_video(root / "talk/vfr.mp4", video_frames("astronaut", 5, []), pts_ms=[0, 40, 120, 130, 300])
    gif = [np.dstack([f, np.full(f.shape[:2], 255, np.uint8)]) for f in video_frames("outdoor", 4, [])]
    for f in gif:
        f[:30, :30, 3] = 0  # a transparent corner
    Image.fromarray(gif[0], "RGBA").save(root / "clip.gif", save_all=True, loop=0, duration=[40, 80, 40, 60],
                                        append_images=[Image.fromarray(f, "RGBA") for f in gif[1:]], disposal=2)
    write_video(root / "damaged.avi", video_frames("sanogo", 6, []), codec="mjpeg", pix_fmt="yuvj420p")
    corrupt_packet(root / "damaged.avi", 3)
    (root / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + np.random.default_rng(1).bytes(2000))
    return {"frames": {"odd.mp4": [0, 1, 2, 3], "talk/vfr.mp4": [0, 1, 2, 3, 4], "clip.gif": [0, 1, 2, 3],
                       "damaged.avi": [0, 1, 2, 4, 5]},
            "unreadable": ["broken.mp4"], "damaged": ["damaged.avi"], "odd_size": (199, 239)}


# --- comparing stores --------------------------------------------------------------------------------------
def store_digest(store: Path) -> dict[str, object]:
    """Everything a store holds that must not depend on how it was produced (workers, shards, resumes):
    the manifest without ``source_root`` and the bytes of every shard file and table."""
    import hashlib

    out: dict[str, object] = {}
    for p in sorted(store.rglob("*")):
        rel = p.relative_to(store).as_posix()
        if p.is_file() and not rel.startswith("."):
            if rel == "manifest.json":
                m = json.loads(p.read_text())
                m.pop("source_root")
                out[rel] = m
            else:
                out[rel] = hashlib.sha256(p.read_bytes()).hexdigest()
    return out


def image_store(root: Path) -> Path:
    """Two identities with two real-face images each plus a loose face, all in the test split."""
    faces = {"person_a/1.jpg": portrait("astronaut"), "person_a/2.jpg": portrait("astronaut", shift=(6, -4)),
             "person_b/1.jpg": portrait("frontal"), "person_b/2.jpg": portrait("frontal", flip=True),
             "loose.jpg": portrait("outdoor")}
    for rel, img in faces.items():
        write_image(root / "faces" / rel, img)
    prepare_folder(root / "faces", root / "store", split="test", progress=False)
    return root / "store"


def video_store(root: Path, frames: int = 5) -> Path:
    """One real-face video (the astronaut, `frames` frames) prepared into a store, test split."""
    write_video(root / "videos" / "talk.mp4", video_frames("astronaut", frames, []))
    prepare_videos(root / "videos", root / "vstore", split="test", progress=False)
    return root / "vstore"
