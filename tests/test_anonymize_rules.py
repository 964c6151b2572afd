"""Mask rules (faces.fallback), track completion (inference.continuity) and shot cuts, on known inputs."""
from __future__ import annotations

import numpy as np

from stngan.faces.box import Box
from stngan.faces.fallback import covers, face_mask
from stngan.faces.masks import mask_geometry
from stngan.faces.template import fit_to_box, five_points
from stngan.inference.continuity import complete_tracks
from stngan.inference.shots import ShotCutDetector
from stngan.inference.sidecar import FaceRecord
from helpers import astronaut_frames

BOX = Box(100, 100, 200, 200)


def template_face(box: Box = BOX) -> np.ndarray:
    return fit_to_box(box)


def test_agreeing_points_keep_the_paper_mask():
    lm = template_face()
    fm = face_mask(BOX, lm, five_points(lm))
    assert fm.rule == "lm68" and len(fm.geometry.circles) == 4


def test_point_outside_the_circles_adds_the_five_point_circles():
    lm = template_face()
    points = five_points(lm)
    points[3] += [-10, 10]  # a mouth corner 14 px off: within tolerance, outside the mouth circle
    assert not covers(mask_geometry(lm), points).all()
    fm = face_mask(BOX, lm, points)
    assert fm.rule == "lm68+lm5" and covers(fm.geometry, points).all() and len(fm.geometry.circles) == 8


def test_disagreeing_fit_falls_back_to_points_and_covers_them():
    lm = template_face()
    points = five_points(lm) + [30, 0]  # the face is really 30 px to the right
    fm = face_mask(BOX, lm, points)
    assert fm.rule == "lm5" and covers(fm.geometry, points).all()


def test_implausible_fit_without_points_uses_the_box():
    lm = template_face(Box(400, 400, 420, 420))  # a fit far outside the box
    fm = face_mask(BOX, lm, None)
    assert fm.rule == "box" and covers(fm.geometry, five_points(template_face())).all()


def _record(track: int, x: float, rule: str = "lm68") -> FaceRecord:
    box = Box(x, 100, x + 100, 200)
    lm = template_face(box)
    geometry = face_mask(box, lm, None).geometry if rule == "lm68" else face_mask(box, lm + 40, five_points(lm)).geometry
    return FaceRecord(track, box, lm, geometry, rule)


def test_interpolation_moves_with_the_face_and_grows():
    done = complete_tracks({0: [_record(0, 100)], 4: [_record(0, 140)]}, 5, [], hold=0, max_gap=10)
    mid = done[2][0]
    assert mid.origin == "interpolated" and mid.box.left == 120
    assert mid.mask.circles[0].r > _record(0, 120).mask.circles[0].r


def test_gap_longer_than_max_gap_is_not_bridged_but_held():
    detected = {0: [_record(0, 100)], 1: [_record(0, 100)], 10: [_record(0, 100)], 11: [_record(0, 100)]}
    done = complete_tracks(detected, 12, [], hold=2, max_gap=5)
    assert sorted(done) == [0, 1, 2, 3, 8, 9, 10, 11] and {f.origin for f in done[3]} == {"held"}


def test_a_lone_detection_is_held_one_frame_only():
    done = complete_tracks({5: [_record(0, 100)]}, 12, [], hold=4, max_gap=5)
    assert sorted(done) == [4, 5, 6]


def test_rules_that_differ_keep_both_masks_along_the_gap():
    done = complete_tracks({0: [_record(0, 100)], 2: [_record(0, 110, "lm5")]}, 3, [], hold=0, max_gap=10)
    mid = done[1][0]
    assert len(mid.mask.circles) == 4 + 5 and mid.rule == "lm5"


def test_hold_stops_at_the_video_and_the_shot():
    detected = {f: [_record(0, 100)] for f in range(5, 10)}
    done = complete_tracks(detected, 12, [3], hold=4, max_gap=10)
    assert sorted(done) == list(range(3, 12))


def test_moving_face_is_no_cut_and_a_new_scene_is():
    detector = ShotCutDetector()
    frames = astronaut_frames(6)
    assert not any(detector.is_cut(f) for f in frames)
    other = np.full_like(frames[0], 20)
    other[::6] = 230
    assert detector.is_cut(other)
