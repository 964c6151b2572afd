"""The job file: one JSON line per input (status, output, options, duration, faces, error), rewritten atomically.

Only the coordinating process (the local parent or the Ray driver) writes it, so there is never a second
writer. It is replaced as a whole (temp file + ``os.replace``) at most every ``flush_seconds`` and at the
end, so a reader or a crash never sees half a file; a hard kill of the coordinator loses at most the last
``flush_seconds`` of results, and those files are simply processed again (docs/BATCH.md).
"""
from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path

from stngan.batch.errors import BatchError

FORMAT = "stngan-jobs/1"
DONE, FAILED, SKIPPED = "done", "failed", "skipped"  # skipped: not an image or video this tool reads
# fields that differ between two runs doing the same work (timing); everything else is reproducible
VOLATILE = ("duration_s", "finished")


class JobFile:
    def __init__(self, path: Path, flush_seconds: float = 2.0) -> None:
        self.path = path
        self.flush_seconds = flush_seconds
        self.records: dict[str, dict] = load_records(path)
        self._dirty = False
        self._written = time.monotonic()

    def update(self, record: dict) -> None:
        self.records[record["input"]] = record
        self._dirty = True
        if time.monotonic() - self._written >= self.flush_seconds:
            self.flush()

    def flush(self) -> None:
        if self._dirty or not self.path.exists():
            write_records(self.path, self.records.values())
            self._dirty = False
        self._written = time.monotonic()


def load_records(path: Path) -> dict[str, dict]:
    """Records by input; an absent file is an empty job."""
    if not path.exists():
        return {}
    records: dict[str, dict] = {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                raise BatchError(f"{path}:{number}: not a job file line (JSON Lines); move the file away to start over") from None
            if "format" in record:
                if record["format"] != FORMAT:
                    raise BatchError(f"{path}: job file format {record['format']!r}, this stngan writes {FORMAT!r}")
                continue
            records[record["input"]] = record
    return records


def write_records(path: Path, records) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps({"format": FORMAT}) + "\n")
            for record in sorted(records, key=lambda r: r["input"]):
                f.write(json.dumps(record, separators=(",", ":"), sort_keys=True) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def comparable(record: dict) -> dict:
    """A record without its timing: equal for the same work done by any runner."""
    return {k: v for k, v in record.items() if k not in VOLATILE}
