"""Annotation parsers: CelebA lists, iBUG .pts, FaceForensics++ split JSON, --shard; CRLF everywhere."""
from __future__ import annotations

import numpy as np
import pytest

from data_fixtures import write_lines
from stngan.data.prepare.plan import parse_shard
from stngan.data.prepare.textfiles import (
    AnnotationError,
    read_counted_table,
    read_name_value,
    read_pair_split,
    read_pts,
)


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_name_value_any_line_ending(tmp_path, newline):
    p = write_lines(tmp_path / "identity_CelebA.txt", ["000001.jpg 2880", "", "000002.jpg 2937"], newline)
    assert read_name_value(p) == {"000001.jpg": "2880", "000002.jpg": "2937"}


def test_name_value_bom_and_bad_line(tmp_path):
    p = tmp_path / "list_eval_partition.txt"
    p.write_bytes("\ufeff000001.jpg 0\r\n".encode())
    assert read_name_value(p) == {"000001.jpg": "0"}
    write_lines(p, ["000001.jpg 0", "000002.jpg"])
    with pytest.raises(AnnotationError, match=r"list_eval_partition.txt:2: expected 'name value'"):
        read_name_value(p)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_counted_table_bbox_and_landmarks(tmp_path, newline):
    bbox = write_lines(tmp_path / "list_bbox_celeba.txt",
                       ["2", "image_id x_1 y_1 width height", "000001.jpg    95  71 226 313",
                        "000002.jpg 72 94 221 306"], newline)
    columns, rows = read_counted_table(bbox)
    assert columns == ["x_1", "y_1", "width", "height"]
    np.testing.assert_array_equal(rows["000001.jpg"], [95, 71, 226, 313])
    lm = write_lines(tmp_path / "list_landmarks_align_celeba.txt",
                     ["1", "lefteye_x lefteye_y righteye_x righteye_y nose_x nose_y leftmouth_x leftmouth_y "
                      "rightmouth_x rightmouth_y", "000001.jpg 69 109 106 113 77 142 73 152 108 154"], newline)
    columns, rows = read_counted_table(lm)
    assert columns[4:6] == ["nose_x", "nose_y"] and rows["000001.jpg"][4] == 77


def test_counted_table_count_mismatch(tmp_path):
    p = write_lines(tmp_path / "list_bbox_celeba.txt", ["3", "image_id x_1 y_1 width height", "a.jpg 1 2 3 4"])
    with pytest.raises(AnnotationError, match="header says 3 rows, found 1"):
        read_counted_table(p)


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_pts(tmp_path, newline):
    pts = np.arange(136, dtype=float).reshape(68, 2) + 0.5
    p = write_lines(tmp_path / "000001.pts", ["version: 1", "n_points:  68", "{",
                                                *[f"{x} {y}" for x, y in pts], "}"], newline)
    np.testing.assert_array_equal(read_pts(p), pts)


@pytest.mark.parametrize("lines,match", [
    (["version: 1", "n_points: 5", "{", "1 2", "}"], "n_points is 5"),
    (["version: 1", "n_points: 68", *["1 2"] * 68], "enclosed"),
    (["version: 1", "n_points: 68", "{", *["1 2"] * 67, "}"], r"shape \(67, 2\)"),
    (["version: 1", "n_points: 68", "{", *["1 x"] * 68, "}"], "non-numeric"),
])
def test_pts_errors(tmp_path, lines, match):
    with pytest.raises(AnnotationError, match=match):
        read_pts(write_lines(tmp_path / "bad.pts", lines))


def test_pair_split(tmp_path):
    p = tmp_path / "train.json"
    p.write_text('[["071", "054"], ["087", "081"]]')
    assert read_pair_split(p) == ["071", "054", "087", "081"]
    p.write_text('{"a": 1}')
    with pytest.raises(AnnotationError, match="list of"):
        read_pair_split(p)


def test_parse_shard():
    assert parse_shard("1/4") == (1, 4)
    for bad in ("4/4", "-1/2", "1", "a/b", "0/0"):
        with pytest.raises(ValueError):
            parse_shard(bad)
