"""Batch runs (stngan/batch): manifests, shards, the job file, the local worker pool, resuming, the CLI."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from batch_fakes import FakeWork, KillOnce
from click.testing import CliRunner

from stngan.batch.errors import BatchError
from stngan.batch.jobs import FORMAT, JobFile, comparable, load_records, write_records
from stngan.batch.manifest import list_inputs, parse_shard
from stngan.batch.runner import BatchOptions, run_batch, summary_lines


def corpus(root: Path) -> Path:
    """Five fake videos in two folders (one corrupt), a text file, and a sidecar that is no input."""
    src = root / "in"
    for rel, data in {"a/1.mp4": b"one", "a/2.mp4": b"two", "b/3.mp4": b"three", "b/c/4.mp4": b"four",
                      "bad.mp4": b"corrupt!", "notes.txt": b"hello"}.items():
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        (src / rel).write_bytes(data)
    (src / "a" / "1.mp4.stngan.json").write_text("{}")
    return src


def logged(log: Path) -> list[str]:
    return sorted(line.split()[0] for line in log.read_text().splitlines()) if log.exists() else []


def test_manifest_text_and_csv(tmp_path):
    src = corpus(tmp_path)
    assert list_inputs(src).rels == ["a/1.mp4", "a/2.mp4", "b/3.mp4", "b/c/4.mp4", "bad.mp4", "notes.txt"]
    text = tmp_path / "list.txt"
    text.write_text("# corpus\nin/a/1.mp4\n\n" + f"{src / 'b' / 'c' / '4.mp4'}\nin/missing.mp4\n")
    inputs = list_inputs(text)
    assert inputs.root == src and inputs.rels == ["a/1.mp4", "b/c/4.mp4", "missing.mp4"]
    table = tmp_path / "list.csv"
    table.write_text("id,path\n7,in/a/2.mp4\n8,in/b/3.mp4\n")
    assert list_inputs(table).rels == ["a/2.mp4", "b/3.mp4"]
    (tmp_path / "bad.csv").write_text("id,name\n7,x\n")
    with pytest.raises(BatchError, match="'path' column"):
        list_inputs(tmp_path / "bad.csv")


def test_shards_split_a_corpus_exactly(tmp_path):
    rels = [f"clip{i:04d}.mp4" for i in range(400)]
    shards = [parse_shard(f"{i}/4") for i in range(1, 5)]
    parts = [[r for r in rels if s.holds(r)] for s in shards]
    assert sorted(sum(parts, [])) == rels and all(60 < len(p) < 140 for p in parts)
    for bad in ("0/4", "5/4", "x", "1-4"):
        with pytest.raises(BatchError):
            parse_shard(bad)


def test_job_file_is_replaced_whole_and_read_back(tmp_path):
    path = tmp_path / "jobs.jsonl"
    jobs = JobFile(path, flush_seconds=3600)
    jobs.update({"input": "b", "status": "done", "duration_s": 1.0})
    assert not path.exists()  # throttled: nothing written before the flush
    jobs.update({"input": "a", "status": "failed", "duration_s": 2.0})
    jobs.flush()
    lines = path.read_text().splitlines()
    assert json.loads(lines[0]) == {"format": FORMAT} and [json.loads(x)["input"] for x in lines[1:]] == ["a", "b"]
    assert load_records(path)["a"]["status"] == "failed" and comparable(load_records(path)["b"]) == {
        "input": "b", "status": "done"}
    assert [p.name for p in tmp_path.iterdir()] == ["jobs.jsonl"]  # no temp file left
    path.write_text(path.read_text() + '{"input": "c", "sta')
    with pytest.raises(BatchError, match="jobs.jsonl:4"):
        load_records(path)
    write_records(path, [])
    path.write_text('{"format": "other/9"}\n')
    with pytest.raises(BatchError, match="format"):
        load_records(path)


def test_local_batch_mirrors_records_and_resumes(tmp_path):
    src, out, log = corpus(tmp_path), tmp_path / "out", tmp_path / "log"
    options = BatchOptions(jobs=2, progress=False)
    first = run_batch(FakeWork(log), src, out, options)
    assert first.counts == {"done_before": 0, "done": 4, "failed": 1, "skipped": 1}
    assert (out / "b" / "c" / "4.mp4").read_bytes() == b"fourv1" and not (out / "bad.mp4").exists()
    records = load_records(out / "stngan-jobs.jsonl")
    assert records["bad.mp4"]["error"] == "cannot decode (corrupt file)"
    assert records["notes.txt"]["status"] == "skipped"
    assert records["a/2.mp4"]["output"] == "a/2.mp4" and records["a/2.mp4"]["options"] == {"command": "fake", "tag": "v1"}
    assert records["a/2.mp4"]["frames"] == 3 and records["a/2.mp4"]["faces"] == 1
    lines = summary_lines(first)
    assert lines[1].split() == ["done", "now", "4"] and "failed: bad.mp4: cannot decode (corrupt file)" in lines

    options = BatchOptions(jobs=1, progress=False)  # one worker from here on: each start costs time
    again = run_batch(FakeWork(log), src, out, options)  # done files skipped, the failed one retried
    assert again.counts == {"done_before": 4, "failed": 1, "skipped": 1} and len(logged(log)) == 4

    (src / "bad.mp4").write_bytes(b"fixed")
    (out / "a" / "1.mp4").unlink()
    third = run_batch(FakeWork(log), src, out, options)
    assert third.counts == {"done_before": 3, "done": 2, "skipped": 1}
    assert logged(log) == ["a/1.mp4", "a/1.mp4", "a/2.mp4", "b/3.mp4", "b/c/4.mp4", "bad.mp4"]

    stale = run_batch(FakeWork(log, tag="v2"), src, out, options)  # other options: outputs exist, no --overwrite
    assert stale.counts["failed"] == 5 and "already exists" in stale.failures[0][1]
    redo = run_batch(FakeWork(log, tag="v2"), src, out, BatchOptions(jobs=1, overwrite=True, progress=False))
    assert redo.counts == {"done_before": 0, "done": 5, "skipped": 1}
    assert (out / "bad.mp4").read_bytes() == b"fixedv2"


def test_workers_split_the_cores_and_shards_keep_their_own_job_file(tmp_path, monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {0, 1, 2, 3})
    src, out, log = corpus(tmp_path), tmp_path / "out", tmp_path / "log"
    summary = run_batch(FakeWork(log), src, out, BatchOptions(jobs=2, shard=parse_shard("1/2"), progress=False))
    lines = log.read_text().splitlines()
    assert lines and all(line.split()[1:] == ["2", "2", "False"] for line in lines)  # 4 cores / 2 workers
    assert summary.job_file == out / "stngan-jobs.shard-1-of-2.jsonl"
    other = run_batch(FakeWork(log), src, out, BatchOptions(jobs=1, shard=parse_shard("2/2"), progress=False))
    both = set(load_records(summary.job_file)) | set(load_records(other.job_file))
    assert len(both) == 6 and not set(load_records(summary.job_file)) & set(load_records(other.job_file))


def test_a_killed_worker_costs_one_retry_and_leaves_no_partial_file(tmp_path):
    src, out, log, marker = corpus(tmp_path), tmp_path / "out", tmp_path / "log", tmp_path / "marker"
    work = KillOnce(FakeWork(log), "b/3.mp4", marker)
    summary = run_batch(work, src, out, BatchOptions(jobs=2, progress=False))
    assert summary.counts["done"] == 4 and len(marker.read_text().splitlines()) == 2
    assert logged(log) == ["a/1.mp4", "a/2.mp4", "b/3.mp4", "b/c/4.mp4"]  # each good file completed once
    assert sorted(p.name for p in (out / "b").iterdir()) == ["3.mp4", "c"]

    always = KillOnce(FakeWork(log, tag="v2"), "a/2.mp4", tmp_path / "marker2", always=True)
    out2 = tmp_path / "out2"
    summary = run_batch(always, src, out2, BatchOptions(jobs=1, retries=1, progress=False))
    assert summary.counts == {"done_before": 0, "done": 3, "failed": 2, "skipped": 1}
    assert ("a/2.mp4", "worker process died 2 times on this file (exit code -9)") in summary.failures
    assert sorted(p.name for p in (out2 / "a").iterdir()) == ["1.mp4"]


def test_a_worker_that_cannot_start_stops_the_batch_with_one_line(tmp_path):
    src, out = corpus(tmp_path), tmp_path / "out"
    with pytest.raises(BatchError) as error:
        run_batch(FakeWork(tmp_path / "log", tag="broken"), src, out, BatchOptions(jobs=2, progress=False))
    assert str(error.value) == "a worker could not start: no such model: /nowhere (a worker cannot start)"
    assert load_records(out / "stngan-jobs.jsonl") == {}


def test_limit_threads_sets_torch_opencv_and_openmp(monkeypatch):
    import cv2
    import torch

    from stngan.batch.work import limit_threads

    before = torch.get_num_threads(), cv2.getNumThreads()
    monkeypatch.setenv("OMP_NUM_THREADS", "9")
    try:
        limit_threads(1)
        assert (torch.get_num_threads(), cv2.getNumThreads()) == (1, 1)
        assert os.environ["OMP_NUM_THREADS"] == os.environ["MKL_NUM_THREADS"] == "1"
    finally:
        torch.set_num_threads(before[0])
        cv2.setNumThreads(before[1])


def test_cli_batch_options_need_a_folder_or_manifest(tmp_path):
    from stngan.cli import cli

    (tmp_path / "x.png").write_bytes(b"")
    result = CliRunner().invoke(cli, ["anonymize", str(tmp_path / "x.png"), "-o", str(tmp_path / "o.png"),
                                      "--jobs", "2"])
    assert result.exit_code == 2 and "folder or a manifest" in result.output
    result = CliRunner().invoke(cli, ["inpaint", str(tmp_path), "-o", str(tmp_path / "o"), "--jobs", "2",
                                      "--ray", "auto"])
    assert result.exit_code == 2 and "--jobs sets local worker processes" in result.output


def test_cli_manifest_anonymize_then_inpaint_the_output_folder(tmp_path):
    """Real works end to end: a manifest through `anonymize`, then its output folder through `inpaint`."""
    from clips import make_clip
    from helpers import tiny_checkpoint
    from PIL import Image

    from stngan.cli import cli

    src = tmp_path / "corpus"
    (src / "day1").mkdir(parents=True)
    frames = make_clip(src / "day1" / "clip.mp4", size=(128, 96), count=4)
    Image.fromarray(frames[0]).save(src / "day1" / "still.jpg")
    manifest = tmp_path / "list.csv"
    manifest.write_text("path,note\ncorpus/day1/clip.mp4,x\ncorpus/day1/still.jpg,y\n")
    masked, done = tmp_path / "masked", tmp_path / "done"
    result = CliRunner().invoke(cli, ["anonymize", str(manifest), "-o", str(masked), "--detector", "hog",
                                      "--lossless", "--review", str(tmp_path / "pages"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in (tmp_path / "pages").iterdir()) == ["clip.html", "still.html"]
    assert sorted(p.name for p in masked.iterdir()) == [
        "clip.mp4", "clip.mp4.stngan.json", "still.png", "still.png.stngan.json", "stngan-jobs.jsonl"]
    result = CliRunner().invoke(cli, ["inpaint", str(masked), "-o", str(done), "--jobs", "1", "--lossless",
                                      "--model", str(tiny_checkpoint(tmp_path)), "--quiet"])
    assert result.exit_code == 0, result.output
    records = load_records(done / "stngan-jobs.jsonl")
    assert sorted(records) == ["clip.mp4", "still.png"] and {r["status"] for r in records.values()} == {"done"}
    assert records["clip.mp4"]["frames"] == 4 and records["clip.mp4"]["options"]["command"] == "inpaint"
