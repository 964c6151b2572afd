"""`anonymize --inpaint` (one pass) gives exactly what `anonymize` then `inpaint` give."""
from __future__ import annotations

import numpy as np
import pytest
from click.testing import CliRunner

from stngan.cli import cli
from stngan.faces.image_io import load_image, save_png_atomic
from stngan.inference.sidecar import Sidecar, sidecar_path_for
from helpers import astronaut_frames, frames_of, tiny_checkpoint
from clips import make_clip


def run(*args: str):
    result = CliRunner().invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("fill", ["checkpoint", "donor"])
def test_one_pass_video_equals_two_commands(tmp_path, fill):
    src = tmp_path / "in.mkv"
    make_clip(src, astronaut_frames(6, no_face_at=(3,)), codec="ffv1")
    model = str(tiny_checkpoint(tmp_path)) if fill == "checkpoint" else "donor"
    run("anonymize", str(src), "-o", str(tmp_path / "masked.mkv"), "--lossless", "--quiet")
    run("inpaint", str(tmp_path / "masked.mkv"), "-o", str(tmp_path / "two.mkv"), "--model", model, "--lossless",
        "--quiet")
    out = run("anonymize", str(src), "-o", str(tmp_path / "one.mkv"), "--inpaint", "--model", model,
              "--masked-output", str(tmp_path / "one_masked.mkv"), "--lossless", "--quiet").output
    assert "faces_inpainted" in out
    two, one = frames_of(tmp_path / "two.mkv"), frames_of(tmp_path / "one.mkv")
    assert len(one) == len(two) == 6
    assert all(np.array_equal(a, b) for a, b in zip(one, two))
    masked = frames_of(tmp_path / "masked.mkv")
    assert all(np.array_equal(a, b) for a, b in zip(masked, frames_of(tmp_path / "one_masked.mkv")))
    assert not np.array_equal(one[0], masked[0])  # the faces were inpainted
    for painted, m in zip(one, masked):  # bit-exact outside the masks (black discs, 0 in every channel)
        outside = m.max(axis=-1) > 0
        assert np.array_equal(painted[outside], m[outside])
    one_sidecar = Sidecar.load(sidecar_path_for(tmp_path / "one_masked.mkv")).to_dict()
    assert one_sidecar == Sidecar.load(sidecar_path_for(tmp_path / "masked.mkv")).to_dict()


def test_one_pass_image_equals_two_commands(tmp_path, face_images):
    src = tmp_path / "face.png"
    save_png_atomic(src, face_images["frontal"])
    model = str(tiny_checkpoint(tmp_path))
    run("anonymize", str(src), "-o", str(tmp_path / "masked.png"))
    run("inpaint", str(tmp_path / "masked.png"), "-o", str(tmp_path / "two.png"), "--model", model)
    run("anonymize", str(src), "-o", str(tmp_path / "one.png"), "--inpaint", "--model", model)
    assert np.array_equal(load_image(tmp_path / "one.png"), load_image(tmp_path / "two.png"))
