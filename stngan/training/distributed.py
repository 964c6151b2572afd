"""Data-parallel training under `torchrun`: one process per device, gradients averaged by hand.

Hand-averaged gradients instead of DistributedDataParallel because the WGAN-GP critic step needs a
double backward (create_graph=True), which DDP's reducer does not support. Each rank runs its slice of the
global batch; with per-sample losses averaged over equal slices, the averaged gradient equals the
single-process gradient of the whole global batch.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


@dataclass(frozen=True)
class DistInfo:
    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_from_env(device_type: str) -> DistInfo:
    """Join the process group that torchrun describes in the environment; single process otherwise."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world == 1:
        return DistInfo()
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo")
    info = DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    if device_type == "cuda":
        torch.cuda.set_device(info.local_rank)
    return info


def average_gradients(module: nn.Module, info: DistInfo) -> None:
    if info.world == 1:
        return
    grads = [p.grad for p in module.parameters() if p.grad is not None]
    if not grads:
        return
    flat = torch.cat([g.reshape(-1) for g in grads])
    dist.all_reduce(flat)
    flat /= info.world
    offset = 0
    for g in grads:
        g.copy_(flat[offset:offset + g.numel()].view_as(g))
        offset += g.numel()


def broadcast_module(module: nn.Module, info: DistInfo) -> None:
    """Make every rank start from rank 0's weights."""
    if info.world == 1:
        return
    for t in list(module.parameters()) + list(module.buffers()):
        dist.broadcast(t.data, src=0)


def barrier(info: DistInfo) -> None:
    if info.world > 1:
        dist.barrier()
