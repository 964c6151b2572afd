"""`stngan study make`: input parsing, clip consistency checks, browser-playable transcodes, the manifest."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import pytest
from click.testing import CliRunner
from study_fixtures import METHODS, method_videos, shared_study, write_clip

from stngan.media import VideoReader, probe
from stngan.study import StudyError, StudyInputs, load_manifest, make_study
from stngan.study.cli import study as study_cli
from stngan.study.inputs import add_method_dir, add_spec, add_tokens
from stngan.study.store import VoteStore


def top_level_boxes(path: Path) -> list[str]:
    data, boxes, i = path.read_bytes(), [], 0
    while i < len(data):
        size, kind = struct.unpack(">I4s", data[i:i + 8])
        size = struct.unpack(">Q", data[i + 8:i + 16])[0] if size == 1 else size
        boxes.append(kind.decode())
        i += size
    return boxes


def test_study_videos_are_browser_playable_and_listed(tmp_path_factory):
    study_dir = shared_study(tmp_path_factory)
    manifest = load_manifest(study_dir)
    assert manifest.methods == METHODS and [c.name for c in manifest.clips] == ["clip0", "clip1"]
    assert manifest.clips_per_participant == 2
    for clip in manifest.clips:
        assert (clip.frame_count, clip.fps, clip.duration, clip.width, clip.height) == (50, "25", 2.0, 64, 64)
        for video in clip.videos.values():
            path = study_dir / video.file
            info = probe(path)["video"]
            assert (info["codec"], info["pix_fmt"], info["frame_count"], info["fps"]) == ("h264", "yuv420p", 50, 25.0)
            boxes = top_level_boxes(path)
            assert boxes.index("moov") < boxes.index("mdat"), boxes  # faststart
            assert video.bytes == path.stat().st_size
    ids = [v.id for c in manifest.clips for v in c.videos.values()]
    assert len(set(ids)) == 8 and not any(m.lower() in i for i in ids for m in METHODS)


def test_odd_size_is_padded_to_even_and_timeline_starts_at_zero(tmp_path):
    inputs = StudyInputs()
    for i, method in enumerate(["A", "B"]):
        inputs.add("odd", method, write_clip(tmp_path / f"{method}.mp4", (90, 90, 90), 10, size=(63, 47), speed=i + 1))
    manifest = make_study(tmp_path / "s", inputs, preset="ultrafast")
    clip = manifest.clips[0]
    assert (clip.width, clip.height, clip.frame_count) == (64, 48, 10)
    with VideoReader(tmp_path / "s" / clip.videos["A"].file) as reader:
        assert (reader.width, reader.height) == (64, 48)
        assert [round(f.time, 6) for f in reader] == [round(i / 25, 6) for i in range(10)]


def test_frame_count_mismatch_is_refused(tmp_path):
    inputs = StudyInputs()
    inputs.add("c", "SI", write_clip(tmp_path / "a.mp4", (10, 10, 10), 10))
    inputs.add("c", "STN", write_clip(tmp_path / "b.mp4", (10, 10, 10), 12))
    with pytest.raises(StudyError, match=r"clip 'c'.*frame count \(SI=10, STN=12\)"):
        make_study(tmp_path / "s", inputs, preset="ultrafast")
    assert not (tmp_path / "s" / "study.json").exists()


def test_fps_and_size_mismatch_are_refused(tmp_path):
    inputs = StudyInputs()
    inputs.add("c", "SI", write_clip(tmp_path / "a.mp4", (10, 10, 10), 10))
    inputs.add("c", "STN", write_clip(tmp_path / "b.mp4", (10, 10, 10), 10, fps=30))
    with pytest.raises(StudyError, match="frame rates"):
        make_study(tmp_path / "s", inputs)
    inputs.clips["c"]["STN"] = write_clip(tmp_path / "c.mp4", (10, 10, 10), 10, size=(32, 64))
    with pytest.raises(StudyError, match="widths"):
        make_study(tmp_path / "s", inputs)


def test_tokens_spec_and_method_dirs(tmp_path):
    videos = method_videos(tmp_path / "v", "clip7", frames=5)
    inputs = StudyInputs()
    add_tokens(inputs, ["clip7", *(f"{m}={p}" for m, p in videos.items())])
    assert inputs.methods == METHODS and inputs.clips["clip7"] == videos
    spec = tmp_path / "spec.yaml"
    spec.write_text("title: Most natural?\nmethods: [STN, SI]\n"
                    "clips:\n  x: {SI: v/clip7_SI.mp4, STN: v/clip7_STN.mp4}\n")
    from_spec = StudyInputs()
    assert add_spec(from_spec, spec) == {"title": "Most natural?"}
    assert from_spec.methods == ["STN", "SI"] and from_spec.clips["x"]["SI"] == tmp_path / "v" / "clip7_SI.mp4"
    for method in ("SI", "STN"):
        (tmp_path / method).mkdir()
        for clip in ("a", "b"):
            (tmp_path / method / f"{clip}.mp4").write_bytes(b"")
    from_dirs = StudyInputs()
    add_method_dir(from_dirs, f"SI={tmp_path / 'SI'}")
    add_method_dir(from_dirs, f"STN={tmp_path / 'STN'}")
    assert sorted(from_dirs.clips) == ["a", "b"] and from_dirs.checked().methods == ["SI", "STN"]


@pytest.mark.parametrize("tokens, message", [
    (["SI=a.mp4"], "before any clip"),
    (["c1", "c2", "SI=a.mp4"], "'c1' is followed by no METHOD=VIDEO"),
    (["c1", "SI=a.mp4", "SI=b.mp4"], "lists method 'SI' twice"),
    (["../c", "SI=a.mp4"], "invalid clip name"),
    (["c", "S/I=a.mp4"], "invalid method name"),
    (["c", "SI="], "expected METHOD=VIDEO"),
])
def test_bad_tokens(tokens, message):
    with pytest.raises(StudyError, match=message):
        add_tokens(StudyInputs(), tokens)


def test_incomplete_inputs_are_refused(tmp_path):
    inputs = StudyInputs()
    add_tokens(inputs, ["c1", f"SI={tmp_path}/x.mp4", f"STN={tmp_path}/y.mp4", "c2", f"SI={tmp_path}/z.mp4"])
    with pytest.raises(StudyError, match="clip 'c2' has no video for method\\(s\\) STN"):
        inputs.checked()
    one = StudyInputs()
    one.add("c", "SI", tmp_path / "x.mp4")
    with pytest.raises(StudyError, match="at least 2 methods"):
        one.checked()


def test_cli_make_then_rebuild_rules(tmp_path):
    videos = method_videos(tmp_path / "v", "c", frames=5)
    out = tmp_path / "study"
    args = ["make", str(out), "c", *(f"{m}={p}" for m, p in videos.items()), "--preset", "ultrafast"]
    result = CliRunner().invoke(study_cli, args)
    assert result.exit_code == 0, result.output
    assert "1 clips x 4 methods" in result.output
    again = CliRunner().invoke(study_cli, args)
    assert again.exit_code == 1 and "already holds a study; pass --force" in again.output
    assert CliRunner().invoke(study_cli, [*args, "--force"]).exit_code == 0
    manifest = load_manifest(out)
    store = VoteStore(out / "votes.sqlite", manifest.study_id)
    session = store.create_session([("c", METHODS)])
    store.record_vote(session, store.trials(session)[0].id, 0)
    store.close()
    refused = CliRunner().invoke(study_cli, [*args, "--force"])
    assert refused.exit_code == 1 and "already has 1 votes" in refused.output
    bad = CliRunner().invoke(study_cli, ["make", str(tmp_path / "s2"), "c", "SI=/nonexistent.mp4", "STN=/n2.mp4"])
    assert bad.exit_code == 1 and bad.output.startswith("Error: /nonexistent.mp4: no such file")
    too_many = CliRunner().invoke(study_cli, [*args[:-2], "--clips-per-participant", "3"])
    assert "must be in 1..1" in too_many.output


def test_manifest_errors_are_one_line(tmp_path):
    with pytest.raises(StudyError, match="no study manifest here"):
        load_manifest(tmp_path)
    (tmp_path / "study.json").write_text("{not json")
    with pytest.raises(StudyError, match="malformed study manifest"):
        load_manifest(tmp_path)
    (tmp_path / "study.json").write_text(json.dumps({"study_id": "x", "title": "t", "methods": ["A"], "clips": [],
                                                      "clips_per_participant": 1}))
    with pytest.raises(StudyError, match="at least 2 distinct methods"):
        load_manifest(tmp_path)
