"""File names of generated items: item ``index`` of the run with ``seed`` (shared by the writers and the
direction fit, which reuses written images)."""
from __future__ import annotations


def image_name(seed: int, index: int) -> str:
    """File name of image ``index`` of the run with ``seed``: ``synth_{seed}_{index:06d}.png``."""
    return f"synth_{seed}_{index:06d}.png"


def video_name(seed: int, index: int, fmt: str = "mkv") -> str:
    """``synth_{seed}_{index:06d}.mkv`` (or a folder of that name without suffix for ``fmt='png'``)."""
    return f"synth_{seed}_{index:06d}" + (".mkv" if fmt == "mkv" else "")
