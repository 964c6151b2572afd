"""`stngan anonymize` / `stngan inpaint` end to end on real-face clips and images."""
from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from skimage import data as skdata

from stngan import config
from stngan.cli import cli
from stngan.faces.image_io import load_image, save_png_atomic
from stngan.inference.frames import mask_union
from stngan.inference.sidecar import Sidecar, sidecar_path_for
from stngan.media import VideoReader
from stngan.models.build import build_generator
from clips import audio_packets, make_clip, video_timestamps
from helpers import astronaut_frames, frames_of, tiny_checkpoint

FILL = (255, 0, 255)  # a colour absent from the astronaut's face, so any surviving original pixel shows


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> tuple[Path, list[np.ndarray]]:
    path = tmp_path_factory.mktemp("clip") / "face.mkv"
    frames = make_clip(path, astronaut_frames(8, no_face_at=(5,)), codec="ffv1", audio="aac")
    return path, frames


@pytest.fixture(scope="module")
def anonymized(clip, tmp_path_factory):
    src, frames = clip
    out = tmp_path_factory.mktemp("anon") / "masked.mkv"
    result = run("anonymize", str(src), "-o", str(out), "--lossless", "--fill", ",".join(map(str, FILL)), "--quiet")
    assert result.exit_code == 0, result.output
    return out, frames


def test_anonymize_masks_every_face_pixel_and_nothing_else(anonymized):
    out, originals = anonymized
    sidecar = Sidecar.load(sidecar_path_for(out))
    faces = sidecar.faces_by_frame()
    masked = frames_of(out)
    assert len(masked) == len(originals)
    assert set(faces) == {0, 1, 2, 3, 4, 6, 7}  # frame 5 has no face
    for i, (orig, anon) in enumerate(zip(originals, masked)):
        m = mask_union(faces.get(i, []), orig.shape[:2]).astype(bool)
        assert (anon[m] == FILL).all(), f"frame {i}: an original pixel survived under the mask"
        assert np.array_equal(anon[~m], orig[~m]), f"frame {i}: background changed"
    # frame 5 shows another place (a shot cut on each side): no mask is held into it, and tracks end there
    assert {f.track for fs in faces.values() for f in fs} == {0, 1}
    assert sidecar.stats["cuts"] == 2


def test_inpaint_keeps_background_audio_and_timing(anonymized, tmp_path):
    src, _ = anonymized
    out = tmp_path / "inpainted.mkv"
    result = run("inpaint", str(src), "-o", str(out), "--model", str(tiny_checkpoint(tmp_path)), "--lossless", "--quiet")
    assert result.exit_code == 0, result.output
    faces = Sidecar.load(sidecar_path_for(src)).faces_by_frame()
    masked, painted = frames_of(src), frames_of(out)
    for i, (a, b) in enumerate(zip(masked, painted)):
        m = mask_union(faces.get(i, []), a.shape[:2]).astype(bool)
        assert np.array_equal(a[~m], b[~m]), f"frame {i}: pixels outside the masks changed"
        assert not (b[m] == FILL).all(axis=-1).any(), f"frame {i}: a masked pixel was left unpainted"
    assert np.array_equal(masked[5], painted[5])  # the no-face frame passes through unchanged
    assert video_timestamps(out) == video_timestamps(src)
    assert audio_packets(out) == audio_packets(src)


def test_lossy_output_of_an_odd_sized_clip_can_be_inpainted(tmp_path):
    src = tmp_path / "odd.mkv"
    make_clip(src, [np.ascontiguousarray(f[:199, :255]) for f in astronaut_frames(3)], codec="ffv1")
    masked, painted = tmp_path / "masked.mp4", tmp_path / "painted.mp4"
    assert run("anonymize", str(src), "-o", str(masked), "--quiet").exit_code == 0
    result = run("inpaint", str(masked), "-o", str(painted), "--model", str(tiny_checkpoint(tmp_path)), "--quiet")
    assert result.exit_code == 0, result.output
    assert len(frames_of(painted)) == 3


