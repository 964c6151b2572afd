"""What every evaluated method is: MethodInput (masked crops, mask, condition, landmarks) -> output crops.

A method returns (B, 3, S, S) float in [-1, 1]; the evaluation rounds it to 8 bits like a saved image.
The methods themselves: :mod:`stngan.evaluation.methods` (OpenCV, checkpoints) and
:mod:`stngan.evaluation.external` (outputs another system wrote).
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch

from stngan.errors import UserError
from stngan.evaluation.batch import MethodInput


class MethodError(UserError, ValueError):
    """A method spec that names nothing usable, or external outputs that do not match the evaluation set."""


class Method(ABC):
    """``label`` names the method in tables; ``fingerprint()`` changes whenever its outputs could."""

    label: str
    uses_landmarks: bool = False
    history: int = 0  # previous frames of a track the method remembers (STN: T - 1)

    @abstractmethod
    def fingerprint(self) -> str: ...

    @abstractmethod
    def __call__(self, inp: MethodInput) -> torch.Tensor: ...

    def reset(self) -> None:
        """Forget per-track state (called before each pass over a set)."""
