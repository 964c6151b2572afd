"""Typed experiment configs: dataclasses, one YAML per experiment, dotted CLI overrides.

The resolved config is written into every run folder and every checkpoint (nanoGPT style), so a
checkpoint alone says how to rebuild its model.
"""
from __future__ import annotations

import dataclasses
import json
import typing
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stngan.errors import UserError

CROP_SIZE = 128  # px side of every stored face crop and model input (stngan.data.layout stores this size)
EXEMPLAR_CHANNELS = 4  # model.exemplar: a warped donor's RGB and its validity join G's input (stngan.donors.exemplar)


class ConfigError(UserError, ValueError):
    """A config file or override that does not fit the schema; the message names the key."""


@dataclass
class ModelConfig:
    kind: str = "si"  # si | stn | partialconv
    landmarks: bool = True  # SI-lm / STN-lm: landmark heat maps c concatenated to the input
    bgcp: bool = True  # background hard copy y = x_hat·(1−m) + G·m (paper 3.1); False = "w/o BGCP" ablation
    cond_channels: int = 5  # channels of c when landmarks are used (stngan.faces.condition)
    image_size: int = CROP_SIZE  # fixed: stores hold CROP_SIZE crops; kept so a checkpoint states its input size
    g_width: int = 64
    g_res_blocks: int = 6
    d_width: int = 64
    d_max_width: int = 0  # cap on critic channels (0 = uncapped, StarGAN/paper)
    d_global_layers: int = 6
    d_local_layers: int = 5
    local_crop: int = 64
    # temporal (STN, paper 3.2)
    T: int = 3
    M: int = 1  # 3D residual blocks before the last M up-sampling layers of G
    N: int = 1  # 3D residual blocks after the first N layers of each discriminator
    # not in the paper (issue 26): G also sees a synthetic donor warped onto the landmarks and its validity
    exemplar: bool = False

    def validate(self) -> None:
        _check(self.kind in ("si", "stn", "partialconv"), "model.kind", "si, stn or partialconv", self.kind)
        _check(self.image_size == CROP_SIZE, "model.image_size", f"{CROP_SIZE} (the crop size of every store)",
               self.image_size)
        _check(self.T >= 1, "model.T", ">= 1", self.T)
        _check(1 <= self.M <= 2, "model.M", "1 or 2 (G has two up-sampling layers)", self.M)
        _check(1 <= self.N < min(self.d_global_layers, self.d_local_layers), "model.N",
               "in 1..(critic layers - 1)", self.N)
        _check(self.cond_channels == 5, "model.cond_channels", "5 (jaw, brows, nose, eyes, mouth)", self.cond_channels)
        for name in ("g_width", "g_res_blocks", "d_width", "d_global_layers", "d_local_layers", "local_crop"):
            _check(getattr(self, name) > 0, f"model.{name}", "> 0", getattr(self, name))
        _check(self.d_max_width >= 0, "model.d_max_width", ">= 0 (0: uncapped)", self.d_max_width)
        _check(not self.exemplar or (self.kind in ("si", "stn") and self.landmarks), "model.exemplar",
               "false, or true with kind si or stn and landmarks true (the donor is warped by the landmarks)",
               self.exemplar)

    @property
    def input_cond_channels(self) -> int:
        """Channels of G's third input: the landmark maps, then (model.exemplar) the warped donor and validity."""
        return (self.cond_channels if self.landmarks else 0) + (EXEMPLAR_CHANNELS if self.exemplar else 0)


@dataclass
class MotionConfig:
    """Known-motion STN windows from single faces (stngan.data.motion): each stored face of the split becomes
    one T-frame window moved, zoomed and rotated at a random constant velocity, with its exact flow (what
    ``loss.lambda_warp`` needs). Off: STN windows are T consecutive frames of the store's videos."""

    enabled: bool = False
    shift: float = 0.02  # max translation per frame and axis, fraction of the crop side
    zoom: float = 0.03  # max |scale − 1| per frame
    rotate: float = 2.0  # max rotation per frame, degrees
    brightness: float = 0.0  # max |brightness gain − 1| per frame (0: no drift)

    def validate(self) -> None:
        _check(0.0 <= self.shift <= 0.1, "data.motion.shift", "in [0, 0.1] (fraction of the crop per frame)",
               self.shift)
        _check(0.0 <= self.zoom <= 0.2, "data.motion.zoom", "in [0, 0.2]", self.zoom)
        _check(0.0 <= self.rotate <= 15.0, "data.motion.rotate", "in [0, 15] degrees per frame", self.rotate)
        _check(0.0 <= self.brightness <= 0.2, "data.motion.brightness", "in [0, 0.2]", self.brightness)