def test_two_faces_get_two_tracks(tmp_path):
    face = skdata.astronaut()[40:240, 120:320]
    frames = [np.ascontiguousarray(np.concatenate([np.roll(face, i, 1), np.roll(face, -i, 1)], axis=1))
              for i in range(3)]
    src = tmp_path / "two.mkv"
    make_clip(src, frames, codec="ffv1")
    out = tmp_path / "two_masked.mkv"
    assert run("anonymize", str(src), "-o", str(out), "--lossless", "--quiet").exit_code == 0
    faces = Sidecar.load(sidecar_path_for(out)).faces_by_frame()
    assert all(len(faces[i]) == 2 for i in range(3))
    assert {f.track for fs in faces.values() for f in fs} == {0, 1}


def test_image_round_trip_and_sidecar(tmp_path):
    src = tmp_path / "astro.png"
    save_png_atomic(src, skdata.astronaut())
    masked, painted = tmp_path / "m.png", tmp_path / "p.png"
    assert run("anonymize", str(src), "-o", str(masked)).exit_code == 0
    sidecar = Sidecar.load(sidecar_path_for(masked))
    assert sidecar.source["width"] == 512 and len(sidecar.frames[0].faces) == 1
    face = sidecar.frames[0].faces[0]
    assert face.landmarks.shape == (68, 2) and len(face.mask.circles) == 4
    copy = sidecar.save(tmp_path / "copy.json")
    assert Sidecar.load(copy).to_dict() == sidecar.to_dict()
    ckpt = tiny_checkpoint(tmp_path)
    assert run("inpaint", str(masked), "-o", str(painted), "--model", str(ckpt)).exit_code == 0
    a, b = load_image(masked), load_image(painted)
    m = mask_union(sidecar.frames[0].faces, a.shape[:2]).astype(bool)
    assert np.array_equal(a[~m], b[~m]) and not np.array_equal(a[m], b[m])


def test_landmark_control_changes_the_output(tmp_path):
    src = tmp_path / "astro.png"
    save_png_atomic(src, skdata.astronaut())
    masked = tmp_path / "m.png"
    assert run("anonymize", str(src), "-o", str(masked)).exit_code == 0
    ckpt = tiny_checkpoint(tmp_path)
    outs = {}
    variants = {"plain": [], "perturbed": ["--perturb", "4", "--seed", "1"],
                "switched": ["--landmarks-from", str(Path(__file__).parent / "data" / "nba_adama_sanogo.png")]}
    for name, extra in variants.items():
        out = tmp_path / f"{name}.png"
        assert run("inpaint", str(masked), "-o", str(out), "--model", str(ckpt), *extra).exit_code == 0
        outs[name] = load_image(out).astype(int)
    assert np.abs(outs["plain"] - outs["perturbed"]).mean() > 0
    assert np.abs(outs["plain"] - outs["switched"]).mean() > 0


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "stngan", *args], capture_output=True, text=True)


