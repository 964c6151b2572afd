"""model.exemplar: G also sees a synthetic donor warped onto the landmarks (issue 26). Off, G is the paper's."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from helpers import tiny_checkpoint
from stngan import checkpoint as ckpt_mod
from stngan import config
from stngan.config import EXEMPLAR_CHANNELS, ConfigError
from stngan.data.sample import frame_sample
from stngan.donors.bank import DonorBank, shipped_bank_dir
from stngan.donors.exemplar import RandomExemplar
from stngan.models.build import build_generator, load_generator
from stngan.training.trainer import start_run

TINY = Path(__file__).parent.parent / "configs" / "tiny_si_lm.yaml"


def test_with_the_switch_off_g_is_the_papers_g():
    plain = config.load(TINY, [])
    assert plain.model.exemplar is False and plain.model.input_cond_channels == 5
    g, g_off = build_generator(plain.model), build_generator(config.load(TINY, ["model.exemplar=false"]).model)
    assert {k: v.shape for k, v in g.state_dict().items()} == {k: v.shape for k, v in g_off.state_dict().items()}
    assert g.layers[0][0].in_channels == 3 + 1 + 5  # x_hat, mask, landmark maps: paper 3.1
    on = config.load(TINY, ["model.exemplar=true"]).model
    assert on.input_cond_channels == 5 + EXEMPLAR_CHANNELS
    assert build_generator(on).layers[0][0].in_channels == 3 + 1 + 5 + EXEMPLAR_CHANNELS


def test_the_switch_needs_an_si_model_with_landmarks():
    with pytest.raises(ConfigError, match="model.exemplar"):
        config.load(TINY, ["model.exemplar=true", "model.landmarks=false"])


def test_samples_without_exemplar_draw_exactly_as_before(astronaut_face, face_images):
    from stngan.faces.crop import CropTransform

    ct = CropTransform.from_box(astronaut_face.box)
    crop, lm = ct.crop(face_images["astronaut"]), ct.to_crop(astronaut_face.landmarks.astype(np.float64))
    a = frame_sample(crop, lm, np.random.default_rng(3), mask_jitter=3, hflip=0.5, with_cond=True)
    rng = np.random.default_rng(3)
    b = frame_sample(crop, lm, rng, mask_jitter=3, hflip=0.5, with_cond=True, exemplar=RandomExemplar())
    assert all(np.array_equal(a[k], b[k]) for k in ("x", "mask", "x_hat"))
    assert np.array_equal(a["cond"], b["cond"][:5])  # the landmark maps, then the exemplar
    donor, valid = b["cond"][5:8], b["cond"][8]
    m = b["mask"][0] > 0.5
    assert valid[m].mean() > 0.95  # the warp covers the mask
    assert np.abs(donor - b["x"])[:, m].mean() > 0.1  # another identity: not the ground truth under the mask
    assert donor.min() >= -1 and donor.max() <= 1


def test_random_exemplar_travels_to_workers_without_its_bank():
    import pickle

    ex = RandomExemplar()
    assert isinstance(ex.bank, DonorBank) and ex.bank.path == shipped_bank_dir()
    clone = pickle.loads(pickle.dumps(ex))
    assert clone._bank is None and clone.path == ""


@pytest.fixture(scope="module")
def exemplar_run(tmp_path_factory):
    """A tiny exemplar SI-lm warm-started from a plain tiny checkpoint, trained 2 steps on real faces."""
    from stngan.data.prepare.folder import prepare_folder

    root = tmp_path_factory.mktemp("exemplar")
    data = Path(__file__).parent / "data"
    photos = root / "photos"
    photos.mkdir()
    for name in ("feat_single_face.jpg", "feat_0-f15-hao-ph.jpg", "feat_45-m7-di-ph.jpg", "nba_adama_sanogo.png"):
        (photos / name).write_bytes((data / name).read_bytes())
    prepare_folder(photos, root / "store", progress=False)
    plain = ckpt_mod.export_model(tiny_checkpoint(root), root / "plain")
    cfg = config.load(TINY, [f"data.source={root / 'store'}", f"out_dir={root / 'runs'}", "data.workers=0",
                             "train.batch_size=2", "train.iters=2", "train.decay_start=1", "train.ckpt_every=2",
                             "train.sample_every=1000",
                             "loss.lambda_pct=0", "loss.lambda_l1=10", "model.exemplar=true", "loss.lambda_exemplar=1",
                             f"train.init_from={plain}"])
    return plain, start_run(cfg)


def test_an_exemplar_g_warm_started_from_a_plain_one_starts_equal_to_it(exemplar_run):
    plain, trainer = exemplar_run
    source, _ = load_generator(plain)
    g = trainer.method.g.eval()
    x_hat, mask = torch.zeros(2, 3, 128, 128), torch.zeros(2, 1, 128, 128)
    mask[:, :, 40:90, 30:100] = 1
    cond = torch.rand(2, 5, 128, 128)
    exemplar = torch.rand(2, EXEMPLAR_CHANNELS, 128, 128) * 2 - 1
    with torch.no_grad():
        assert torch.allclose(g(x_hat, mask, torch.cat([cond, exemplar], 1)), source(x_hat, mask, cond), atol=1e-6)


def test_an_exemplar_model_runs_inside_the_donor_fill(exemplar_run, tmp_path):
    from skimage import data as skdata

    from stngan.faces.masks import rasterize
    from stngan.inference.donor_fill import DonorInpainter
    from stngan.inference.fills import open_inpainter
    from stngan.inference.frames import Anonymizer, FrameInpainter
    from stngan.inference.sidecar import Sidecar

    _, trainer = exemplar_run
    trainer.fit()
    exported = ckpt_mod.export_model(trainer.run_dir, tmp_path / "exemplar")
    inp = open_inpainter(str(exported), runtime="torch", donor=3)
    assert isinstance(inp, DonorInpainter) and inp.refiner is not None and "exemplar G" in inp.runtime_name
    img = skdata.astronaut()
    masked, record = Anonymizer().process(img, 0)
    out = FrameInpainter(inp, Sidecar({"name": "a", "kind": "image"}, {}, [record])).process(masked, 0)
    mask = np.zeros(img.shape[:2], bool)
    for face in record.faces:
        mask |= rasterize(face.mask, *img.shape[:2]).astype(bool)
    assert np.array_equal(out[~mask], masked[~mask])
    assert inp.choices[record.faces[0].track].identity == 3
