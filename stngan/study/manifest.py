"""``study.json``: the clips, methods and transcoded video files of a preference study.

The manifest is the only source of what the server may serve: every video is addressed by an opaque
random ``id`` (so a participant cannot read the method from a URL) and the server maps ids to files listed
here, never to paths taken from a request.
"""
from __future__ import annotations

import json
import os
import re
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from stngan.study.errors import StudyError

MANIFEST_NAME = "study.json"
FORMAT_VERSION = 1
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
_VIDEO_ID = re.compile(r"^[0-9a-f]{16,64}$")


def check_name(kind: str, name: str) -> str:
    """Clip and method names become file names: letters, digits and ``._+-``, at most 64, no leading dot."""
    if not _NAME.match(name):
        raise StudyError(f"invalid {kind} name {name!r}: use letters, digits and . _ + - "
                         "(at most 64, starting with a letter or digit)")
    return name


@dataclass(frozen=True)
class VideoEntry:
    """One method's transcoded video of a clip; ``file`` is relative to the study directory."""

    id: str
    file: str
    source: str
    bytes: int


@dataclass(frozen=True)
class ClipEntry:
    """One clip: the same frames inpainted by every method, transcoded to browser-playable MP4."""

    name: str
    frame_count: int
    fps: str  # exact rational, e.g. "30000/1001"
    duration: float  # seconds = frame_count / fps
    width: int
    height: int
    videos: dict[str, VideoEntry]  # method -> video

    @property
    def fps_value(self) -> float:
        return float(Fraction(self.fps))


@dataclass(frozen=True)
class Manifest:
    """Everything ``serve`` and ``results`` need about a study (written by ``make``)."""

    study_id: str
    title: str
    methods: list[str]
    clips: list[ClipEntry]
    clips_per_participant: int
    min_view_seconds: float | None = None  # None: one full pass of the clip unlocks voting
    created: str = ""
    version: int = FORMAT_VERSION
    extra: dict[str, Any] = field(default_factory=dict)

    def clip(self, name: str) -> ClipEntry:
        for clip in self.clips:
            if clip.name == name:
                return clip
        raise KeyError(name)

    def videos_by_id(self, root: Path) -> dict[str, Path]:
        """Opaque video id -> absolute file path (the server's whole view of the file system)."""
        return {v.id: root / v.file for clip in self.clips for v in clip.videos.values()}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, sort_keys=False) + "\n"

    def save(self, study_dir: Path) -> Path:
        """Write ``study.json`` atomically (temporary file, then rename)."""
        path = Path(study_dir) / MANIFEST_NAME
        tmp = path.with_name(f".{path.name}.partial")
        tmp.write_text(self.to_json(), encoding="utf-8")
        os.replace(tmp, path)
        return path

    def validate(self) -> Manifest:
        if self.version != FORMAT_VERSION:
            raise StudyError(f"unsupported study.json version {self.version}; expected {FORMAT_VERSION}")
        if len(self.methods) < 2 or len(set(self.methods)) != len(self.methods):
            raise StudyError(f"a study needs at least 2 distinct methods, got {self.methods}")
        if not self.clips or len({c.name for c in self.clips}) != len(self.clips):
            raise StudyError("a study needs at least one clip and clip names must be unique")
        if not 1 <= self.clips_per_participant <= len(self.clips):
            raise StudyError(f"clips_per_participant must be in 1..{len(self.clips)}, "
                             f"got {self.clips_per_participant}")
        for name in self.methods:
            check_name("method", name)
        for clip in self.clips:
            check_name("clip", clip.name)
            if sorted(clip.videos) != sorted(self.methods):
                raise StudyError(f"clip {clip.name!r} has videos for {sorted(clip.videos)}, "
                                 f"expected {sorted(self.methods)}")
            for video in clip.videos.values():
                if not _VIDEO_ID.match(video.id) or Path(video.file).is_absolute() or ".." in Path(video.file).parts:
                    raise StudyError(f"clip {clip.name!r}: bad video entry {video.id!r} -> {video.file!r}")
        ids = [v.id for c in self.clips for v in c.videos.values()]
        if len(set(ids)) != len(ids):
            raise StudyError("video ids in study.json are not unique")
        return self


def _clip_from_dict(data: dict[str, Any]) -> ClipEntry:
    videos = {method: VideoEntry(**video) for method, video in data["videos"].items()}
    return ClipEntry(**{**data, "videos": videos})


def load_manifest(study_dir: str | os.PathLike) -> Manifest:
    """Read and validate ``STUDY_DIR/study.json``; any problem is one :class:`StudyError` line."""
    path = Path(study_dir) / MANIFEST_NAME
    if not path.is_file():
        raise StudyError(f"{path}: no study manifest here; create one with `stngan study make`")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        clips = [_clip_from_dict(c) for c in data.pop("clips")]
        return Manifest(**data, clips=clips).validate()
    except StudyError as error:
        raise StudyError(f"{path}: {error}") from None
    except (ValueError, TypeError, KeyError, AttributeError) as error:
        raise StudyError(f"{path}: malformed study manifest ({type(error).__name__}: {error})") from None
