"""The batch on a local Ray instance (2 CPUs) against the local worker pool: same records, same outputs, and a
worker killed mid-run costs a retry, not a file."""
from __future__ import annotations

import builtins
import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest
from batch_fakes import KillOnce
from click.testing import CliRunner
from clips import make_clip
from helpers import frames_of

from stngan.batch.jobs import comparable, load_records
from stngan.batch.ray_runner import kept_process_state
from stngan.batch.runner import BatchOptions, run_batch
from stngan.batch.work import AnonymizeWork
from stngan.inference.app import VideoOptions
from stngan.inference.frames import AnonymizeOptions

if importlib.util.find_spec("ray") is None:  # imported inside the fixture: its import changes the process too
    pytest.skip("Ray is not installed (pip install 'stngan[ray]')", allow_module_level=True)
GOOD = ["c1.mp4", "c2.mp4", "sub/c3.mp4", "sub/c4.mp4"]


@pytest.fixture(scope="module")
def local_ray():
    """Ray with 2 CPUs; its workers import the test's works from tests/ (PYTHONPATH is inherited)."""
    with kept_process_state():  # Ray changes print, excepthook, signals, env: the later tests must not see it
        import ray

        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(Path(__file__).parent),
                                                                 os.environ.get("PYTHONPATH")]))
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
        try:
            yield
        finally:
            ray.shutdown()


def clips(root: Path) -> Path:
    src = root / "in"
    for i, rel in enumerate(GOOD):
        (src / rel).parent.mkdir(parents=True, exist_ok=True)
        make_clip(src / rel, size=(128, 96), count=4 + i)
    (src / "sub" / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(300))  # corrupt
    return src


def test_ray_batch_equals_the_local_run_and_survives_a_killed_worker(local_ray, tmp_path):
    src, print_before_runs = clips(tmp_path), builtins.print
    work = AnonymizeWork(AnonymizeOptions(detector="hog"), VideoOptions("lossless"))
    local = run_batch(work, src, tmp_path / "local", BatchOptions(jobs=2, progress=False))
    marker = tmp_path / "marker"
    on_ray = run_batch(KillOnce(work, "sub/c3.mp4", marker), src, tmp_path / "ray",
                       BatchOptions(ray="auto", threads=1, progress=False))

    assert len(marker.read_text().splitlines()) == 2  # killed once, retried once
    assert sorted(marker.with_suffix(".done").read_text().split()) == GOOD  # every good file done exactly once
    assert local.counts == on_ray.counts == {"done_before": 0, "done": 4, "failed": 1}
    assert on_ray.failures == local.failures and on_ray.failures[0][0] == "sub/broken.mp4"
    assert "not a readable media file" in on_ray.failures[0][1]
    records = [load_records(tmp_path / name / "stngan-jobs.jsonl") for name in ("local", "ray")]
    assert {k: comparable(r) for k, r in records[0].items()} == {k: comparable(r) for k, r in records[1].items()}
    for rel in GOOD:
        a, b = tmp_path / "local" / rel, tmp_path / "ray" / rel
        assert all(np.array_equal(x, y) for x, y in zip(frames_of(a), frames_of(b), strict=True))
        sidecars = [json.loads(Path(f"{p}.stngan.json").read_text()) for p in (a, b)]
        assert sidecars[0] == sidecars[1]
    assert not list((tmp_path / "ray").rglob("*.partial"))  # the killed attempt's temp file is gone
    assert builtins.print is print_before_runs

    from stngan.cli import cli

    again = CliRunner().invoke(cli, ["anonymize", str(src), "-o", str(tmp_path / "ray"), "--detector", "hog",
                                     "--lossless", "--ray", "auto", "--threads", "1", "--quiet"])
    assert again.exit_code == 1, again.output  # the corrupt file fails again; the others are not redone
    assert ["done", "before", "4"] in [line.split() for line in again.output.splitlines()]
    assert "failed: sub/broken.mp4: cannot open" in again.output
