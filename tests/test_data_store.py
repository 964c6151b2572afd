"""Store building blocks: streamed .npy arrays, atomic shards, the window rule."""
from __future__ import annotations

import numpy as np
import pytest

from stngan.data import layout
from stngan.data.npy_stream import NpyAppender
from stngan.data.shard_writer import FaceRecord, ShardWriter
from stngan.data.windows import consecutive_windows


@pytest.mark.parametrize("dtype,shape", [(np.uint8, (128, 128, 3)), (np.float32, (68, 2)), (np.int8, ())])
@pytest.mark.parametrize("n", [0, 1, 5])
def test_npy_appender_round_trip(tmp_path, dtype, shape, n):
    items = [np.random.default_rng(k).integers(0, 100, shape).astype(dtype) for k in range(n)]
    w = NpyAppender(tmp_path / "a.npy", dtype, shape)
    for it in items:
        w.append(it)
    w.close()
    a = np.load(tmp_path / "a.npy", mmap_mode="r")
    assert a.shape == (n, *shape) and a.dtype == dtype
    np.testing.assert_array_equal(a, np.array(items, dtype=dtype).reshape(n, *shape))


def _record(k: int) -> FaceRecord:
    return FaceRecord(np.full((128, 128, 3), k, np.uint8), np.full((68, 2), k, np.float32), (1.0, 2.0, 3.0),
                      source=k, frame=k, identity=-1, video=-1, split=0, annotated=False)


def test_shard_appears_only_when_committed(tmp_path):
    with ShardWriter(tmp_path, 3) as w:
        w.add(_record(1))
        assert not (tmp_path / "shard-00003").exists()
        w.add(_record(2))
        w.commit({"note": "x"})
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard-00003"]
    crops = np.load(tmp_path / "shard-00003" / "crops.npy", mmap_mode="r")
    assert crops.shape == (2, 128, 128, 3) and crops[1, 0, 0, 0] == 2


def test_failed_shard_leaves_nothing(tmp_path):
    with pytest.raises(RuntimeError):
        with ShardWriter(tmp_path, 0) as w:
            w.add(_record(1))
            raise RuntimeError("worker died")
    assert list(tmp_path.iterdir()) == []


def test_split_names():
    assert layout.split_code("test") == 2
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        layout.split_code("dev")


def _frames_of(windows, frame):
    return [list(frame[w]) for w in windows]


def test_windows_break_at_gaps_and_videos():
    #            video 0: frames 0-3, gap, 5-7      video 1: 0-2    still image
    video = np.array([0, 0, 0, 0, 0, 0, 0, 1, 1, 1, -1])
    frame = np.array([0, 1, 2, 3, 5, 6, 7, 0, 1, 2, 0])
    order = np.random.default_rng(0).permutation(len(video))  # storage order must not matter
    w = consecutive_windows(video[order], frame[order], 3)
    got = sorted((int(video[order][r[0]]), *(int(f) for f in frame[order][r])) for r in w)
    assert got == [(0, 0, 1, 2), (0, 1, 2, 3), (0, 5, 6, 7), (1, 0, 1, 2)]
    assert len(consecutive_windows(video, frame, 1)) == 10  # every video frame, never a still image
    assert len(consecutive_windows(video, frame, 4)) == 1


def test_windows_respect_keep_duplicates_and_jumps():
    video = np.zeros(6, int)
    frame = np.array([0, 1, 2, 2, 3, 4])  # frame 2 twice: a duplicate breaks
    assert _frames_of(consecutive_windows(video, frame, 2), frame) == [[0, 1], [1, 2], [2, 3], [3, 4]]
    keep = np.array([1, 1, 1, 0, 1, 1], bool)
    assert _frames_of(consecutive_windows(video, frame, 3, keep=keep), frame) == [[0, 1, 2], [1, 2, 3], [2, 3, 4]]
    frame = np.arange(5)
    t = np.array([[50, 50, 100], [52, 50, 100], [150, 50, 100], [151, 50, 100], [152, 50, 200]], float)
    w = consecutive_windows(np.zeros(5, int), frame, 2, transforms=t)  # a cut after 1, a zoom after 3
    assert _frames_of(w, frame) == [[0, 1], [2, 3]]
    assert len(consecutive_windows(np.zeros(5, int), frame, 2, transforms=t, max_jump=None)) == 4
    with pytest.raises(ValueError, match="positive integer"):
        consecutive_windows(video, frame, 0)
