"""CelebA preparation end to end: layouts, splits, report, resume after a kill, sharding, workers, CLI."""
from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner

from data_fixtures import build_celeba, store_digest, write_lines
from stngan.data import FaceStore, StoreError
from stngan.data.cli import prepare
from stngan.data.prepare import prepare_celeba
from stngan.data.prepare.celeba import plan_celeba

SHARD = 4  # images per shard: 12 listed images -> 3 shards
RUN = {"images_per_shard": SHARD, "test_identities": 2, "progress": False}


@pytest.fixture(scope="module")
def celeba(tmp_path_factory):
    return build_celeba(tmp_path_factory.mktemp("celeba_crlf"), newline="\r\n")


@pytest.fixture(scope="module")
def whole(celeba, tmp_path_factory):
    """The store prepared in one run, and its report."""
    dst = tmp_path_factory.mktemp("whole") / "store"
    return dst, prepare_celeba(celeba.root, dst, **RUN)


def test_plan_same_for_crlf_and_lf(celeba, tmp_path):
    lf = build_celeba(tmp_path / "lf", newline="\n")
    for protocol in ("paper", "official"):
        a = plan_celeba(celeba.root, split_protocol=protocol, test_identities=2)
        b = plan_celeba(lf.root, split_protocol=protocol, test_identities=2)
        assert a.units == b.units and len(a.units) == 12


def test_paper_split_is_smallest_identities(celeba):
    units = plan_celeba(celeba.root, test_identities=2).units
    test = {u.path.split("/")[-1] for u in units if u.split == 2}
    assert test == {n for n, i in celeba.identities.items() if i in (1, 3)}
    assert {u.identity for u in units} == set(celeba.identities.values())


def test_official_split(celeba):
    units = plan_celeba(celeba.root, split_protocol="official").units
    assert {u.path.split("/")[-1]: ("train", "val", "test")[u.split] for u in units} == celeba.partition


def test_google_drive_layout(celeba, tmp_path):
    root = tmp_path / "CelebA"
    shutil.copytree(celeba.root / "img_align_celeba", root / "Img" / "img_align_celeba" / "img_align_celeba")
    for name, sub in (("identity_CelebA.txt", "Anno"), ("list_landmarks_align_celeba.txt", "Anno"),
                      ("list_eval_partition.txt", "Eval")):
        (root / sub).mkdir(exist_ok=True)
        shutil.copy(celeba.root / name, root / sub / name)
    def labels(plan):
        return [(u.path.split("/")[-1], u.split, u.identity, u.hint) for u in plan.units]

    plan = plan_celeba(root, split_protocol="official")
    assert plan.units[0].path == "Img/img_align_celeba/img_align_celeba/000001.jpg"
    assert labels(plan) == labels(plan_celeba(celeba.root, split_protocol="official"))


def test_missing_list_file_is_one_line_error(tmp_path):
    (tmp_path / "img_align_celeba").mkdir()
    with pytest.raises(FileNotFoundError, match="identity_CelebA.txt not found"):
        plan_celeba(tmp_path)
    with pytest.raises(FileNotFoundError, match="img_celeba/ not found"):
        plan_celeba(tmp_path, variant="wild")


def test_counts_and_report(celeba, whole):
    dst, result = whole
    r = result["report"]
    assert result["complete"]
    assert (r["units"], r["frames"], r["faces"], r["no_face"], r["several"]) == (12, 10, 9, 1, 1)
    unreadable = {u["path"].split("/")[-1]: u["reason"] for u in r["unreadable"]}
    assert set(unreadable) == {celeba.truncated, celeba.missing}
    assert "truncated" in unreadable[celeba.truncated] and "no such file" in unreadable[celeba.missing]
    store = FaceStore(dst)
    assert len(store) == 9
    expected_test = [n for n in celeba.faces if celeba.identities[n] in (1, 3)]
    assert store.counts == {"train": 9 - len(expected_test), "val": 0, "test": len(expected_test)}
    assert sorted(store.meta(int(i))["source"].split("/")[-1] for i in store.split_indices("test")) == expected_test
    m = store.meta(0)
    assert m["identity"] == celeba.identities[m["source"].split("/")[-1]] and m["video"] == -1
    lm = store.landmarks(0)
    assert store.crop(0).shape == (128, 128, 3) and lm.shape == (68, 2)
    assert 0 < lm.min() and lm.max() < 127  # a centred face, inside its padded crop


def test_hint_picks_the_annotated_face(celeba, whole, tmp_path):
    store = FaceStore(whole[0])
    two = [i for i in range(len(store)) if store.meta(i)["source"].endswith(celeba.two_faces)][0]
    assert store.meta(two)["transform"]["cx"] > 100  # the nose hint points at the smaller, right face
    result = prepare_celeba(celeba.root, tmp_path / "nohints", hints=False, **RUN)
    plain = FaceStore(result["store"])
    two = [i for i in range(len(plain)) if plain.meta(i)["source"].endswith(celeba.two_faces)][0]
    assert plain.meta(two)["transform"]["cx"] < 89  # without hints: the largest, left face


