"""Video preparation end to end: 300-VW (annotations, CRLF, gaps), FaceForensics++, folders of videos."""
from __future__ import annotations

import av
import numpy as np
import pytest

from data_fixtures import (
    VIDEO_SIZE,
    build_300vw,
    build_faceforensics,
    build_video_folder,
    motion,
    portrait,
    write_lines,
)
from stngan.data import FaceStore
from stngan.data.prepare import prepare_300vw, prepare_faceforensics, prepare_videos
from stngan.data.prepare.decode import iter_frames
from stngan.data.prepare.textfiles import read_pts
from stngan.faces import CropTransform

QUIET = {"progress": False}


@pytest.fixture(scope="module")
def vw(tmp_path_factory):
    fx = build_300vw(tmp_path_factory.mktemp("300vw"))
    dst = tmp_path_factory.mktemp("vw_store") / "store"
    return fx, prepare_300vw(fx.root, dst, **QUIET), FaceStore(dst)


def _frames_by_video(store: FaceStore) -> dict[int, list[int]]:
    out: dict[int, list[int]] = {}
    for i in range(len(store)):
        m = store.meta(i)
        out.setdefault(m["video"], []).append(m["frame"])
    return out


def test_300vw_counts_splits_and_report(vw):
    fx, result, store = vw
    r = result["report"]
    assert (r["units"], r["frames"], r["faces"], r["no_face"]) == (3, 14, 13, 1)
    assert [u["path"] for u in r["unreadable"]] == [fx.corrupt]
    assert [b["path"] for b in r["bad_annotations"]] == fx.bad_pts
    assert r["annotated"] == 3 + 6
    assert store.counts == {"train": 7, "val": 0, "test": 6}  # 001 is official train, 114 official test
    assert _frames_by_video(store) == {1: [0, 1, 2, 3, 5, 6, 7], 114: list(range(6))}
    assert {store.meta(i)["identity"] for i in store.split_indices("test")} == {114}


def test_300vw_uses_annotations_where_present(vw):
    fx, _, store = vw
    for i in range(len(store)):
        m = store.meta(i)
        name = f"{m['video']:03d}"
        assert m["annotated"] == (m["frame"] in fx.annotated[name])
        if m["annotated"]:
            pts = read_pts(fx.root / name / "annot" / f"{m['frame'] + 1:06d}.pts") - 1.0
            t = CropTransform.from_dict(m["transform"])
            np.testing.assert_allclose(store.landmarks(i), t.to_crop(pts), atol=1e-3)


def test_300vw_crops_are_the_frames(vw):
    fx, _, store = vw
    frames = [img for _, img in iter_frames(fx.root / "114" / "vid.avi")]
    i = int(store.split_indices("test")[3])
    t = CropTransform.from_dict(store.meta(i)["transform"])
    np.testing.assert_array_equal(store.crop(i), t.crop(frames[store.meta(i)["frame"]]))
    # the annotated face follows the head motion
    shift = np.array(motion(5)) - np.array(motion(0))
    j, k = (int(v) for v in store.split_indices("test")[[0, 5]])
    c0, c5 = store.meta(j)["transform"], store.meta(k)["transform"]
    np.testing.assert_allclose([c5["cx"] - c0["cx"], c5["cy"] - c0["cy"]], shift, atol=0.5)


def test_windows_never_span_a_gap(vw):
    _, _, store = vw
    w = store.windows("train", 3)
    frames = [[store.meta(int(i))["frame"] for i in row] for row in w]
    assert frames == [[0, 1, 2], [1, 2, 3], [5, 6, 7]]
    assert len(store.windows("test", 3)) == 4 and len(store.windows("test", 7)) == 0
    assert len(store.split_indices("test", every=4)) == 2  # frames 0 and 4


