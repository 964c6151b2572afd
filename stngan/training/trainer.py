"""The one training loop (SI, SI-lm, w/o BGCP, STN, PartialConv): StarGAN-style alternating updates.

Every iteration is one critic step; every `n_critic`-th iteration is also one generator step followed by
an EMA update (so `train.iters` counts critic steps, as in StarGAN). All randomness of step s (batch,
masks, flips, gradient-penalty eps) is a function of (seed, s), which makes ``--resume`` reproduce an
uninterrupted run exactly.
"""
from __future__ import annotations

import contextlib
import math
import os
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
import torch.distributed
from torch import nn
from torch.utils.tensorboard import SummaryWriter
from tqdm import tqdm

from stngan import config as config_mod
from stngan.checkpoint import read_meta, resolve
from stngan.config import ConfigError, ExperimentConfig
from stngan.training import run_folder
from stngan.training.data import TrainingData, batch_stream, resolve_store, training_data
from stngan.training.distributed import DistInfo, average_gradients, barrier, broadcast_module, init_from_env
from stngan.training.ema import ema_decay, make_ema, update_ema
from stngan.training.methods import InpaintingMethod, build_method
from stngan.training.samples import SAMPLE_ROWS, collate_range, save_sample_grid
from stngan.training.schedule import lr_factor
from stngan.training.warm_start import init_from
from stngan.weights import require


def pick_device(name: str) -> torch.device:
    if name == "cuda" or (name == "auto" and torch.cuda.is_available()):
        if not torch.cuda.is_available():
            raise ConfigError("train.device=cuda but no CUDA device is visible (see `stngan doctor`)")
        return torch.device("cuda")
    return torch.device("cpu")


def step_generator(seed: int, step: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed * 2_000_003 + step)


def _autocast(device: torch.device, amp: str):
    if amp == "none":
        return contextlib.nullcontext()
    return torch.autocast(device.type, dtype=torch.bfloat16 if amp == "bf16" else torch.float16)


def _to(batch: dict, device: torch.device) -> dict:
    return {k: v.to(device, non_blocking=True) if torch.is_tensor(v) else v for k, v in batch.items()}


