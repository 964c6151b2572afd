"""The one exception type of :mod:`stngan.study`: bad input or a study directory that cannot be used."""
from __future__ import annotations

from stngan.errors import UserError


class StudyError(UserError, ValueError):
    """A one-line, user-facing reason (bad spec, mismatched clips, unreadable manifest or database)."""

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