def test_300vw_split_file(vw, tmp_path):
    fx, _, _ = vw
    split = write_lines(tmp_path / "split.txt", ["001 test", "114 train"], "\r\n")
    result = prepare_300vw(fx.root, tmp_path / "store", split_protocol="file", split_file=split,
                           annotations=False, **QUIET)
    assert result["counts"] == {"train": 6, "val": 0, "test": 7}
    assert result["report"]["excluded"] == [{"path": "002/vid.avi", "reason": "not in the split file"}]
    assert result["report"]["annotated"] == 0


def test_faceforensics(tmp_path):
    fx = build_faceforensics(tmp_path / "ff")
    result = prepare_faceforensics(fx.root, tmp_path / "store", frames=3, videos_per_shard=2, **QUIET)
    assert result["counts"] == {"train": 6, "val": 3, "test": 0}
    assert [e["path"] for e in result["report"]["excluded"]] == [fx.excluded]
    assert [u["path"] for u in result["report"]["unreadable"]] == [fx.corrupt]
    store = FaceStore(tmp_path / "store")
    assert sorted({store.meta(i)["video"] for i in range(len(store))}) == [0, 1, 3]
    assert len(store.windows("train", 3)) == 2
    with pytest.raises(FileNotFoundError, match="available: --compression c23"):
        prepare_faceforensics(fx.root, tmp_path / "other", compression="c40", **QUIET)


def test_video_folder_odd_sizes_vfr_gif_damaged_and_corrupt(tmp_path):
    fx = build_video_folder(tmp_path / "videos")
    result = prepare_videos(tmp_path / "videos", tmp_path / "store", **QUIET)
    r = result["report"]
    assert [u["path"] for u in r["unreadable"]] == fx["unreadable"]
    assert [(d["path"], d["frames"], d["errors"]) for d in r["damaged"]] == [("damaged.avi", 5, 1)]
    assert "frame 3" in r["damaged"][0]["reason"]
    assert r["frames"] == sum(len(f) for f in fx["frames"].values()) and r["faces"] == r["frames"]
    store = FaceStore(tmp_path / "store")
    by_source: dict[str, list[int]] = {}
    for i in range(len(store)):
        by_source.setdefault(store.meta(i)["source"], []).append(store.meta(i)["frame"])
    assert by_source == fx["frames"]  # the bad packet keeps its frame number: a gap at 3
    windows = [[store.meta(int(i))["frame"] for i in w] for w in store.windows("train", 3)
               if store.meta(int(w[0]))["source"] == "damaged.avi"]
    assert windows == [[0, 1, 2]]


def test_max_frames_and_test_fraction(tmp_path):
    fx = build_video_folder(tmp_path / "videos")
    result = prepare_videos(tmp_path / "videos", tmp_path / "store", max_frames=2, test_fraction=1.0, **QUIET)
    assert result["counts"] == {"train": 0, "val": 0, "test": 2 * len(fx["frames"])}
    assert result["report"]["damaged"] == []  # the damage is after frame 2


def test_decode_matches_the_written_frames(tmp_path):
    fx = build_video_folder(tmp_path / "videos")
    odd = [img for _, img in iter_frames(tmp_path / "videos" / "odd.mp4")]
    assert odd[0].shape == (*fx["odd_size"], 3) and odd[0].dtype == np.uint8
    gif = [img for _, img in iter_frames(tmp_path / "videos" / "clip.gif")]
    assert gif[0].shape == (VIDEO_SIZE[1], VIDEO_SIZE[0], 3)
    assert (gif[0][:30, :30] == 0).all()  # transparent pixels composited on black
    expected = portrait("outdoor", VIDEO_SIZE, 90.0, motion(0))
    assert np.abs(gif[0][40:, 40:].astype(int) - expected[40:, 40:]).mean() < 8  # palette quantisation
    with pytest.raises(av.FFmpegError):  # strict mode (no error list) raises at the bad packet
        list(iter_frames(tmp_path / "videos" / "damaged.avi"))
