"""TrackCompletion (streamed, frame by frame) gives complete_tracks on the whole video, frame for frame, on
random videos made as the tracker makes them: tracks with gaps, lone detections, shot cuts, several faces."""
from __future__ import annotations

import numpy as np
import pytest

from stngan.faces.box import Box
from stngan.faces.masks import mask_geometry
from stngan.faces.template import fit_to_box
from stngan.inference.continuity import TrackCompletion, complete_tracks
from stngan.inference.sidecar import FaceRecord


def _face(track: int, x: float) -> FaceRecord:
    box = Box(x, 40, x + 60, 100)
    landmarks = fit_to_box(box)
    return FaceRecord(track, box, landmarks, mask_geometry(landmarks))


def random_video(seed: int, n: int, max_gap: int) -> tuple[dict[int, list[FaceRecord]], list[int]]:
    """Detections per frame and cuts, as IouTracker makes them: a track's detections are at most max_gap + 1
    frames apart and never cross a cut; ids are never reused."""
    rng = np.random.default_rng(seed)
    cuts = sorted(int(c) for c in rng.choice(np.arange(1, n), size=int(rng.integers(0, 4)), replace=False))
    detected: dict[int, list[FaceRecord]] = {}
    next_id = 0
    for lo, hi in zip([0] + cuts, cuts + [n]):
        for _ in range(int(rng.integers(0, 4))):
            f = int(rng.integers(lo, hi))
            track, next_id = next_id, next_id + 1
            end = min(hi, f + int(rng.integers(1, 60)))
            while f < end:
                detected.setdefault(f, []).append(_face(track, 10 + 70 * track + f))
                f += int(rng.integers(1, max_gap + 2)) if rng.random() < 0.3 else 1
    return detected, cuts


def _streamed(detected, cuts, n, hold, max_gap, every):
    completion = TrackCompletion(hold, max_gap)
    out = []
    for i in range(n):
        completion.add(i, detected.get(i, []), cut=i in cuts)
        out += completion.ready(every=every)
    return out + completion.ready(final=True), completion


def _as_comparable(faces):
    return [(f.track, f.origin, f.rule, f.box, tuple(f.mask.circles), f.landmarks.tobytes()) for f in faces]


@pytest.mark.parametrize("seed", range(12))
@pytest.mark.parametrize("hold,max_gap", [(5, 10), (0, 3), (3, 0), (8, 2)])
def test_streamed_completion_is_the_whole_video_completion(seed, hold, max_gap):
    n = 240
    detected, cuts = random_video(seed, n, max_gap)
    whole = complete_tracks(detected, n, cuts, hold, max_gap)
    streamed, completion = _streamed(detected, cuts, n, hold, max_gap, every=1 + seed % 20)
    assert [f for f, _ in streamed] == list(range(n))
    for f, faces in streamed:
        assert _as_comparable(faces) == _as_comparable(whole.get(f, [])), f
    assert len(completion.detected) <= completion.behind + completion.ahead + 20  # old detections dropped


def test_nothing_comes_out_before_its_horizon():
    completion = TrackCompletion(hold=5, max_gap=10)
    for i in range(completion.ahead + 15):
        completion.add(i, [_face(0, 10)] if i % 2 == 0 else [])
    assert completion.ready(every=16) == []  # 15 final frames, fewer than a batch
    completion.add(completion.ahead + 15, [])
    assert [f for f, _ in completion.ready(every=16)] == list(range(16))


@pytest.mark.parametrize("seed", range(6))
def test_faces_smoothed_as_they_come_equal_those_smoothed_from_the_whole_sidecar(seed):
    from stngan.inference.frames import SmoothedFaces
    from stngan.inference.sidecar import FrameRecord, Sidecar

    n = 150
    detected, cuts = random_video(seed, n, max_gap=4)
    completed = complete_tracks(detected, n, cuts, hold=3, max_gap=4)
    whole = SmoothedFaces.from_sidecar(Sidecar({}, {}, [FrameRecord(i, completed[i]) for i in sorted(completed)]),
                                       0.2, 128)
    streamed = SmoothedFaces(0.2, 128)
    checked = 0
    for i in range(n):
        streamed.add(i, completed.get(i, []))
        for j in range(checked, n):
            if not streamed.ready(j):
                break
            for face in streamed.faces.get(j, []):
                ct, lm = streamed.tracks[(j, face.track)]
                want_ct, want_lm = whole.tracks[(j, face.track)]
                assert ct.to_crop(lm).tobytes() == want_ct.to_crop(want_lm).tobytes(), (j, face.track)
                if whole.last_frame_of_track[face.track] == j:
                    assert streamed.last_frame_of_track[face.track] == j
            streamed.forget(j)
            checked = j + 1
    streamed.close()
    assert checked >= n - 3 and all(streamed.ready(j) for j in range(n))
    assert streamed.last_frame_of_track == whole.last_frame_of_track
