"""`anonymize --inpaint` (one pass) gives exactly what `anonymize` then `inpaint` give."""
from __future__ import annotations

import numpy as np
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


def test_one_pass_video_equals_two_commands(tmp_path):
    src = tmp_path / "in.mkv"
    make_clip(src, astronaut_frames(6, no_face_at=(3,)), codec="ffv1")
    model = str(tiny_checkpoint(tmp_path))
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


def test_masking_while_detecting_equals_masking_after_the_whole_first_pass(tmp_path, monkeypatch):
    """The masking pass follows detection a horizon behind (TrackCompletion): a 40-frame clip where detection
    fails on some frames (interpolated and held masks need later detections) and a grey shot cuts it, with
    frames handed over as soon as they are final, gives the sidecar and frames of completing the tracks
    only once the whole video is detected."""
    from stngan.inference.continuity import TrackCompletion
    from stngan.inference.frames import FaceFinder

    frames = astronaut_frames(40)
    frames[20:24] = [np.full_like(frames[0], 90)] * 4  # a shot without faces
    src = tmp_path / "in.mkv"
    make_clip(src, frames, codec="ffv1")
    blind = {0, 1, 9, 10, 12, 31, 33, 34}  # detection "fails" there
    track = FaceFinder.track
    monkeypatch.setattr(FaceFinder, "track", lambda self, i, faces: track(self, i, [] if i in blind else faces))
    model = str(tiny_checkpoint(tmp_path))
    args = ["--hold", "3", "--max-gap", "2", "--detect-every", "1", "--lossless", "--quiet", "--model", model]
    original = TrackCompletion.ready
    early = []

    def at_once(self, final=False, every=16):
        out = original(self, final, 1)  # every frame as soon as it is final: no slack beyond the horizon
        early.extend(out if not final else [])
        return out

    monkeypatch.setattr(TrackCompletion, "ready", at_once)
    run("anonymize", str(src), "-o", str(tmp_path / "streamed.mkv"), "--inpaint", *args)
    assert len(early) >= 16  # frames were masked while detection went on
    monkeypatch.setattr(TrackCompletion, "ready", lambda self, final=False, every=16: original(self, True) if final else [])
    run("anonymize", str(src), "-o", str(tmp_path / "whole.mkv"), "--inpaint", *args)
    streamed, whole = (Sidecar.load(sidecar_path_for(tmp_path / f"{name}.mkv")).to_dict() for name in ("streamed", "whole"))
    origins = {f["origin"] for fr in whole["frames"] for f in fr["faces"]}
    assert streamed == whole and {"held", "interpolated"} <= origins and whole["stats"]["cuts"] >= 1
    assert all(np.array_equal(a, b) for a, b in zip(frames_of(tmp_path / "streamed.mkv"), frames_of(tmp_path / "whole.mkv"),
                                                    strict=True))