def test_bad_inputs_give_one_line_and_no_output(anonymized, tmp_path):
    src, _ = anonymized
    ckpt = tiny_checkpoint(tmp_path)
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(np.random.default_rng(0).bytes(5000))
    truncated = tmp_path / "truncated.mkv"
    truncated.write_bytes(src.read_bytes()[: src.stat().st_size // 2])
    other = tmp_path / "other.mkv"
    make_clip(other, astronaut_frames(4), codec="ffv1")
    pconv = tiny_checkpoint(tmp_path, "model.kind=partialconv", "model.landmarks=false")
    cases = {
        "corrupt": (["anonymize", str(corrupt)], "corrupt"),
        "truncated": (["anonymize", str(truncated)], "truncated"),
        "no sidecar": (["inpaint", str(other), "--model", str(ckpt)], "no sidecar"),
        "sidecar mismatch": (["inpaint", str(other), "--model", str(ckpt), "--sidecar", str(sidecar_path_for(src))],
                             "sidecar is for"),
        "wrong checkpoint": (["inpaint", str(src), "--model", str(pconv)], "partialconv"),
        "not a checkpoint": (["inpaint", str(src), "--model", str(tmp_path)], "no stngan checkpoint"),
        "no such model": (["inpaint", str(src), "--model", str(tmp_path / "nope")], "model not found"),
    }
    for name, (args, words) in cases.items():
        out = tmp_path / f"out-{name.replace(' ', '_')}.mkv"
        proc = _cli(*args, "-o", str(out), "--quiet")
        if proc.returncode == 1 and not proc.stderr.strip():
            # Known flake (session 5, 2 of 3 full-suite runs, never alone in 60+ tries): the truncated case once
            # exited 1 with nothing on stderr. Retried once so the check still fails if the message is really
            # missing; the cause is open (notes of issue 16). The warning puts stdout in the CI log.
            warnings.warn(f"flake seen again ({name}): exit {proc.returncode}, stdout {proc.stdout[-500:]!r}")
            proc = _cli(*args, "-o", str(out), "--quiet")
        assert proc.returncode != 0, name
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], (name, proc.returncode, proc.stderr)
        assert not out.exists() and not list(tmp_path.glob(f".*{out.name}*")), name


def test_stn_checkpoint_inpaints_a_video_and_keeps_the_background(anonymized, tmp_path):
    # per-track streaming itself: tests/test_inference_inpainter.py
    src, _ = anonymized
    ckpt = tiny_checkpoint(tmp_path, "model.kind=stn")
    out = tmp_path / "stn.mkv"
    result = run("inpaint", str(src), "-o", str(out), "--model", str(ckpt), "--lossless", "--quiet")
    assert result.exit_code == 0, result.output
    faces = Sidecar.load(sidecar_path_for(src)).faces_by_frame()
    for i, (a, b) in enumerate(zip(frames_of(src), frames_of(out))):
        m = mask_union(faces.get(i, []), a.shape[:2]).astype(bool)
        assert np.array_equal(a[~m], b[~m])


@pytest.mark.parametrize("kind", ["si", "stn"])
def test_batching_frames_changes_nothing(anonymized, tmp_path, kind):
    """Faces of several frames in one model call (the GPU path) give the frame-by-frame result."""
    src, _ = anonymized
    ckpt = tiny_checkpoint(tmp_path, f"model.kind={kind}")
    outs = {}
    for n in (1, 3):
        outs[n] = tmp_path / f"batch{n}.mkv"
        result = run("inpaint", str(src), "-o", str(outs[n]), "--model", str(ckpt), "--lossless", "--quiet",
                     "--batch-frames", str(n))
        assert result.exit_code == 0, result.output
    one, three = frames_of(outs[1]), frames_of(outs[3])
    assert len(one) == len(three) == 8
    for a, b in zip(one, three):  # batched convolutions may round a value differently: at most 1 level
        assert np.abs(a.astype(int) - b.astype(int)).max() <= 1
    assert not all(np.array_equal(a, b) for a, b in zip(one, frames_of(src)))  # it did inpaint


def test_inpainter_splits_many_faces_into_bounded_calls(tmp_path):
    from stngan.inference.crops import CropInput
    from stngan.inference.inpainter import Inpainter

    g = torch.Generator().manual_seed(0)
    mask = (torch.rand(1, 64, 64, generator=g) > 0.7).float()
    items = [CropInput(i, None, torch.rand(3, 64, 64, generator=g) * 2 - 1, mask,
                       torch.rand(5, 64, 64, generator=g), np.zeros((1, 1), np.uint8), np.zeros((68, 2))) for i in range(5)]
    ckpt = tiny_checkpoint(tmp_path)
    whole = Inpainter(ckpt, max_batch=32).inpaint(items)
    split = Inpainter(ckpt, max_batch=2).inpaint(items)
    assert whole.shape == split.shape == (5, 3, 64, 64)
    torch.testing.assert_close(split, whole, atol=1e-5, rtol=0)
    assert not torch.allclose(whole[0], whole[1])  # distinct inputs, distinct outputs: order is kept
