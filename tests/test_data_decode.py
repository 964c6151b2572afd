"""Dataset preparation decodes video frames exactly as inference does (same colours, same orientation)."""
from __future__ import annotations

import numpy as np
import pytest

from clips import make_clip, moving_frames
from stngan.data.prepare.decode import iter_frames
from stngan.media import VideoReader, to_display


@pytest.mark.parametrize("size, rotation", [((1280, 720), None), ((320, 240), 90)])
def test_training_and_inference_decode_the_same_pixels(tmp_path, size, rotation):
    """HD: BT.709 by the 720-line rule (the old preparer's plain rgb24 gave BT.601 colours); phone: upright."""
    path = tmp_path / "clip.mp4"
    make_clip(path, moving_frames(*size, 3), rotation=rotation)
    with VideoReader(path) as reader:
        inference = [to_display(f.image, reader.rotation) for f in reader]
    training = [img for _, img in iter_frames(path)]
    assert len(training) == len(inference) == 3
    for a, b in zip(training, inference):
        assert a.shape == b.shape and np.array_equal(a, b)