TONE_MODES = ("uniform", "skin")  # data.tone_mode: stngan.data.tone


@dataclass
class DataConfig:
    source: str = ""  # a prepared store directory, or a plain folder of face images (cropped on the fly)
    split: str = "train"
    mask_jitter: float = 3.0  # ± px on each circle radius at 128² (paper 4.2)
    hflip: float = 0.5
    tone: float = 0.0  # probability of a random tone change (darker/lighter, saturation, tint): stngan.data.tone
    tone_mode: str = "uniform"  # uniform | skin (the change spares eye openings and inner mouth: stngan.data.tone)
    # SI / PartialConv faces, not in the paper (stngan.data.augment): roll, zoom and occluders, image and landmarks
    rotate: float = 0.0  # max in-plane roll, degrees (uniform in ±rotate)
    scale: float = 0.0  # max |zoom − 1| (uniform in [1 − scale, 1 + scale])
    occluders: float = 0.0  # probability of a hand or microphone pasted over part of one mask circle
    workers: int = 2  # DataLoader worker processes (0: load in the training process)
    detector: str = "hog"  # when data.source is an image folder: the detector that crops it (hog | cnn)
    motion: MotionConfig = field(default_factory=MotionConfig)  # STN only: known-motion windows
    donor_bank: str = ""  # model.exemplar: the donor bank exemplars come from ("": the shipped one)

    def validate(self) -> None:
        self.motion.validate()
        _check(0.0 <= self.hflip <= 1.0, "data.hflip", "in [0, 1]", self.hflip)
        _check(0.0 <= self.tone <= 1.0, "data.tone", "in [0, 1]", self.tone)
        _check(self.tone_mode in TONE_MODES, "data.tone_mode", " or ".join(TONE_MODES), self.tone_mode)
        _check(0.0 <= self.rotate <= 45.0, "data.rotate", "in [0, 45] degrees", self.rotate)
        _check(0.0 <= self.scale <= 0.5, "data.scale", "in [0, 0.5]", self.scale)
        _check(0.0 <= self.occluders <= 1.0, "data.occluders", "in [0, 1]", self.occluders)
        _check(self.mask_jitter >= 0, "data.mask_jitter", ">= 0", self.mask_jitter)
        _check(self.detector in ("hog", "cnn"), "data.detector", "hog or cnn", self.detector)
        _check(self.workers >= 0, "data.workers", ">= 0", self.workers)
        _check(bool(self.split), "data.split", "a split name (train, val, test)", self.split)


@dataclass
class LossConfig:
    lambda_gp: float = 10.0  # paper Eq. 1
    lambda_pct: float = 10.0  # paper Eq. 3
    vgg_weights: str = "imagenet"  # "random" only by explicit choice (tests, offline recipe)
    vgg_seed: int = 0
    lambda_l1: float = 0.0  # optional masked L1 (not in the paper; offline recipe)
    lambda_warp: float = 0.0  # STN: warping consistency inside the mask (not in the paper; needs data.motion)
    lambda_colour: float = 0.0  # masked L1 of the blurred fill: its colour and brightness (not in the paper)
    lambda_distill: float = 0.0  # with train.teacher: L1 to the teacher's fill and its gradients (losses.distill_loss)
    # model.exemplar: L1 of the fill's fine detail to the warped donor's (losses.masked_detail_l1; not in the paper)
    lambda_exemplar: float = 0.0

    def validate(self) -> None:
        for name in ("lambda_gp", "lambda_pct", "lambda_l1", "lambda_warp", "lambda_colour", "lambda_distill",
                     "lambda_exemplar"):
            _check(getattr(self, name) >= 0, f"loss.{name}", ">= 0", getattr(self, name))
        _check(self.vgg_weights in ("imagenet", "random"), "loss.vgg_weights", "imagenet or random",
               self.vgg_weights)


