import hashlib

import pytest

from stngan import weights
from stngan.weights import MissingWeightsError


@pytest.fixture
def empty_weight_dirs(tmp_path, monkeypatch):
    monkeypatch.setenv("STNGAN_WEIGHTS", str(tmp_path / "w"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path


def test_missing_file_message_names_file_paths_and_url(empty_weight_dirs):
    with pytest.raises(MissingWeightsError) as e:
        weights.require("vgg16")
    msg = str(e.value)
    assert "vgg16-397923af.pth" in msg
    assert str(empty_weight_dirs / "w" / "vgg16-397923af.pth") in msg
    assert str(empty_weight_dirs / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth") in msg
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in msg


def test_found_in_project_dir_then_torch_hub(empty_weight_dirs):
    hub = empty_weight_dirs / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "weights-inception-2015-12-05-6726825d.pth").write_bytes(b"x")
    assert weights.require("inception_fid") == hub / "weights-inception-2015-12-05-6726825d.pth"
    own = empty_weight_dirs / "w"
    own.mkdir()
    (own / "pt_inception-2015-12-05-6726825d.pth").write_bytes(b"y")
    assert weights.require("inception_fid") == own / "pt_inception-2015-12-05-6726825d.pth"


def test_dlib_models_ship_with_the_package(empty_weight_dirs):
    for key in ("dlib_landmarks68", "dlib_cnn_detector", "dlib_face_recognition", "dlib_landmarks5"):
        assert weights.require(key).stat().st_size > 1000


def test_fetch_offline_fails_clearly_and_leaves_nothing(empty_weight_dirs, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(weights.urllib.request, "urlopen", refuse)
    with pytest.raises(MissingWeightsError) as e:
        weights.fetch("vgg16", timeout=1)
    assert "copy it to" in str(e.value) and "vgg16-397923af.pth" in str(e.value)
    assert not any((empty_weight_dirs / "w").iterdir())


def test_fetch_rejects_bad_checksum(empty_weight_dirs, monkeypatch):
    import io

    payload = b"not the real weights"
    assert not hashlib.sha256(payload).hexdigest().startswith("397923af")
    monkeypatch.setattr(weights.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    with pytest.raises(MissingWeightsError, match="checksum mismatch"):
        weights.fetch("vgg16")
    assert weights.find("vgg16") is None
    assert not any((empty_weight_dirs / "w").iterdir())


def test_unknown_key():
    with pytest.raises(KeyError, match="known: dlib_landmarks68"):
        weights.entry("resnet")
