"""Folder-of-images preparation: identities from sub-folders, splits, unreadable files, empty shards."""
from __future__ import annotations

import pytest

from data_fixtures import build_image_folder
from stngan.data import FaceStore, StoreError
from stngan.data.prepare import prepare_folder
from stngan.data.prepare.folder import plan_folder


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    root = tmp_path_factory.mktemp("faces")
    return root, build_image_folder(root)


def test_folder_store(folder, tmp_path):
    root, fx = folder
    result = prepare_folder(root, tmp_path / "store", images_per_shard=1, progress=False)  # some shards empty
    r = result["report"]
    assert sorted(u["path"] for u in r["unreadable"]) == fx["unreadable"]
    assert (r["units"], r["faces"], r["no_face"]) == (7, len(fx["faces"]), 1)
    store = FaceStore(tmp_path / "store")
    metas = [store.meta(i) for i in range(len(store))]
    assert [m["source"] for m in metas] == fx["faces"]
    assert {m["source"]: m["identity_name"] for m in metas} == {
        "loose.jpg": None, "person_a/1.jpg": "person_a", "person_a/2.png": "person_a", "person_b/1.jpg": "person_b"}
    assert all(store.crop(i).shape == (128, 128, 3) for i in range(len(store)))


def test_test_fraction_keeps_identities_together(folder):
    root, _ = folder
    for fraction in (0.3, 0.5, 0.7):
        units = plan_folder(root, test_fraction=fraction).units
        by_identity: dict[int, set[int]] = {}
        for u in units:
            if u.identity >= 0:
                by_identity.setdefault(u.identity, set()).add(u.split)
        assert all(len(s) == 1 for s in by_identity.values())
    assert {u.split for u in plan_folder(root, test_fraction=1.0).units} == {2}
    assert {u.split for u in plan_folder(root, split="val").units} == {1}


def test_bad_input_is_a_one_line_error(folder, tmp_path):
    root, _ = folder
    with pytest.raises(FileNotFoundError, match="image folder not found"):
        plan_folder(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(FileNotFoundError, match="no images"):
        plan_folder(tmp_path / "empty")
    with pytest.raises(ValueError, match="unknown split 'dev'"):
        plan_folder(root, split="dev")
    (tmp_path / "occupied").mkdir()
    (tmp_path / "occupied" / "thesis.pdf").write_text("x")
    with pytest.raises(StoreError, match="not empty and not a store"):
        prepare_folder(root, tmp_path / "occupied", progress=False)
    (tmp_path / "file").write_text("x")
    with pytest.raises(StoreError, match="is a file"):
        prepare_folder(root, tmp_path / "file", progress=False)