@dataclass
class TrainConfig:
    iters: int = 200_000  # discriminator steps (StarGAN convention); G steps = iters / n_critic
    batch_size: int = 16
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    beta1: float = 0.5
    beta2: float = 0.99
    n_critic: int = 5
    decay_start: int = 100_000  # lr constant until here, then linear to exactly 0 at `iters`
    ema_decay: float = 0.999
    seed: int = 0
    log_every: int = 100  # iterations between TensorBoard scalars
    sample_every: int = 2_000  # iterations between sample grids (and always at the last iteration)
    ckpt_every: int = 10_000  # iterations between checkpoints (and always at the last iteration)
    keep_last: int = 3  # step checkpoints kept (0: all); best/ is kept apart
    # best/ = the checkpoint with the lowest masked L1 of the EMA generator on the first `val_faces` items of
    # the store's held-out split (val, else test; train only when the store has neither)
    val_faces: int = 64
    amp: str = "none"  # none | bf16 | fp16
    compile: bool = False
    device: str = "auto"  # auto | cpu | cuda
    init_from: str = ""  # checkpoint to start from (STN: an SI one); stngan.training.warm_start
    train_only_temporal: bool = False  # STN: update only the 3D residual blocks
    d_warmup: int = 0  # first iterations train the critics alone (G and its EMA unchanged): fresh critics
    # under a warm-started G (train.init_from) first learn what real faces look like, instead of pushing G off
    teacher: str = ""  # distillation: an SI checkpoint/export whose EMA G this G (smaller SI, or STN) learns to
    # reproduce; no critic then (stngan.training.methods.DistilledInpainting)

    def validate(self) -> None:
        _check(self.iters > 0, "train.iters", "> 0", self.iters)
        _check(self.batch_size > 0, "train.batch_size", "> 0", self.batch_size)
        _check(self.lr_g > 0 and self.lr_d > 0, "train.lr_g and train.lr_d", "> 0", (self.lr_g, self.lr_d))
        _check(self.n_critic >= 1, "train.n_critic", ">= 1", self.n_critic)
        _check(0 <= self.decay_start <= self.iters, "train.decay_start", "in [0, train.iters]", self.decay_start)
        _check(0.0 <= self.ema_decay < 1.0, "train.ema_decay", "in [0, 1)", self.ema_decay)
        _check(self.amp in ("none", "bf16", "fp16"), "train.amp", "none, bf16 or fp16", self.amp)
        _check(self.device in ("auto", "cpu", "cuda"), "train.device", "auto, cpu or cuda", self.device)
        for name in ("log_every", "sample_every", "ckpt_every", "val_faces"):
            _check(getattr(self, name) > 0, f"train.{name}", "> 0", getattr(self, name))
        _check(self.keep_last >= 0, "train.keep_last", ">= 0 (0 keeps every checkpoint)", self.keep_last)
        _check(0 <= self.d_warmup < self.iters, "train.d_warmup", "in [0, train.iters)", self.d_warmup)


