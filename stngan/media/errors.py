"""The one exception type of :mod:`stngan.media` and the translation of PyAV/OS errors into it."""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

import av

from stngan.errors import UserError


class MediaError(UserError, ValueError):
    """A video that cannot be read or written; ``str(error)`` is one line that starts with the file path."""

    def __init__(self, path: str | os.PathLike, reason: str) -> None:
        self.path = os.fspath(path)
        self.reason = " ".join(str(reason).split())
        super().__init__(f"{self.path}: {self.reason}")

    def __reduce__(self):  # the default would call __init__ with the formatted message only
        return type(self), (self.path, self.reason)


def describe(error: BaseException) -> str:
    """Short text of a PyAV/OS error without the file name PyAV appends (the caller already names the file)."""
    text = getattr(error, "strerror", None) or str(error) or type(error).__name__
    return " ".join(str(text).split())


@contextmanager
def media_errors(path: str | os.PathLike, action: str) -> Iterator[None]:
    """Re-raise PyAV and OS errors raised inside the block as ``MediaError(path, f"{action}: ...")``."""
    try:
        yield
    except MediaError:
        raise
    except (av.FFmpegError, OSError, EOFError) as error:
        raise MediaError(path, f"{action}: {describe(error)}") from error
