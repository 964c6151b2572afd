import json

import pytest

from stngan import config
from stngan.config import ConfigError


def test_defaults_are_the_paper_settings():
    cfg = config.load()
    assert cfg.train.batch_size == 16 and cfg.train.n_critic == 5 and cfg.train.iters == 200_000
    assert (cfg.train.beta1, cfg.train.beta2) == (0.5, 0.99)
    assert cfg.loss.lambda_gp == 10.0 and cfg.loss.lambda_pct == 10.0
    assert cfg.data.mask_jitter == 3.0 and cfg.data.hflip == 0.5 and cfg.model.image_size == 128


def test_yaml_and_dotted_overrides(tmp_path):
    path = tmp_path / "exp.yaml"
    path.write_text("model:\n  landmarks: false\ntrain:\n  lr_g: 0.0002\n")
    cfg = config.load(path, ["train.lr_d=3e-4", "train.iters=10", "train.decay_start=5", "model.g_width=8"])
    assert cfg.name == "exp"
    assert cfg.model.landmarks is False and cfg.model.input_cond_channels == 0
    assert cfg.train.lr_g == 2e-4 and cfg.train.lr_d == 3e-4 and cfg.train.iters == 10
    assert cfg.model.g_width == 8


def test_round_trip_through_json():
    cfg = config.load(None, ["train.iters=50", "train.decay_start=25", "model.kind=stn"])
    again = config.from_json(cfg.to_json())
    assert again == cfg
    assert json.loads(cfg.to_json())["model"]["kind"] == "stn"


@pytest.mark.parametrize("override, words", [
    ("train.nope=1", "unknown config key 'train.nope'"),
    ("train.iters=abc", "train.iters must be an integer"),
    ("model.kind=gan", "model.kind must be si, stn or partialconv"),
    ("train.decay_start=300000", "train.decay_start must be in [0, train.iters]"),
    ("model.landmarks=3", "model.landmarks must be true or false"),
    ("trainiters", "must look like section.key=value"),
    ("data.pad=0.3", "unknown config key 'data.pad'"),  # stores carry their own crop padding
    ("model.image_size=192", "model.image_size must be 128"),
    ("train.ckpt_every=0", "train.ckpt_every must be > 0"),
    ("train.log_every=0", "train.log_every must be > 0"),
    ("train.sample_every=-1", "train.sample_every must be > 0"),
    ("train.keep_last=-1", "train.keep_last must be >= 0"),
    ("train.train_only_temporal=true", "train.train_only_temporal must be false unless model.kind is stn"),
    ("model.N=6", "model.N must be in 1..(critic layers - 1)"),
    ("model.cond_channels=3", "model.cond_channels must be 5"),
    ("loss.lambda_l1=-1", "loss.lambda_l1 must be >= 0"),
    ("data.workers=-1", "data.workers must be >= 0"),
    ("data.tone_mode=melanin", "data.tone_mode must be uniform or skin"),
    ("train.d_warmup=200000", "train.d_warmup must be in [0, train.iters)"),
])
def test_bad_overrides_name_the_key(override, words):
    with pytest.raises(ConfigError) as e:
        config.load(None, [override])
    assert words in str(e.value)
    assert "\n" not in str(e.value)


def test_bad_yaml_is_one_line(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("model: [unclosed\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        config.load(path)
    with pytest.raises(ConfigError, match="config file not found"):
        config.load(tmp_path / "missing.yaml")


def test_every_shipped_config_loads():
    from pathlib import Path

    paths = sorted(Path(__file__).parent.parent.joinpath("configs").glob("*.yaml"))
    assert paths, "configs/ must hold the experiment configs"
    for path in paths:
        config.load(path)


def test_a_checkpoint_config_with_the_retired_pad_field_still_loads(tmp_path):
    from stngan.checkpoint import checkpoint_meta, read_meta

    meta = checkpoint_meta(config.load(), 7)
    meta["experiment"]["data"]["pad"] = 0.2  # written by stngan before data.pad was removed
    (tmp_path / "config.json").write_text(json.dumps(meta))
    cfg, step = read_meta(tmp_path)
    assert step == 7 and cfg == config.load()