class Trainer:
    """Trains `method` (its G, D and losses) on `data`; both are handed in (deep_privacy2 style), so a test or a
    new method can swap either. `start_run` builds the ones a config describes. `data` may be None for a
    Trainer that is only stepped by hand (`train_step`); `device` and `dist` default to what the config and
    the torchrun environment say."""

    def __init__(self, cfg: ExperimentConfig, run_dir: Path, method: InpaintingMethod,
                 data: TrainingData | None = None, *, device: torch.device | None = None,
                 dist: DistInfo | None = None, resume_from: Path | None = None) -> None:
        self.cfg = cfg
        self.device, self.dist = (device, dist) if device is not None and dist is not None else setup_device(cfg)
        self.run_dir = run_dir
        self.method, self.data = method, data
        m = method
        m.g.to(self.device)
        for module in m.frozen_modules():
            module.to(self.device)
        if m.d is not None:
            m.d.to(self.device)
        self.g_ema = make_ema(m.g)
        t = cfg.train
        self.opt_g = torch.optim.Adam(self._params(m.g), lr=t.lr_g, betas=(t.beta1, t.beta2))
        self.opt_d = (torch.optim.Adam(self._params(m.d), lr=t.lr_d, betas=(t.beta1, t.beta2))
                      if m.d is not None else None)
        fp16 = t.amp == "fp16"
        self.scaler_g = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.scaler_d = torch.amp.GradScaler(self.device.type, enabled=fp16)
        self.step = 0
        self.best = math.inf
        if t.train_only_temporal:  # frozen weights get no gradient: backward stops at the first 3D block
            for module in (m.g, m.d):
                if module is not None:
                    module.requires_grad_(False)
                    for p in self._params(module):
                        p.requires_grad_(True)
        if resume_from is not None:
            self._restore(resume_from)
        elif t.init_from:
            init_from(cfg, m.g, self.g_ema, m.d)
        for module in (m.g, m.d, self.g_ema):
            if module is not None:
                broadcast_module(module, self.dist)
        if t.compile and self.device.type == "cuda":
            # G only: the critic's gradient penalty needs double backward, which compiled graphs do not support
            # (aot_autograd raises at the first critic step)
            m.g.forward = torch.compile(m.g.forward)  # compile the call, keep state_dict keys plain

    def _params(self, module: nn.Module) -> list[nn.Parameter]:
        """All parameters, or (STN with train.train_only_temporal) only the 3D residual blocks'."""
        if self.cfg.train.train_only_temporal:  # config validation: only with model.kind=stn
            return list(module.temporal_parameters())
        return list(module.parameters())

    def _restore(self, ckpt: Path) -> None:
        m = self.method
        state = run_folder.load_training(ckpt, m.g, self.g_ema, m.d)
        self.opt_g.load_state_dict(state["opt_g"])
        if self.opt_d is not None:
            self.opt_d.load_state_dict(state["opt_d"])
        self.scaler_g.load_state_dict(state["scaler_g"])
        self.scaler_d.load_state_dict(state["scaler_d"])
        self.step = int(state["step"])
        self.best = float(state["best"])
        torch.set_rng_state(state["rng_torch"])

    def _state(self) -> dict:
        return {"step": self.step, "best": self.best, "opt_g": self.opt_g.state_dict(),
                "opt_d": self.opt_d.state_dict() if self.opt_d is not None else {},
                "scaler_g": self.scaler_g.state_dict(), "scaler_d": self.scaler_d.state_dict(),
                "rng_torch": torch.get_rng_state()}

    def _set_lr(self, step: int) -> float:
        t = self.cfg.train
        factor = lr_factor(step, t.iters, t.decay_start)
        for group in self.opt_g.param_groups:
            group["lr"] = t.lr_g * factor
        if self.opt_d is not None:
            for group in self.opt_d.param_groups:
                group["lr"] = t.lr_d * factor
        return factor

    def _eps(self, step: int) -> torch.Tensor:
        """Gradient-penalty weights for this rank's slice of the global batch of `step`."""
        b = self.cfg.train.batch_size
        eps = torch.rand(b, generator=step_generator(self.cfg.train.seed, step))
        local = b // self.dist.world
        return eps[self.dist.rank * local:(self.dist.rank + 1) * local].to(self.device)

    def _update(self, loss: torch.Tensor, module: nn.Module, opt: torch.optim.Optimizer,
                scaler: torch.amp.GradScaler) -> None:
        opt.zero_grad(set_to_none=True)
        scaler.scale(loss).backward()
        average_gradients(module, self.dist)
        scaler.step(opt)
        scaler.update()

    def train_step(self, batch: dict) -> dict[str, float]:
        """One iteration at self.step: a critic step, and a generator + EMA step every n_critic (none in the
        first train.d_warmup iterations)."""
        m, t = self.method, self.cfg.train
        logs = {"lr_factor": self._set_lr(self.step)}
        if m.d is not None:
            with _autocast(self.device, t.amp):
                d_loss, d_logs = m.d_step_loss(batch, self._eps(self.step))
            self._update(d_loss, m.d, self.opt_d, self.scaler_d)
            logs.update(d_logs)
        if (self.step + 1) % t.n_critic == 0 and self.step >= t.d_warmup:
            if m.d is not None:
                m.d.requires_grad_(False)
            with _autocast(self.device, t.amp):
                g_loss, g_logs = m.g_step_loss(batch)
            self._update(g_loss, m.g, self.opt_g, self.scaler_g)
            if m.d is not None:
                for p in self._params(m.d):
                    p.requires_grad_(True)
            update_ema(self.g_ema, m.g, ema_decay(t.ema_decay, (self.step + 1) // t.n_critic))
            logs.update(g_logs)
        self.step += 1
        return logs

    def held_out_l1(self) -> float:
        """Masked L1 of the EMA generator on the first `train.val_faces` held-out items: what ranks best/."""
        self.g_ema.eval()
        held_out = self.data.held_out
        n = min(self.cfg.train.val_faces, len(held_out))
        total = count = 0.0
        for start in range(0, n, SAMPLE_ROWS):
            batch = _to(collate_range(held_out, range(start, min(start + SAMPLE_ROWS, n))), self.device)
            error, values = self.method.held_out_error(self.g_ema, batch)
            total, count = total + error, count + values
        return total / max(count, 1.0)

    def _checkpoint(self) -> float:
        score = self.held_out_l1()
        is_best = score < self.best
        if is_best:
            self.best = score
        path = run_folder.save_checkpoint(self.run_dir, self.step, self.cfg, self.method.g, self.g_ema,
                                          self.method.d, self._state())
        if is_best:
            run_folder.mark_best(self.run_dir, path)
        run_folder.prune(self.run_dir, self.cfg.train.keep_last)
        return score

    def _past(self, deadline: float | None) -> bool:
        """Whether time.monotonic() has passed `deadline`; with several ranks rank 0's clock decides for all."""
        if deadline is None:
            return False
        past = time.monotonic() >= deadline
        if self.dist.world > 1:  # every rank must stop after the same step
            flag = torch.tensor([float(past)], device=self.device)
            torch.distributed.broadcast(flag, src=0)
            past = bool(flag.item())
        return past

    def fit(self, stop_at: int | None = None, progress: bool = True,
            on_step: Callable[[int, dict[str, float]], None] | None = None,
            deadline: float | None = None) -> dict[str, float]:
        """Train until `stop_at` (default train.iters) or, given a `deadline` (a time.monotonic() value), until
        the first step that ends past it; either way the last step gets its sample grid and checkpoint. Each
        step's logs go to TensorBoard (every log_every) and to `on_step(step, logs)` when given; only the last
        step's logs are kept and returned."""
        if self.data is None:
            raise RuntimeError("this Trainer was built without training data; hand in a TrainingData")
        cfg, t = self.cfg, self.cfg.train
        stop = min(stop_at if stop_at is not None else t.iters, t.iters)
        samples = _to(collate_range(self.data.held_out, range(min(SAMPLE_ROWS, len(self.data.held_out)))),
                      self.device)
        stream = batch_stream(cfg, self.data.train, self.step, self.dist, pin_memory=self.device.type == "cuda")
        writer = SummaryWriter(str(self.run_dir / "tb")) if self.dist.is_main else None
        logs: dict[str, float] = {}
        bar = tqdm(total=stop, initial=self.step, disable=not (progress and self.dist.is_main),
                   desc=f"train {cfg.name}", unit="it", dynamic_ncols=True)
        started = time.perf_counter()
        while self.step < stop:
            logs = self.train_step(_to(next(stream), self.device))
            if on_step is not None:
                on_step(self.step, logs)
            bar.update(1)
            last = self.step == stop or self._past(deadline)
            if self.dist.is_main:
                if self.step % t.log_every == 0 or last:
                    for k, v in logs.items():
                        writer.add_scalar(k, v, self.step)
                    bar.set_postfix({k.split("/")[-1]: f"{v:.3g}" for k, v in logs.items()
                                     if k in ("d/wdist", "g/pct", "pconv/loss")})
                if self.step % t.sample_every == 0 or last:
                    save_sample_grid(self.method, self.g_ema, samples, self.run_dir, self.step, writer)
                if self.step % t.ckpt_every == 0 or last:
                    writer.add_scalar(f"{self.data.held_out_split}/l1_masked", self._checkpoint(), self.step)
            if last:
                break
        bar.close()
        if writer is not None:
            writer.add_scalar("perf/seconds", time.perf_counter() - started, self.step)
            writer.close()
        barrier(self.dist)
        return logs


def setup_device(cfg: ExperimentConfig) -> tuple[torch.device, DistInfo]:
    """The device `train.device` asks for and this process's place in a torchrun group (if any)."""
    device = pick_device(cfg.train.device)
    dist = init_from_env(device.type)
    if dist.world > 1 and device.type == "cuda":
        device = torch.device("cuda", dist.local_rank)
    return device, dist


def build_trainer(cfg: ExperimentConfig, run_dir: Path, resume_from: Path | None = None) -> Trainer:
    """The Trainer a config describes: its method (networks seeded by train.seed) and its store's data."""
    device, dist = setup_device(cfg)
    torch.manual_seed(cfg.train.seed)
    method = build_method(cfg)
    store = resolve_store(cfg, run_dir) if dist.is_main else None  # rank 0 prepares a folder source once
    barrier(dist)
    data = training_data(cfg, store or resolve_store(cfg, run_dir))
    return Trainer(cfg, run_dir, method, data, device=device, dist=dist, resume_from=resume_from)


def start_run(cfg: ExperimentConfig | None, resume: str | Path | None = None,
              data_overrides: Sequence[str] = ()) -> Trainer:
    """A Trainer in a new numbered run folder, or resumed from a run folder / checkpoint.

    On resume the saved config is used; `data_overrides` (``data.*`` keys only, e.g. a larger store) may
    change the data, after which the run no longer reproduces an uninterrupted one exactly.
    """
    if resume is not None:
        ckpt = resolve(resume)
        saved_cfg, _ = read_meta(ckpt)
        if data_overrides:
            bad = [o for o in data_overrides if not o.startswith("data.")]
            if bad:
                raise ConfigError(f"on --resume only data.* may change, got {', '.join(bad)}")
            saved_cfg = config_mod.load_dict(saved_cfg.to_dict(), data_overrides)
        run_dir = ckpt.parent.parent
        return build_trainer(saved_cfg, run_dir, resume_from=ckpt)
    if cfg.loss.vgg_weights == "imagenet":
        require("vgg16")  # fail before a run folder is created
    return build_trainer(cfg, _shared_run_dir(cfg))


def _shared_run_dir(cfg: ExperimentConfig) -> Path:
    """Rank 0 creates the numbered folder and writes config.yaml; other ranks receive its path."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    path = [None]
    if rank == 0:
        run_dir = run_folder.new_run_dir(cfg.out_dir, cfg.name)
        (run_dir / "config.yaml").write_text(cfg.to_yaml())
        path = [str(run_dir)]
    if world > 1:
        if not dist.is_initialized():
            init_from_env(pick_device(cfg.train.device).type)
        torch.distributed.broadcast_object_list(path, src=0)
    return Path(path[0])
