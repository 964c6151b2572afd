"""Human preference study (paper Sec. 4.3, Table 2b): participants see the N methods' videos of a clip side
by side, synchronized, in random order, and pick the most realistic one.

``make`` (:func:`make_study`) transcodes the videos and writes ``study.json``; ``serve``
(:func:`create_app`) runs the page and records votes in SQLite; ``results`` (:func:`compute_results`,
:func:`results_html_section`) computes vote shares with 95 % Wilson intervals. See docs/STUDY.md.
Web modules (Starlette) are imported lazily by :func:`create_app`, so ``make`` and ``results`` do not need them;
PyAV lazily by :func:`make_study`, so ``stngan`` starts where PyAV is missing (a training-only GPU machine).
"""
from __future__ import annotations

from typing import Any

from stngan.study.errors import StudyError
from stngan.study.inputs import StudyInputs
from stngan.study.manifest import Manifest, load_manifest
from stngan.study.report_html import results_html_section, write_results_html
from stngan.study.results import StudyResults, compute_results
from stngan.study.stats import wilson_interval


def make_study(*args: Any, **kwargs: Any) -> Any:
    """See :func:`stngan.study.make.make_study` (imported here on first use)."""
    from stngan.study.make import make_study as _make_study  # PyAV on first use: a training-only machine has none

    return _make_study(*args, **kwargs)


def create_app(*args: Any, **kwargs: Any) -> Any:
    """See :func:`stngan.study.server.create_app` (imported here on first use)."""
    from stngan.study.server import create_app as _create_app  # Starlette on first use: `stngan --help` stays fast

    return _create_app(*args, **kwargs)


__all__ = ["Manifest", "StudyError", "StudyInputs", "StudyResults", "compute_results", "create_app",
           "load_manifest", "make_study", "results_html_section", "wilson_interval", "write_results_html"]
