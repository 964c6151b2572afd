"""`train.init_from`: start a new run from another run's weights (not a resume: optimisers and step start fresh).

- STN from an SI checkpoint (paper 3.2): the SI modules inside the STN wrappers take the SI weights, the
  temporal blocks keep their zero-output initialisation, so the STN starts equal to the SI model;
- an exemplar SI or STN (``model.exemplar``) from a plain SI checkpoint: the first convolution's weights for the
  extra input channels (the warped donor and its validity) start at zero, so the new G starts equal to the old
  one and learns to use the donor (an exemplar STN from an exemplar SI loads as plain STN from plain SI does);
- any other kind from a checkpoint of the same architecture.
G and its EMA come from the checkpoint's EMA weights unless (STN) its training weights are there; D comes
from its training weights when present, else it starts fresh (an exported model has EMA weights only).
"""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn

from stngan.checkpoint import CheckpointError, ema_weights, load_strict, read_meta, resolve, unprefixed
from stngan.config import ExperimentConfig


def init_from(cfg: ExperimentConfig, g: nn.Module, g_ema: nn.Module, d: nn.Module | None) -> None:
    """Load `cfg.train.init_from` (a checkpoint, run folder or export) into G, EMA G and D in place."""
    ckpt = resolve(cfg.train.init_from)
    source, _ = read_meta(ckpt)
    widen = cfg.model.exemplar and not source.model.exemplar
    if cfg.model.kind == "stn":
        load_spatial_into(ckpt, g, g_ema, d, widen=widen)
    else:
        load_weights_from(ckpt, g, g_ema, d, widen=widen)


def widened_inputs(tensors: dict, g: nn.Module) -> dict:
    """``tensors`` with every weight that has fewer input channels (dim 1) than G's padded with zeros there."""
    target = g.state_dict()
    out = dict(tensors)
    for key, value in tensors.items():
        want = target.get(key)
        if want is not None and value.ndim == 4 and value.shape != want.shape and value.shape[0] == want.shape[0] \
                and value.shape[1] < want.shape[1] and value.shape[2:] == want.shape[2:]:
            pad = value.new_zeros(value.shape[0], want.shape[1] - value.shape[1], *value.shape[2:])
            out[key] = torch.cat([value, pad], dim=1)
    return out


def _train_weights(ckpt: Path, prefix: str) -> dict | None:
    path = ckpt / "train.safetensors"
    return unprefixed(load_file(str(path)), prefix) if path.is_file() else None


def load_spatial_into(ckpt: Path, g: nn.Module, g_ema: nn.Module, d: nn.Module | None, widen: bool = False) -> None:
    """STN G / EMA G / D (TemporalGenerator, TemporalDiscriminator) from an SI checkpoint's modules. ``widen``:
    an exemplar STN from a plain SI (:func:`widened_inputs`; the critics see no cond, they load as they are)."""
    cfg, _ = read_meta(ckpt)
    if cfg.model.kind != "si":
        raise CheckpointError(f"train.init_from {ckpt} holds a {cfg.model.kind!r} model; STN starts from an SI one")
    ema = ema_weights(ckpt)
    train_g = _train_weights(ckpt, "G")
    if widen:
        ema = widened_inputs(ema, g.spatial)
        train_g = None if train_g is None else widened_inputs(train_g, g.spatial)
    load_strict(g.spatial, ema if train_g is None else train_g, ckpt)
    if d is not None and train_g is not None:
        load_strict(d.spatial, _train_weights(ckpt, "D"), ckpt)
    load_strict(g_ema.spatial, ema, ckpt)


def load_weights_from(ckpt: Path, g: nn.Module, g_ema: nn.Module, d: nn.Module | None, widen: bool = False) -> None:
    """G and EMA G from the checkpoint's EMA weights, D from its training weights if it has them. ``widen``:
    an exemplar G from a plain one (:func:`widened_inputs`)."""
    ema = ema_weights(ckpt)
    if widen:
        ema = widened_inputs(ema, g)
    load_strict(g, ema, ckpt / "model.safetensors")
    load_strict(g_ema, ema, ckpt / "model.safetensors")
    train_d = _train_weights(ckpt, "D") if d is not None else None
    if train_d is not None:
        load_strict(d, train_d, ckpt / "train.safetensors")