def test_resume_after_kill_equals_one_run(celeba, whole, tmp_path):
    dst = tmp_path / "store"
    first = prepare_celeba(celeba.root, dst, max_shards=1, **RUN)  # "killed" after one shard
    assert not first["complete"] and first["run"]["shards_prepared"] == 1
    with pytest.raises(StoreError, match="unfinished"):
        FaceStore(dst)
    assert len(FaceStore(dst, allow_partial=True)) > 0
    stale = dst / ".tmp-shard-00001-deadbeef0000"  # a shard killed half-written
    stale.mkdir()
    (stale / "crops.npy").write_bytes(b"partial")
    (dst / "shard-00002").mkdir()  # an empty shard directory (no meta.json) is not a finished shard
    again = prepare_celeba(celeba.root, dst, **RUN)
    assert again["run"] == {**again["run"], "shards_prepared": 2, "shards_skipped": 1}
    assert not stale.exists()
    assert store_digest(dst) == store_digest(whole[0])


def test_machine_shards_add_up_to_whole(celeba, whole, tmp_path):
    dst = tmp_path / "store"
    a = prepare_celeba(celeba.root, dst, shard=(0, 2), **RUN)
    assert not a["complete"] and a["run"]["shards_prepared"] == 2
    b = prepare_celeba(celeba.root, dst, shard=(1, 2), **RUN)
    assert b["complete"] and b["run"]["shards_prepared"] == 1
    assert store_digest(dst) == store_digest(whole[0])


def test_two_workers_equal_one(celeba, whole, tmp_path):
    result = prepare_celeba(celeba.root, tmp_path / "store", workers=2, **RUN)
    assert result["run"]["shards_prepared"] == 3
    assert store_digest(tmp_path / "store") == store_digest(whole[0])


def test_other_config_is_refused(celeba, whole):
    with pytest.raises(StoreError, match="another config"):
        prepare_celeba(celeba.root, whole[0], **{**RUN, "test_identities": 3})


def test_cli(celeba, tmp_path):
    out = tmp_path / "store"
    args = ["celeba", str(celeba.root), str(out), "--split-protocol", "official", "--images-per-shard", "6",
            "--no-progress", "--workers", "1"]
    res = CliRunner().invoke(prepare, args)
    assert res.exit_code == 0, res.output
    assert "9 faces kept" in res.output and "complete" in res.output and "unreadable: " in res.output
    assert FaceStore(out).counts["val"] > 0
    res = CliRunner().invoke(prepare, [*args[:3], "--shard", "2/2"])
    assert res.exit_code == 2 and "0 <= i < n" in res.output
    res = CliRunner().invoke(prepare, [*args, "--pad", "0.3"])
    assert res.exit_code == 1 and res.output.count("\n") == 1 and "another config" in res.output


@pytest.mark.slow
def test_sigkill_then_rerun_equals_one_run(celeba, tmp_path):
    """A real kill (SIGKILL, no cleanup) part-way through, then the same command again."""
    import os
    import signal
    import subprocess
    import sys
    import time

    run = {**RUN, "images_per_shard": 1}
    whole = prepare_celeba(celeba.root, tmp_path / "whole", **run)
    dst = tmp_path / "killed"
    code = (f"from stngan.data.prepare import prepare_celeba; "
            f"prepare_celeba({str(celeba.root)!r}, {str(dst)!r}, **{run!r})")
    proc = subprocess.Popen([sys.executable, "-c", code], start_new_session=True)
    deadline = time.monotonic() + 120
    while len(list(dst.glob("shard-*"))) < 3 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert len(list(dst.glob("shard-*"))) < 12, "finished before the kill; nothing was tested"
    again = prepare_celeba(celeba.root, dst, **run)
    assert again["complete"] and again["run"]["shards_skipped"] >= 3
    assert store_digest(dst) == store_digest(tmp_path / "whole") and whole["complete"]


def test_in_the_wild_variant_uses_bbox_hints(celeba, tmp_path):
    root = tmp_path / "wild"
    shutil.copytree(celeba.root / "img_align_celeba", root / "img_celeba")
    shutil.copy(celeba.root / "identity_CelebA.txt", root)
    rows = [f"{n}  {110 if n == celeba.two_faces else 40} 60 60 100" for n in celeba.names]
    write_lines(root / "list_bbox_celeba.txt", [str(len(rows)), "image_id x_1 y_1 width height", *rows], "\r\n")
    plan = plan_celeba(root, variant="wild")
    hints = {u.path.split("/")[-1]: u.hint for u in plan.units}
    assert plan.units[0].path.startswith("img_celeba/") and plan.options["hint_files"] == ["list_bbox_celeba.txt"]
    assert hints[celeba.two_faces] == (140.0, 110.0) and hints[celeba.names[0]] == (70.0, 110.0)
