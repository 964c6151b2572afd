import hashlib

import pytest

from stngan import weights
from stngan.weights import MissingWeightsError


def test_missing_file_message_names_file_paths_and_url(weights_dir):
    with pytest.raises(MissingWeightsError) as e:
        weights.require("vgg16")
    msg = str(e.value)
    assert "vgg16-397923af.pth" in msg
    assert str(weights_dir / "vgg16-397923af.pth") in msg
    assert str(weights_dir.parent / "torch" / "hub" / "checkpoints" / "vgg16-397923af.pth") in msg
    assert "https://download.pytorch.org/models/vgg16-397923af.pth" in msg


def test_found_in_project_dir_then_torch_hub(weights_dir):
    hub = weights_dir.parent / "torch" / "hub" / "checkpoints"
    hub.mkdir(parents=True)
    (hub / "weights-inception-2015-12-05-6726825d.pth").write_bytes(b"x")
    assert weights.require("inception_fid") == hub / "weights-inception-2015-12-05-6726825d.pth"
    own = weights_dir
    (own / "pt_inception-2015-12-05-6726825d.pth").write_bytes(b"y")
    assert weights.require("inception_fid") == own / "pt_inception-2015-12-05-6726825d.pth"


def test_dlib_models_ship_with_the_package(weights_dir):
    for key in ("dlib_landmarks68", "dlib_cnn_detector", "dlib_face_recognition", "dlib_landmarks5"):
        assert weights.require(key).stat().st_size > 1000


def test_fetch_offline_fails_clearly_and_leaves_nothing(weights_dir, monkeypatch):
    def refuse(*args, **kwargs):
        raise OSError("Name or service not known")

    monkeypatch.setattr(weights.urllib.request, "urlopen", refuse)
    with pytest.raises(MissingWeightsError) as e:
        weights.fetch("vgg16", timeout=1)
    assert "copy it to" in str(e.value) and "vgg16-397923af.pth" in str(e.value)
    assert not any((weights_dir).iterdir())


def test_fetch_rejects_bad_checksum(weights_dir, monkeypatch):
    import io

    payload = b"not the real weights"
    assert not hashlib.sha256(payload).hexdigest().startswith("397923af")
    monkeypatch.setattr(weights.urllib.request, "urlopen", lambda url, timeout: io.BytesIO(payload))
    with pytest.raises(MissingWeightsError, match="checksum mismatch"):
        weights.fetch("vgg16")
    assert weights.find("vgg16") is None
    assert not any((weights_dir).iterdir())


def test_unknown_key():
    with pytest.raises(KeyError, match="known: dlib_landmarks68"):
        weights.entry("resnet")
