"""The test clips of tests/clips.py have the streams and timing they are asked for."""
from __future__ import annotations

from fractions import Fraction

import av
import numpy as np

from clips import audio_packets, make_clip, video_timestamps


def test_clip_has_the_requested_streams_and_timing(tmp_path):
    path = tmp_path / "clip.mp4"
    frames = make_clip(path, count=10, audio="aac", pts=[0, 1, 2, 4, 7, 8, 9, 12, 13, 20])
    assert len(frames) == 10 and frames[0].shape == (64, 96, 3) and not np.array_equal(frames[0], frames[1])
    assert video_timestamps(path) == [Fraction(p, 25) for p in (0, 1, 2, 4, 7, 8, 9, 12, 13, 20)]
    assert len(audio_packets(path)) > 10


def test_pcm_clip(tmp_path):
    path = tmp_path / "clip.mkv"
    make_clip(path, codec="ffv1", count=4, audio="pcm_s16le")
    with av.open(str(path)) as container:
        assert [s.codec_context.name for s in container.streams] == ["ffv1", "pcm_s16le"]
