"""The one exception type for bad input (a file, option, config or checkpoint the user gave).

The CLI prints a :class:`UserError` as one line and exits 1; every other exception is a bug and keeps its
traceback. Each concrete error also subclasses the builtin it refines (``ValueError``, ``FileNotFoundError``)
so library callers can catch either.
"""
from __future__ import annotations


class UserError(Exception):
    """Bad input from the user, not a bug: shown as one line without a traceback."""


class InputError(UserError, ValueError):
    """An option value or input path that cannot work; the message says which and why."""
