"""Metric networks load strictly from local files (made here, random weights created on purpose) or fail clearly."""
from __future__ import annotations

import os
import pickle

import numpy as np
import pytest
import torch

from stngan.metrics.inception import FIDInception, load_fid_inception
from stngan.metrics.lpips import LPIPS, find_lpips_files, load_lpips, require_lpips_files
from stngan.metrics.vggface2 import VGGFace2Embedder, build_vggface2_resnet50
from stngan.weights import MissingWeightsError

INCEPTION_FILE = "pt_inception-2015-12-05-6726825d.pth"


def _randomised(module: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Explicitly random weights (and BN statistics) for a loading test."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, t in module.state_dict().items():
            if t.is_floating_point():
                t.copy_(torch.rand(t.shape, generator=g) * 0.2 + (0.5 if "running_var" in name else -0.1))
    return module.eval()


def test_inception_missing_is_a_clear_error(weights_dir):
    with pytest.raises(MissingWeightsError, match="pt_inception-2015-12-05-6726825d.pth.*stngan weights fetch"):
        load_fid_inception()


@pytest.mark.slow
def test_inception_loads_the_standard_file_layout(weights_dir):
    net = _randomised(FIDInception(), 0)
    torch.save(net.net.state_dict(), weights_dir / INCEPTION_FILE)
    keys = set(net.net.state_dict())
    assert "Mixed_7c.branch_pool.conv.weight" in keys and "fc.weight" in keys and not any("AuxLogits" in k for k in keys)
    loaded = load_fid_inception()
    x = torch.rand(2, 3, 128, 128, generator=torch.Generator().manual_seed(1))
    f = loaded(x)
    assert f.shape == (2, 2048)
    torch.testing.assert_close(f, net(x))


def test_inception_rejects_a_wrong_file(tmp_path):
    bad = tmp_path / INCEPTION_FILE
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    with pytest.raises(ValueError, match="does not fit"):
        load_fid_inception(bad)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(ValueError, match="not a readable weight file"):
        load_fid_inception(tmp_path / "junk.pth")


def test_lpips_absent_then_found(weights_dir):
    assert find_lpips_files() is None
    with pytest.raises(MissingWeightsError, match="alexnet-owt-7be5be79.pth"):
        require_lpips_files()
    ref = _randomised(LPIPS(), 2)
    torch.save({f"features.{k}": v for k, v in ref.features.state_dict().items()} | {"classifier.1.weight": torch.zeros(2)},
               weights_dir / "alexnet-owt-7be5be79.pth")
    torch.save({f"lin{k}.model.1.weight": lin.weight.abs() for k, lin in enumerate(ref.lins)}, weights_dir / "alex.pth")
    backbone, linear = require_lpips_files()
    model = load_lpips(backbone, linear)
    g = torch.Generator().manual_seed(3)
    x, y = torch.rand(2, 3, 64, 64, generator=g), torch.rand(2, 3, 64, 64, generator=g)
    assert model(x, x).abs().max() < 1e-6
    d = model(x, y)
    assert (d > 0).all()
    torch.testing.assert_close(d, model(y, x))


def _reference_resnet_features(net: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    """The Caffe-layout forward written out: stride on each first 1x1 conv, ceil-mode pool, 7x7 average."""
    h = torch.nn.functional.max_pool2d(net.relu(net.bn1(net.conv1(x))), 3, 2, ceil_mode=True)
    for layer in (net.layer1, net.layer2, net.layer3, net.layer4):
        h = layer(h)
    return torch.nn.functional.avg_pool2d(h, 7).flatten(1)


@pytest.mark.slow
def test_vggface2_pickle_and_pth_load_the_same(tmp_path):
    net = _randomised(build_vggface2_resnet50(), 4)
    assert net.layer2[0].conv1.stride == (2, 2) and net.layer2[0].conv2.stride == (1, 1)
    arrays = {k: v.numpy() for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    arrays["fc.weight"] = np.zeros((8631, 2048), np.float32)  # the converted file carries the classifier
    with open(tmp_path / "resnet50_ft_weight.pkl", "wb") as f:
        pickle.dump(arrays, f, protocol=2)
    torch.save(net.state_dict(), tmp_path / "vggface2.pth")
    crops = np.random.default_rng(5).integers(0, 256, (2, 128, 128, 3), dtype=np.uint8)
    a = VGGFace2Embedder(tmp_path / "resnet50_ft_weight.pkl").embed(crops)
    b = VGGFace2Embedder(tmp_path / "vggface2.pth").embed(crops)
    assert a.shape == (2, 2048)
    np.testing.assert_allclose(np.linalg.norm(a, axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    emb = VGGFace2Embedder(tmp_path / "vggface2.pth")
    with torch.no_grad():
        ref = torch.nn.functional.normalize(_reference_resnet_features(net, emb._preprocess(crops)), dim=1).numpy()
    np.testing.assert_allclose(a, ref, rtol=1e-4, atol=1e-5)


def test_vggface2_refuses_code_in_pickles(tmp_path):
    with open(tmp_path / "evil.pkl", "wb") as f:  # os.system: ray, once imported, replaces builtins.print
        pickle.dump({"conv1.weight": os.system}, f)
    with pytest.raises(ValueError, match=r"refusing to load (posix|os)\.system"):
        VGGFace2Embedder(tmp_path / "evil.pkl")
