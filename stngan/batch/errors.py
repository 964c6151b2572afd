from __future__ import annotations

from stngan.errors import UserError


class BatchError(UserError, ValueError):
    """A batch cannot start (bad manifest, shard, job file or option): one line for the user."""
