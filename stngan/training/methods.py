"""What one training step computes, per method; the loop itself lives in trainer.py and is shared.

- ``GanInpainting``: SI / SI-lm / w/o BGCP (and STN, whose G and D wrap the SI modules and take
  (B, T, ...) windows): critic step with WGAN-GP (Eq. 1), generator step with adversarial + λ·perceptual
  (Eq. 3), both on the background-copied output y when BGCP is on; STN on known-motion windows may add
  λ_warp·L_warp (losses.warp_consistency_loss) between the last two frames as streaming shows them.
- ``DistilledInpainting``: G (a smaller SI, or an STN on known motion) learns to reproduce a trained SI
  (``train.teacher``), no critic.
- ``PartialConvInpainting``: the Liu et al. baseline, generator only, with its own loss.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from stngan import losses
from stngan.config import ConfigError, ExperimentConfig
from stngan.models.build import build_discriminator, build_generator, load_generator
from stngan.models.generator import background_copy
from stngan.models.shapes import as_frames
from stngan.models.vgg import VGG16Features

Batch = dict[str, torch.Tensor]


class InpaintingMethod(ABC):
    """Interface the trainer drives. `g` is trained, `d` is the critic or None (no critic step)."""

    g: nn.Module
    d: nn.Module | None

    def __init__(self, cfg: ExperimentConfig) -> None:
        self.cfg = cfg
        self.vgg = VGG16Features(weights=cfg.loss.vgg_weights, seed=cfg.loss.vgg_seed)

    def frozen_modules(self) -> list[nn.Module]:
        """Networks the losses use but training never updates; the trainer moves them to its device."""
        return [self.vgg]

    @abstractmethod
    def inpaint(self, g: nn.Module, batch: Batch) -> torch.Tensor:
        """The composited output y for a batch, with generator `g` (the trained one or its EMA)."""

    def d_step_loss(self, batch: Batch, eps: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        """Critic loss; eps (B,) are the gradient-penalty interpolation weights of this rank's samples."""
        raise TypeError(f"{type(self).__name__} has no critic")

    @abstractmethod
    def g_step_loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        """Generator loss on a batch."""

    @torch.no_grad()
    def held_out_error(self, g: nn.Module, batch: Batch) -> tuple[float, float]:
        """(sum of |x − y| over the masked pixels, number of masked values) of generator `g` on a batch:
        summed over batches and divided, the masked L1 that ranks checkpoints for ``best/``. Unlike a
        perceptual distance it needs no ImageNet weights, so it means the same offline."""
        y = self.inpaint(g, batch)
        count = float(batch["mask"].expand_as(y).sum())
        return float(losses.masked_l1(batch["x"], y, batch["mask"])) * count, count


class GanInpainting(InpaintingMethod):
    def __init__(self, cfg: ExperimentConfig) -> None:
        super().__init__(cfg)
        self.g = build_generator(cfg.model)
        self.d = build_discriminator(cfg.model)

    def inpaint(self, g: nn.Module, batch: Batch) -> torch.Tensor:
        cond = batch["cond"] if self.cfg.model.landmarks else None
        raw = g(batch["x_hat"], batch["mask"], cond)
        if not self.cfg.model.bgcp:
            return raw
        if raw.dim() == 5:  # STN windows: background copy frame by frame
            shape = raw.shape
            return background_copy(as_frames(batch["x_hat"]), as_frames(batch["mask"]), as_frames(raw)).view(shape)
        return background_copy(batch["x_hat"], batch["mask"], raw)

    def d_step_loss(self, batch: Batch, eps: torch.Tensor) -> tuple[torch.Tensor, dict[str, float]]:
        with torch.no_grad():
            y = self.inpaint(self.g, batch)
        return losses.d_wgan_gp_loss(self.d, batch["x"], y, batch["mask"], self.cfg.loss.lambda_gp, eps=eps)

    def g_step_loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        y = self.inpaint(self.g, batch)
        loss, logs = losses.g_loss(self.d, self.vgg, batch["x"], y, batch["mask"], self.cfg.loss.lambda_pct,
                                   self.cfg.loss.lambda_l1, self.cfg.loss.lambda_colour)
        if self.cfg.loss.lambda_exemplar:
            first = self.cfg.model.cond_channels  # cond: landmark maps, then the donor (3) and its validity
            cond = batch["cond"]  # (B, C, H, W) frames or (B, T, C, H, W) STN windows: channels are dim -3
            donor, valid = cond.narrow(-3, first, 3), cond.narrow(-3, first + 3, 1)
            detail, detail_logs = losses.masked_detail_l1(donor, y, batch["mask"] * valid)
            loss = loss + self.cfg.loss.lambda_exemplar * detail
            logs = {**logs, **detail_logs, "g/loss": loss.item()}
        return self.with_warp(batch, y, loss, logs)

    def with_warp(self, batch: Batch, y: torch.Tensor, loss: torch.Tensor,
                  logs: dict[str, float]) -> tuple[torch.Tensor, dict[str, float]]:
        """Known-motion windows: L_warp is logged, and added to the loss when λ_warp > 0."""
        if "flow" not in batch:
            return loss, logs
        with torch.set_grad_enabled(bool(self.cfg.loss.lambda_warp) and torch.is_grad_enabled()):
            warp, warp_logs = losses.warp_consistency_loss(self.shown_pair(batch, y), *(
                batch[k][:, -2:] for k in ("flow", "mask", "valid", "gain")))
        if self.cfg.loss.lambda_warp:
            loss = loss + self.cfg.loss.lambda_warp * warp
        return loss, {**logs, **warp_logs, "g/loss": loss.item()}

    def shown_pair(self, batch: Batch, y: torch.Tensor) -> torch.Tensor:
        """(B, 2, 3, H, W): frames T−1 and T as streaming inference shows them. Frames 1..T−1 of a window are
        plain SI outputs (Algorithm 1) that inference never shows; its frame T−1 is the last output of the
        window one frame earlier, here with its start padded by repeating frame 1 (the streaming rule)."""
        earlier = {k: torch.cat([batch[k][:, :1], batch[k][:, :-1]], dim=1) for k in ("x_hat", "mask", "cond")}
        return torch.stack([self.inpaint(self.g, earlier)[:, -1], y[:, -1]], dim=1)


