"""Wilson score interval for a vote share (the confidence interval reported with Table 2b)."""
from __future__ import annotations

import math

Z_95 = 1.959963984540054  # two-sided 95 %: the 0.975 quantile of the standard normal


def wilson_interval(successes: int, trials: int, z: float = Z_95) -> tuple[float, float]:
    """Wilson score interval (no continuity correction) for ``successes`` out of ``trials``.

    Unlike the normal (Wald) interval it stays inside [0, 1] and behaves at shares near 0 % or 100 %,
    which Table 2b has (1.5 % vs 84 %). Raises ValueError for ``trials == 0``.
    """
    if trials <= 0 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials > 0, got {successes}/{trials}")
    p = successes / trials
    z2 = z * z
    denominator = 1 + z2 / trials
    centre = (p + z2 / (2 * trials)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / trials + z2 / (4 * trials * trials))
    return max(0.0, centre - half), min(1.0, centre + half)
