"""Loading weight files for the metric networks: strict, local only, one-line errors."""
from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load_file
from torch import nn


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    """Tensors of a .pth/.pt (loaded with weights_only=True) or .safetensors file."""
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"weight file not found: {p}")
    try:
        if p.suffix == ".safetensors":
            return load_file(str(p))
        state = torch.load(p, map_location="cpu", weights_only=True)
    except Exception as e:  # noqa: BLE001 - any unreadable file is bad input, reported in one line
        raise ValueError(f"{p}: not a readable weight file ({type(e).__name__}: {str(e).splitlines()[0][:120]})") from e
    if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
        state = state["state_dict"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{p}: expected a dict of tensors (a state dict)")
    return state


def load_exact(module: nn.Module, state: dict[str, torch.Tensor], source: str | Path) -> nn.Module:
    """Load ``state`` into ``module`` requiring the same keys and shapes; eval mode, no gradients."""
    own = module.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    wrong = [k for k in own if k in state and own[k].shape != state[k].shape]
    if missing or unexpected or wrong:
        raise ValueError(f"{source} does not fit {type(module).__name__}: missing {len(missing)} {missing[:2]}, "
                         f"unexpected {len(unexpected)} {unexpected[:2]}, wrong shape {wrong[:2]}")
    module.load_state_dict(state)
    module.eval().requires_grad_(False)
    return module
