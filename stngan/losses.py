"""Losses of the spatial model (paper Eqs. 1–3), the PartialConv baseline (Liu et al. 2018) and a warping
consistency term for STN windows with known motion (not in the paper).

Objectives (``d_wgan_gp_loss``, ``g_adv_loss``, ``g_loss``, ``partialconv_loss``, ``warp_consistency_loss``)
are pure functions returning ``(loss, logs)``, logs a dict of detached Python floats. Terms they are built from
(``critic_score``, ``gradient_penalty``, ``perceptual_loss``) return tensors. A critic D is any callable
``D(img (B,3,H,W), mask (B,1,H,W)) -> patch scores (B, ...)`` such as ``DualDiscriminator``.
Images are in [−1, 1]; mask is 1 where inpainted.
"""
from __future__ import annotations

from typing import Callable

import torch
import torch.nn.functional as F

from stngan.models.vgg import VGG16Features

Critic = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
Logs = dict[str, float]


def critic_score(d_out: torch.Tensor) -> torch.Tensor:
    """(B, ...) patch scores (e.g. the concatenated global + local patches) → (B,) mean per sample."""
    return d_out.flatten(1).mean(dim=1)


def gradient_penalty(D: Critic, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor,
                     eps: torch.Tensor) -> torch.Tensor:
    """E[(‖∇_x̃ score(x̃)‖₂ − 1)²] with x̃ = eps·real + (1−eps)·fake, eps (B,) in [0, 1].

    The norm is per sample over all of x̃ (C·H·W); the graph is kept (create_graph) so the penalty
    trains D. real and fake are detached here.
    """
    e = eps.to(real.dtype).view(-1, *[1] * (real.dim() - 1))
    x = (e * real.detach() + (1 - e) * fake.detach()).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic_score(D(x, mask)).sum(), x, create_graph=True)
    return ((torch.linalg.vector_norm(grad.flatten(1), dim=1) - 1) ** 2).mean()


def d_wgan_gp_loss(D: Critic, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor,
                   lambda_gp: float = 10.0, generator: torch.Generator | None = None,
                   eps: torch.Tensor | None = None) -> tuple[torch.Tensor, Logs]:
    """Critic side of Eq. 1: −E[D(x)] + E[D(y)] + λ_gp·GP (minimised by D). fake is detached.

    eps (B,) ~ U(0, 1) per sample: given (the trainer derives it from the step, so data-parallel ranks
    slice one global draw), or drawn from `generator` (on its device) for reproducibility.
    Images are (B, 3, H, W) frames or (B, T, 3, H, W) windows for a temporal critic.
    """
    d_real = critic_score(D(real, mask))
    d_fake = critic_score(D(fake.detach(), mask))
    if eps is None:
        device = generator.device if generator is not None else real.device
        eps = torch.rand(real.shape[0], generator=generator, device=device)
    eps = eps.to(real.device)
    gp = gradient_penalty(D, real, fake, mask, eps)
    loss = -d_real.mean() + d_fake.mean() + lambda_gp * gp
    wdist = (d_real.mean() - d_fake.mean()).detach()
    return loss, {"d/loss": loss.item(), "d/real": d_real.mean().item(), "d/fake": d_fake.mean().item(),
                  "d/gp": gp.item(), "d/wdist": wdist.item()}


def g_adv_loss(D: Critic, fake: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, Logs]:
    """Generator side of Eq. 1: −E[D(y)]."""
    loss = -critic_score(D(fake, mask)).mean()
    return loss, {"g/adv": loss.item()}


def _feature_l1(fa: list[torch.Tensor], fb: list[torch.Tensor]) -> torch.Tensor:
    return sum((a - b).abs().mean() for a, b in zip(fa, fb))  # type: ignore[return-value]