class DistilledInpainting(GanInpainting):
    """Knowledge distillation (not in the paper): G learns to reproduce an SI teacher's background-copied output
    on the same inputs (losses.distill_loss), plus optional masked L1 and colour terms against the original. No
    critic: the teacher is a deterministic target, so G inherits the teacher's realism without a second
    adversarial game (and without the fresh critics that made earlier fine-tunes drift in colour).

    - SI student (e.g. a narrower SI-lm, for speed): every output is distilled.
    - STN student (warm-started from the teacher, temporal blocks only): the window's last frame, the one
      streaming inference shows, is distilled towards the teacher's output for that frame while λ_warp pulls it
      towards the previous shown frame moved by the known flow; the balance of the two is the trade between
      the SI model's faces and steadiness."""

    def __init__(self, cfg: ExperimentConfig) -> None:
        InpaintingMethod.__init__(self, cfg)
        self.g = build_generator(cfg.model)
        self.d = None
        self.teacher, teacher_cfg = load_generator(cfg.train.teacher)
        if teacher_cfg.model.kind != "si" or teacher_cfg.model.landmarks != cfg.model.landmarks \
                or teacher_cfg.model.bgcp != cfg.model.bgcp:
            raise ConfigError(f"train.teacher {cfg.train.teacher} is a {teacher_cfg.model.kind} model with "
                              f"landmarks={teacher_cfg.model.landmarks}, bgcp={teacher_cfg.model.bgcp}; the student "
                              f"needs an si teacher with the same landmarks and bgcp settings")
        self.teacher.requires_grad_(False)

    def frozen_modules(self) -> list[nn.Module]:
        return [self.vgg, self.teacher]

    def g_step_loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        y = self.inpaint(self.g, batch)
        shown, frame = (y[:, -1], {k: v[:, -1] for k, v in batch.items() if k in ("x_hat", "mask", "cond")}) \
            if y.dim() == 5 else (y, batch)
        with torch.no_grad():
            target = self.inpaint(self.teacher, frame)
        distill, logs = losses.distill_loss(target, shown, frame["mask"])
        loss, logs = losses.with_reconstruction(self.cfg.loss.lambda_distill * distill, logs, batch["x"], y,
                                                batch["mask"], self.cfg.loss.lambda_l1, self.cfg.loss.lambda_colour)
        return self.with_warp(batch, y, loss, {**logs, "g/loss": loss.item()})


class PartialConvInpainting(InpaintingMethod):
    def __init__(self, cfg: ExperimentConfig) -> None:
        super().__init__(cfg)
        self.g = build_generator(cfg.model)
        self.d = None

    def inpaint(self, g: nn.Module, batch: Batch) -> torch.Tensor:
        raw = g(batch["x_hat"], batch["mask"])
        return background_copy(batch["x_hat"], batch["mask"], raw)

    def g_step_loss(self, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
        raw = self.g(batch["x_hat"], batch["mask"])
        comp = background_copy(batch["x_hat"], batch["mask"], raw)
        return losses.partialconv_loss(self.vgg, raw, comp, batch["x"], batch["mask"])


def build_method(cfg: ExperimentConfig) -> InpaintingMethod:
    if cfg.model.kind == "partialconv":
        return PartialConvInpainting(cfg)
    return DistilledInpainting(cfg) if cfg.train.teacher else GanInpainting(cfg)