@dataclass
class ExperimentConfig:
    name: str = "experiment"
    out_dir: str = "runs"
    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def validate(self) -> "ExperimentConfig":
        for part in (self.model, self.data, self.loss, self.train):
            part.validate()
        _check(not self.train.train_only_temporal or self.model.kind == "stn", "train.train_only_temporal",
               "false unless model.kind is stn", self.train.train_only_temporal)
        _check(not self.data.motion.enabled or self.model.kind == "stn", "data.motion.enabled",
               "false unless model.kind is stn", self.data.motion.enabled)
        _check(not self.loss.lambda_exemplar or self.model.exemplar, "loss.lambda_exemplar",
               "0 unless model.exemplar is true (the loss compares the fill with the donor G is given)",
               self.loss.lambda_exemplar)
        _check(not self.loss.lambda_warp or self.data.motion.enabled, "loss.lambda_warp",
               "0 unless data.motion.enabled is true (the loss needs the known flow)", self.loss.lambda_warp)
        _check(not self.data.motion.enabled or self.model.T >= 2, "model.T", ">= 2 with data.motion.enabled",
               self.model.T)
        if self.train.teacher:
            _check(self.model.kind in ("si", "stn"), "model.kind", "si or stn with train.teacher (distillation)",
                   self.model.kind)
            _check(self.loss.lambda_distill > 0, "loss.lambda_distill", "> 0 with train.teacher",
                   self.loss.lambda_distill)
            _check(self.train.n_critic == 1 and self.train.d_warmup == 0, "train.n_critic and train.d_warmup",
                   "1 and 0 with train.teacher (no critic: every iteration is a generator step)",
                   (self.train.n_critic, self.train.d_warmup))
        _check(not self.loss.lambda_distill or self.train.teacher, "loss.lambda_distill",
               "0 unless train.teacher names the model to distil", self.loss.lambda_distill)
        for name in ("rotate", "scale", "occluders"):
            _check(not getattr(self.data, name) or self.model.kind != "stn", f"data.{name}",
                   "0 unless model.kind is si or partialconv (STN windows do not take it yet)",
                   getattr(self.data, name))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    def to_yaml(self) -> str:
        return yaml.safe_dump(self.to_dict(), sort_keys=False)


def _check(ok: bool, key: str, expected: str, got: Any) -> None:
    if not ok:
        raise ConfigError(f"{key} must be {expected}, got {got!r}")


def _coerce(value: Any, typ: Any, key: str) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{key} must be true or false, got {value!r}")
    if typ is int:
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, float) and value.is_integer():
            return int(value)
        raise ConfigError(f"{key} must be an integer, got {value!r}")
    if typ is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
        if isinstance(value, str):  # PyYAML (YAML 1.1) reads "1e-4" as a string
            try:
                return float(value)
            except ValueError:
                pass
        raise ConfigError(f"{key} must be a number, got {value!r}")
    if typ is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{key} must be a string, got {value!r}")
    raise ConfigError(f"{key}: unsupported field type {typ}")


def _from_dict(cls: type, data: dict[str, Any], prefix: str) -> Any:
    if not isinstance(data, dict):
        raise ConfigError(f"{prefix or 'config'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    names = {f.name for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in data.items():
        full = f"{prefix}{key}"
        if key not in names:
            raise ConfigError(f"unknown config key {full!r} (known: {', '.join(sorted(names))})")
        typ = hints[key]
        if dataclasses.is_dataclass(typ):
            kwargs[key] = _from_dict(typ, value, full + ".")
        else:
            kwargs[key] = _coerce(value, typ, full)
    return cls(**kwargs)


def from_dict(data: dict[str, Any]) -> ExperimentConfig:
    return _from_dict(ExperimentConfig, data, "").validate()


def _set_dotted(data: dict[str, Any], dotted: str) -> None:
    if "=" not in dotted:
        raise ConfigError(f"override {dotted!r} must look like section.key=value")
    key, raw = dotted.split("=", 1)
    value = yaml.safe_load(raw) if raw.strip() else ""
    node = data
    parts = key.strip().split(".")
    for part in parts[:-1]:
        node = node.setdefault(part, {})
        if not isinstance(node, dict):
            raise ConfigError(f"override {key!r}: {part!r} is not a section")
    node[parts[-1]] = value


def load_dict(data: dict[str, Any], overrides: typing.Sequence[str] = ()) -> ExperimentConfig:
    """A config from a plain dict (e.g. a checkpoint's) plus `a.b=value` overrides."""
    data = json.loads(json.dumps(data))  # deep copy
    for item in overrides:
        _set_dotted(data, item)
    return from_dict(data)


def load(path: str | Path | None = None, overrides: typing.Sequence[str] = ()) -> ExperimentConfig:
    """Load a YAML experiment config (or the defaults when path is None) and apply `a.b=value` overrides."""
    data: dict[str, Any] = {}
    if path is not None:
        path = Path(path)
        if not path.is_file():
            raise ConfigError(f"config file not found: {path}")
        try:
            data = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise ConfigError(f"{path}: not valid YAML ({str(e).splitlines()[0]})") from e
        if "name" not in data:
            data["name"] = path.stem
    return load_dict(data, overrides)


def from_json(text: str) -> ExperimentConfig:
    return from_dict(json.loads(text))
