"""Figures of the report as PNG data URIs (matplotlib's object API, no pyplot state, no files)."""
from __future__ import annotations

import base64
import io
import textwrap

import numpy as np
from matplotlib.figure import Figure
from PIL import Image

from stngan.metrics.identity import IdentityDistances


def png_data_uri(img: np.ndarray) -> str:
    """(H, W, 3) uint8 -> ``data:image/png;base64,...``."""
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def figure_data_uri(fig: Figure, dpi: int = 100) -> str:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, bbox_inches="tight")
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def image_grid(columns: dict[str, np.ndarray], row_labels: list[str] | None = None, cell: float = 1.3) -> str:
    """Columns title -> (n, S, S, 3) uint8 images: an n-row grid, one column per entry (Fig. 4 / Fig. 6)."""
    titles = list(columns)
    n = len(next(iter(columns.values())))
    fig = Figure(figsize=(cell * len(titles), cell * n + 0.4))
    axes = fig.subplots(n, len(titles), squeeze=False)
    for j, title in enumerate(titles):
        for i in range(n):
            ax = axes[i][j]
            ax.imshow(columns[title][i])
            ax.set_xticks([])
            ax.set_yticks([])
            if i == 0:
                ax.set_title(textwrap.fill(title, 16), fontsize=7)
            if j == 0 and row_labels:
                ax.set_ylabel(row_labels[i][-18:], fontsize=6)
    fig.subplots_adjust(wspace=0.03, hspace=0.05)
    return figure_data_uri(fig)


def identity_plot(studies: dict[str, IdentityDistances], title: str) -> str:
    """Paper Fig. 7: per identity (x, sorted by the originals' mean) mean ± std of d(original, others) and
    d(inpainted, others) for each method."""
    fig = Figure(figsize=(9, 3.2))
    ax = fig.subplots()
    first = next(iter(studies.values()))
    order = np.argsort(first.original_mean)
    x = np.arange(len(order))
    ax.errorbar(x, first.original_mean[order], yerr=first.original_std[order], fmt="o", ms=3, capsize=2,
                color="black", label="original")
    for k, (label, d) in enumerate(studies.items()):
        ax.errorbar(x + 0.15 * (k + 1), d.inpainted_mean[order], yerr=d.inpainted_std[order], fmt="o", ms=3,
                    capsize=2, label=label)
    ax.set_xlabel("identity (sorted by the originals' distance)")
    ax.set_ylabel("ID distance to the person's other images")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return figure_data_uri(fig)


def flicker_plot(curves: dict[str, tuple[np.ndarray, np.ndarray]], title: str) -> str:
    """Per-frame warping error of each method (and the originals) along one video."""
    fig = Figure(figsize=(7, 2.6))
    ax = fig.subplots()
    for label, (frames, errors) in curves.items():
        ax.plot(frames, errors, lw=1.2, color="black" if label.startswith("Original") else None, label=label)
    ax.set_xlabel("frame")
    ax.set_ylabel("warping error (8-bit levels)")
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=7)
    return figure_data_uri(fig)
