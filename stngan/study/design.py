"""Randomisation of one participant's trials: which clips in which order, and the left-to-right order."""
from __future__ import annotations

import random

from stngan.study.manifest import Manifest


def plan_session(manifest: Manifest, rng: random.Random) -> list[tuple[str, list[str]]]:
    """``[(clip, methods left to right), ...]``: ``clips_per_participant`` clips drawn without replacement in
    random order, each with an independent uniformly random permutation of the methods."""
    clips = rng.sample([c.name for c in manifest.clips], manifest.clips_per_participant)
    return [(clip, rng.sample(manifest.methods, len(manifest.methods))) for clip in clips]
