"""Which video each method produced for each clip, from the command line or a spec file.

Three equivalent ways, combinable:

* tokens ``CLIP METHOD=VIDEO [METHOD=VIDEO ...] [CLIP METHOD=VIDEO ...]`` (a token without ``=`` starts
  a clip);
* ``--method-dir METHOD=DIR``: every video file in DIR is a clip named after its stem;
* ``--spec FILE`` (YAML or JSON): ``{"methods": [...optional order...], "clips": {CLIP: {METHOD: VIDEO}}}``,
  relative paths taken from the spec file's folder.

Methods keep the order of first appearance (or the spec's ``methods``); that order is only cosmetic
(tables), participants always see a random left-to-right order.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from stngan.study.errors import StudyError
from stngan.study.manifest import check_name

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi", ".gif")


@dataclass
class StudyInputs:
    """clip -> method -> source video, with the method order of first appearance."""

    methods: list[str] = field(default_factory=list)
    clips: dict[str, dict[str, Path]] = field(default_factory=dict)

    def add(self, clip: str, method: str, video: str | Path) -> None:
        check_name("clip", clip)
        check_name("method", method)
        videos = self.clips.setdefault(clip, {})
        if method in videos:
            raise StudyError(f"clip {clip!r} lists method {method!r} twice")
        videos[method] = Path(video)
        if method not in self.methods:
            self.methods.append(method)

    def checked(self) -> StudyInputs:
        """Every clip has a video for every method, every file exists, at least 2 methods and 1 clip."""
        if not self.clips:
            raise StudyError("no clips given: pass CLIP METHOD=VIDEO ..., --method-dir or --spec")
        if len(self.methods) < 2:
            raise StudyError(f"a preference study needs at least 2 methods, got {self.methods}")
        for clip, videos in self.clips.items():
            missing = [m for m in self.methods if m not in videos]
            if missing:
                raise StudyError(f"clip {clip!r} has no video for method(s) {', '.join(missing)}")
        for clip, videos in self.clips.items():
            for method, path in videos.items():
                if not path.is_file():
                    raise StudyError(f"{path}: no such file (clip {clip!r}, method {method!r})")
        return self


def _split_pair(token: str, what: str) -> tuple[str, str]:
    key, sep, value = token.partition("=")
    if not sep or not key or not value:
        raise StudyError(f"expected {what}, got {token!r}")
    return key, value


def add_tokens(inputs: StudyInputs, tokens: list[str] | tuple[str, ...]) -> None:
    """``CLIP METHOD=VIDEO ... CLIP METHOD=VIDEO ...``."""
    clip: str | None = None
    for token in tokens:
        if "=" not in token:
            if clip is not None and clip not in inputs.clips:
                raise StudyError(f"clip {clip!r} is followed by no METHOD=VIDEO")
            clip = token
            continue
        if clip is None:
            raise StudyError(f"{token!r} comes before any clip name; write CLIP METHOD=VIDEO ...")
        method, video = _split_pair(token, "METHOD=VIDEO")
        inputs.add(clip, method, video)
    if clip is not None and clip not in inputs.clips:
        raise StudyError(f"clip {clip!r} is followed by no METHOD=VIDEO")


def add_method_dir(inputs: StudyInputs, pair: str) -> None:
    """``METHOD=DIR``: the videos in DIR, one clip per file stem."""
    method, folder = _split_pair(pair, "METHOD=DIR")
    root = Path(folder)
    if not root.is_dir():
        raise StudyError(f"{root}: not a directory (--method-dir {method}=...)")
    videos = sorted(p for p in root.iterdir() if p.is_file() and p.suffix.lower() in VIDEO_SUFFIXES)
    if not videos:
        raise StudyError(f"{root}: no video files ({', '.join(VIDEO_SUFFIXES)})")
    for video in videos:
        inputs.add(video.stem, method, video)


def add_spec(inputs: StudyInputs, spec_path: str | Path) -> dict[str, Any]:
    """Read a YAML/JSON spec; returns its other top-level keys (title, clips_per_participant, ...)."""
    path = Path(spec_path)
    try:
        text = path.read_text(encoding="utf-8")
        data = json.loads(text) if path.suffix.lower() == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as error:
        raise StudyError(f"{path}: cannot read spec ({' '.join(str(error).split())})") from None
    if not isinstance(data, dict) or not isinstance(data.get("clips"), dict):
        raise StudyError(f"{path}: a spec is a mapping with 'clips: {{CLIP: {{METHOD: VIDEO}}}}'")
    for method in data.get("methods") or []:
        if method not in inputs.methods:
            inputs.methods.append(check_name("method", str(method)))
    for clip, videos in data["clips"].items():
        if not isinstance(videos, dict):
            raise StudyError(f"{path}: clip {clip!r} must map METHOD: VIDEO")
        for method, video in videos.items():
            inputs.add(str(clip), str(method), path.parent / str(video))
    return {k: v for k, v in data.items() if k not in ("clips", "methods")}
