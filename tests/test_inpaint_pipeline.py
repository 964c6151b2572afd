"""BatchedInpaint runs G for the next batch on a worker thread while the frame work of the last one goes
on: the frames must come out in order and equal to the same batches done one after the other, for SI and
streaming STN."""
from __future__ import annotations

import numpy as np
import pytest

from stngan.inference.app import BatchedInpaint
from stngan.inference.frames import AnonymizeOptions, Anonymizer, FrameInpainter
from stngan.inference.inpainter import Inpainter
from stngan.inference.sidecar import Sidecar
from helpers import astronaut_frames, tiny_checkpoint


@pytest.fixture(scope="module")
def masked_clip():
    frames = astronaut_frames(7, no_face_at=(3,))
    anonymizer = Anonymizer(AnonymizeOptions())
    masked, records = zip(*(anonymizer.process(f, i) for i, f in enumerate(frames)))
    return list(masked), Sidecar({"name": "clip", "kind": "video", "frame_count": len(frames)}, {}, list(records))


def run_batched(worker: FrameInpainter, frames: list[np.ndarray], batch_frames: int) -> list[tuple[int, np.ndarray]]:
    """Every frame through BatchedInpaint, as the video commands do; (index, output) in emitted order."""
    got: list[tuple[int, np.ndarray]] = []
    batched = BatchedInpaint(worker, batch_frames, lambda meta, out: got.append((meta, out)))
    try:
        for i, f in enumerate(frames):
            batched.push(f, i, i)
        batched.flush()
    finally:
        batched.close()
    return got


@pytest.mark.parametrize("kind", ["si", "stn"])
@pytest.mark.parametrize("batch_frames", [1, 3])
def test_overlapped_stages_give_the_serial_result_in_order(tmp_path, masked_clip, kind, batch_frames):
    masked, sidecar = masked_clip
    ckpt = tiny_checkpoint(tmp_path, *(["model.kind=stn"] if kind == "stn" else []))
    serial_worker = FrameInpainter(Inpainter(ckpt, runtime="torch"), sidecar)
    numbered = list(zip(masked, range(len(masked))))
    serial = [out for k in range(0, len(masked), batch_frames)
              for out in serial_worker.process_batch(numbered[k:k + batch_frames])]  # the same model calls

    worker = FrameInpainter(Inpainter(ckpt, runtime="torch"), sidecar)
    got = run_batched(worker, masked, batch_frames)
    assert [meta for meta, _ in got] == list(range(len(masked)))
    for (i, out), expected in zip(got, serial):
        np.testing.assert_array_equal(out, expected, err_msg=f"frame {i}")
    assert worker.faces_done == serial_worker.faces_done == sum(len(r.faces) for r in sidecar.frames)
    assert any(not np.array_equal(out, m) for (_, out), m in zip(got, masked)), "something was inpainted"


def test_an_error_in_the_model_stage_reaches_the_caller(tmp_path, masked_clip, monkeypatch):
    masked, sidecar = masked_clip
    worker = FrameInpainter(Inpainter(tiny_checkpoint(tmp_path), runtime="torch"), sidecar)

    def broken(items):
        raise RuntimeError("G failed")

    monkeypatch.setattr(worker.inpainter, "inpaint", broken)
    with pytest.raises(RuntimeError, match="G failed"):
        run_batched(worker, masked, 1)


def test_ctrl_c_in_the_one_pass_leaves_no_output_and_no_thread(tmp_path, monkeypatch):
    import threading

    from stngan.inference import app
    from stngan.inference.control import LandmarkControl
    from clips import make_clip

    src = tmp_path / "in.mkv"
    make_clip(src, astronaut_frames(8), codec="ffv1")
    original = FrameInpainter.finish

    def interrupted(self, frames, inferred):
        if any(index == 3 for _, index in frames):
            raise KeyboardInterrupt
        return original(self, frames, inferred)

    monkeypatch.setattr(FrameInpainter, "finish", interrupted)
    then = app.InpaintAfter(Inpainter(tiny_checkpoint(tmp_path), runtime="torch"), LandmarkControl(),
                            masked=tmp_path / "masked.mkv")
    with pytest.raises(KeyboardInterrupt):
        app.anonymize_video(src, tmp_path / "out.mkv", AnonymizeOptions(), app.VideoOptions("lossless"), False,
                            then=then)
    assert sorted(p.name for p in tmp_path.iterdir() if p.is_file()) == ["in.mkv"]
    assert not [t for t in threading.enumerate() if t.name.startswith("stngan-model")]
