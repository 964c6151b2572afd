import pytest
import torch
from torchvision.models.vgg import cfgs, make_layers

from stngan.models.vgg import VGG16Features
from stngan.weights import MissingWeightsError


def test_pool_shapes_frozen_eval_and_input_gradient():
    vgg = VGG16Features("random", seed=0)
    x = (torch.rand(2, 3, 128, 128) * 2 - 1).requires_grad_(True)
    feats = vgg(x)
    assert [tuple(f.shape) for f in feats] == [(2, 64, 64, 64), (2, 128, 32, 32), (2, 256, 16, 16)]
    assert not any(p.requires_grad for p in vgg.parameters())
    vgg.train()
    assert not vgg.training and not any(m.training for m in vgg.modules())
    feats[-1].sum().backward()
    assert x.grad.abs().sum() > 0


def test_random_is_seeded_and_leaves_global_rng_alone():
    state = torch.random.get_rng_state()
    a, b, c = (VGG16Features("random", seed=s) for s in (3, 3, 4))
    assert torch.equal(torch.random.get_rng_state(), state)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
        assert pa.dim() == 1 or not torch.equal(pa, pc)  # biases start at zero


def test_random_needs_explicit_seed():
    with pytest.raises(ValueError, match="seed"):
        VGG16Features("random")


def test_imagenet_missing_file_raises_with_file_name(weights_dir):
    with pytest.raises(MissingWeightsError, match="vgg16-397923af.pth"):
        VGG16Features("imagenet")


def test_imagenet_loads_torchvision_file(weights_dir):
    torch.manual_seed(7)
    # torchvision's key layout; only the convs up to pool3 matter, the rest (classifier, ...) is ignored
    state = {f"features.{k}": v for k, v in make_layers(cfgs["D"][:10]).state_dict().items()}
    state["features.17.weight"] = torch.zeros(512, 256, 3, 3)
    state["classifier.0.bias"] = torch.zeros(4096)
    torch.save(state, weights_dir / "vgg16-397923af.pth")
    vgg = VGG16Features("imagenet")
    loaded = {f"features.{i}.{name}": p for i, layer in enumerate(layer for s in vgg.slices for layer in s)
              for name, p in layer.named_parameters()}
    assert loaded.keys() == state.keys() - {"features.17.weight", "classifier.0.bias"}
    for k, p in loaded.items():
        assert torch.equal(p, state[k])
