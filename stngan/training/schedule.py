"""Learning-rate schedule: StarGAN's constant-then-decay, made an exact per-step linear decay to 0."""
from __future__ import annotations


def lr_factor(step: int, iters: int, decay_start: int) -> float:
    """1 for step < decay_start, then linear to exactly 0 at step == iters."""
    if step < decay_start or iters == decay_start:
        return 1.0
    return max(0.0, (iters - step) / (iters - decay_start))