def perceptual_loss(vgg: VGG16Features, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Eq. 2: Σ over pool1..pool3 of mean |f(x) − f(y)|.

    Each layer's L1 is averaged over its B·C·H·W elements (not summed as the ‖·‖₁ of Eq. 2 reads),
    so layers of different sizes weigh alike and λ = 10 of Eq. 3 stays meaningful. Symmetric.
    """
    if x.dim() == 5:  # (B, T, 3, H, W) windows: every frame counts (Algorithm 1 averages over time)
        x, y = x.flatten(0, 1), y.flatten(0, 1)
    feats = vgg(torch.cat([x, y]))
    n = x.shape[0]
    return _feature_l1([f[:n] for f in feats], [f[n:] for f in feats])


def masked_l1(real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |x − y| over the masked pixels (all channels); frames or (B, T, ...) windows."""
    m = mask.to(fake.dtype).expand_as(fake)
    return (m * (fake - real).abs()).sum() / m.sum().clamp(min=1.0)


COLOUR_BLUR_PX = 8  # box side of the low-pass in masked_colour_l1 (a mask circle is ~20-40 px across at 128²)


def _box_blur(v: torch.Tensor, k: int = COLOUR_BLUR_PX) -> torch.Tensor:
    """k×k box blur of (B, C, H, W), edges replicated (same size out)."""
    return F.avg_pool2d(F.pad(v, (k // 2, (k - 1) // 2, k // 2, (k - 1) // 2), mode="replicate"), k, stride=1)


def masked_colour_l1(real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Mean |blur(x) − blur(y)| over the masked pixels: the error of the fill's local colour and brightness
    (COLOUR_BLUR_PX box blur), blind to texture of zero local mean; frames or (B, T, ...) windows."""
    if fake.dim() == 5:
        real, fake, mask = real.flatten(0, 1), fake.flatten(0, 1), mask.flatten(0, 1)
    return masked_l1(_box_blur(real), _box_blur(fake), mask)


def masked_detail_l1(exemplar: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, Logs]:
    """Mean |hp(y) − hp(e)| over the masked pixels, hp(v) = v − blur(v) (COLOUR_BLUR_PX box): the fill's fine
    detail against the warped donor's (not in the paper: with ``masked_colour_l1`` to the real face, the colour
    comes from the person and the eyes', lids' and teeth's texture from the donor). (B, 3, H, W) frames or
    (B, T, ...) windows; ``mask`` should leave out where the donor's warp is invalid."""
    if fake.dim() == 5:
        exemplar, fake, mask = exemplar.flatten(0, 1), fake.flatten(0, 1), mask.flatten(0, 1)
    value = masked_l1(exemplar - _box_blur(exemplar), fake - _box_blur(fake), mask)
    return value, {"g/exemplar_detail": value.item()}


def _differences(v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Horizontal and vertical neighbour differences of (..., H, W)."""
    return v[..., :, 1:] - v[..., :, :-1], v[..., 1:, :] - v[..., :-1, :]


def distill_loss(teacher: torch.Tensor, student: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, Logs]:
    """Distillation (not in the paper): masked L1 between the student's and the teacher's fills plus masked L1
    between their horizontal and vertical differences where both pixels are masked, so that the smaller G copies
    the teacher's texture, not only its local mean. Both are (B, 3, H, W) background-copied outputs."""
    pixel = masked_l1(teacher, student, mask)
    m = mask.to(student.dtype)
    pair_masks = (m[..., :, 1:] * m[..., :, :-1], m[..., 1:, :] * m[..., :-1, :])
    grad = sum(masked_l1(t, s, pm) for t, s, pm in zip(_differences(teacher), _differences(student), pair_masks)) / 2
    loss = pixel + grad
    return loss, {"distill/pixel": pixel.item(), "distill/grad": grad.item(), "g/loss": loss.item()}


def g_loss(D: Critic, vgg: VGG16Features, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor,
           lambda_pct: float = 10.0, lambda_l1: float = 0.0, lambda_colour: float = 0.0) -> tuple[torch.Tensor, Logs]:
    """Eq. 3 for G: −E[D(y)] + λ_pct·L_pct(x, y) (+ λ_l1·masked L1 and λ_colour·masked colour L1, not in the
    paper; off by default).

    y is the background-copied output. A term whose weight is 0 is not computed.
    """
    loss, logs = g_adv_loss(D, fake, mask)
    if lambda_pct:
        pct = perceptual_loss(vgg, real, fake)
        loss = loss + lambda_pct * pct
        logs["g/pct"] = pct.item()
    loss, logs = with_reconstruction(loss, logs, real, fake, mask, lambda_l1, lambda_colour)
    return loss, {**logs, "g/loss": loss.item()}


def with_reconstruction(loss: torch.Tensor, logs: Logs, real: torch.Tensor, fake: torch.Tensor, mask: torch.Tensor,
                        lambda_l1: float, lambda_colour: float) -> tuple[torch.Tensor, Logs]:
    """``loss`` + λ_l1·masked L1 + λ_colour·masked colour L1 of ``fake`` against ``real`` (terms of weight 0 are
    not computed), with their values logged."""
    logs = dict(logs)
    for name, weight, term in (("g/l1_masked", lambda_l1, masked_l1), ("g/colour_masked", lambda_colour,
                                                                        masked_colour_l1)):
        if weight:
            value = term(real, fake, mask)
            loss = loss + weight * value
            logs[name] = value.item()
    return loss, logs


def _gram(f: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) → (B, C, C) Gram matrix divided by K_p = C·H·W (Liu et al. Eq. 4)."""
    b, c, h, w = f.shape
    flat = f.float().reshape(b, c, h * w)
    return flat @ flat.transpose(1, 2) / (c * h * w)


def _hole_tv(img: torch.Tensor, hole: torch.Tensor) -> torch.Tensor:
    """Liu et al.'s L_tv: L1 of neighbour differences with both pixels in the 1-px dilated hole, / numel."""
    region = F.max_pool2d(hole, 3, stride=1, padding=1)
    dx = region[..., :, 1:] * region[..., :, :-1] * (img[..., :, 1:] - img[..., :, :-1]).abs()
    dy = region[..., 1:, :] * region[..., :-1, :] * (img[..., 1:, :] - img[..., :-1, :]).abs()
    return (dx.sum() + dy.sum()) / img.numel()


def partialconv_loss(vgg: VGG16Features, out: torch.Tensor, comp: torch.Tensor, gt: torch.Tensor,
                     mask: torch.Tensor) -> tuple[torch.Tensor, Logs]:
    """Liu et al. 2018: L_valid + 6·L_hole + 0.05·L_perc + 120·(L_style_out + L_style_comp) + 0.1·L_tv.

    out = raw network output, comp = out inside the hole and gt outside, all (B,3,H,W); mask (B,1,H,W)
    1 = hole. Normalisations as in the paper: pixel terms / (C·H·W), perceptual per layer / (C·H·W),
    style per layer |Gram/K_p| summed / (C·C) with K_p = C·H·W, TV / (C·H·W); all averaged over the
    batch. VGG layers pool1..pool3.
    """
    hole = mask.to(out.dtype)
    diff = (out - gt).abs()
    l_valid = ((1 - hole) * diff).mean()
    l_hole = (hole * diff).mean()
    n = out.shape[0]
    feats = vgg(torch.cat([out, comp, gt]))
    f_out, f_comp, f_gt = ([f[i * n:(i + 1) * n] for f in feats] for i in range(3))
    l_perc = _feature_l1(f_out, f_gt) + _feature_l1(f_comp, f_gt)
    g_gt = [_gram(f) for f in f_gt]
    l_style_out = _feature_l1([_gram(f) for f in f_out], g_gt)
    l_style_comp = _feature_l1([_gram(f) for f in f_comp], g_gt)
    l_tv = _hole_tv(comp, hole)
    loss = l_valid + 6 * l_hole + 0.05 * l_perc + 120 * (l_style_out + l_style_comp) + 0.1 * l_tv
    terms = {"valid": l_valid, "hole": l_hole, "perc": l_perc, "style_out": l_style_out,
             "style_comp": l_style_comp, "tv": l_tv, "loss": loss}
    return loss, {f"pconv/{k}": v.item() for k, v in terms.items()}


def backward_warp(img: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """img (N, C, H, W) sampled at p + flow(p): flow (N, 2, H, W) in px, (x, y) order (stngan.metrics.flicker's
    convention). Bilinear, edges replicated; differentiable w.r.t. img."""
    n, _, h, w = img.shape
    assert flow.shape == (n, 2, h, w), f"flow {tuple(flow.shape)} does not fit img {tuple(img.shape)}"
    gy, gx = torch.meshgrid(torch.arange(h, device=img.device, dtype=flow.dtype),
                            torch.arange(w, device=img.device, dtype=flow.dtype), indexing="ij")
    qx = (gx + flow[:, 0]) * (2.0 / max(w - 1, 1)) - 1.0
    qy = (gy + flow[:, 1]) * (2.0 / max(h - 1, 1)) - 1.0
    grid = torch.stack([qx, qy], dim=-1).to(img.dtype)
    return F.grid_sample(img, grid, mode="bilinear", padding_mode="border", align_corners=True)


def warp_consistency_loss(y: torch.Tensor, flow: torch.Tensor, mask: torch.Tensor, valid: torch.Tensor,
                          gain: torch.Tensor | None = None) -> tuple[torch.Tensor, Logs]:
    """L_warp (not in the paper): mean |y_t − g_t·warp(y_{t−1}, flow_t)| over the pixels of frames t = 2..T
    inside mask_t whose flow source lies inside the crop (valid_t), all channels, pooled over batch and time.

    y (B, T, 3, H, W) outputs in [−1, 1]; flow (B, T, 2, H, W) exact backward flow of frame t to t−1 (frame 1's
    unused); mask, valid (B, T, 1, H, W); gain (B, T) known brightness of frame t over t−1 in [0, 1] space
    (None: 1). Gradients reach both frames. 0 for a perfectly consistent output.
    """
    b, t = y.shape[:2]
    assert y.dim() == 5 and t >= 2, f"y must be (B, T>=2, 3, H, W), got {tuple(y.shape)}"
    assert flow.shape == (b, t, 2, *y.shape[-2:]), f"flow {tuple(flow.shape)} does not fit y {tuple(y.shape)}"
    prev = backward_warp(y[:, :-1].flatten(0, 1), flow[:, 1:].flatten(0, 1).to(y.dtype)).view(b, t - 1, *y.shape[2:])
    if gain is not None:
        g = gain[:, 1:].to(y.dtype).view(b, t - 1, 1, 1, 1)
        prev = (prev + 1.0) * g - 1.0
    region = (mask[:, 1:] * valid[:, 1:]).to(y.dtype).expand_as(prev)
    loss = (region * (y[:, 1:] - prev).abs()).sum() / region.sum().clamp(min=1.0)
    return loss, {"g/warp": loss.item()}
