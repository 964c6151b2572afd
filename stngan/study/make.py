"""``stngan study make``: check the methods' videos of every clip agree, transcode them, write study.json."""
from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path

from stngan.study.errors import StudyError
from stngan.study.inputs import StudyInputs
from stngan.study.manifest import MANIFEST_NAME, ClipEntry, Manifest, VideoEntry
from stngan.study.store import DB_NAME, read_votes
from stngan.study.transcode import SourceInfo, inspect, transcode

VIDEO_DIR = "videos"


def _describe(sources: dict[str, SourceInfo], attribute: str) -> str:
    return ", ".join(f"{method}={getattr(info, attribute)}" for method, info in sources.items())


def check_clip(clip: str, sources: dict[str, SourceInfo]) -> SourceInfo:
    """Refuse a clip whose methods disagree on frame rate, size or (exact) frame count."""
    first = next(iter(sources.values()))
    for attribute, label in (("fps", "frame rates"), ("width", "widths"), ("height", "heights")):
        if len({getattr(info, attribute) for info in sources.values()}) > 1:
            raise StudyError(f"clip {clip!r}: the methods' videos differ in {label} "
                             f"({_describe(sources, attribute)}); they must be the same clip")
    exact = [info for info in sources.values() if info.frame_count_exact]
    if len({info.frame_count for info in exact}) > 1:
        raise StudyError(f"clip {clip!r}: the methods' videos differ in frame count "
                         f"({_describe(sources, 'frame_count')}); they must be the same clip")
    return first


def _refuse_existing(study_dir: Path, force: bool) -> None:
    votes, _ = read_votes(study_dir / DB_NAME)
    if votes:
        raise StudyError(f"{study_dir}: this study already has {len(votes)} votes in {DB_NAME}; "
                         "build the new study in another directory")
    if (study_dir / MANIFEST_NAME).exists() and not force:
        raise StudyError(f"{study_dir}: already holds a study; pass --force to rebuild it")


def make_study(study_dir: str | Path, inputs: StudyInputs, *, title: str = "Which video looks most realistic?",
               clips_per_participant: int | None = None, min_view_seconds: float | None = None,
               crf: int = 18, preset: str = "medium", force: bool = False,
               log: Callable[[str], None] = lambda _: None) -> Manifest:
    """Build a study in ``study_dir`` from ``inputs``; returns the manifest written to study.json."""
    study_dir = Path(study_dir)
    inputs.checked()
    per_participant = clips_per_participant or len(inputs.clips)
    if not 1 <= per_participant <= len(inputs.clips):
        raise StudyError(f"--clips-per-participant must be in 1..{len(inputs.clips)} (the number of clips), "
                         f"got {clips_per_participant}")
    _refuse_existing(study_dir, force)
    # Check every clip before the slow part, so a mismatch in the last clip does not waste an hour.
    sources = {clip: {m: inspect(videos[m]) for m in inputs.methods} for clip, videos in inputs.clips.items()}
    reference = {clip: check_clip(clip, infos) for clip, infos in sources.items()}
    shutil.rmtree(study_dir / VIDEO_DIR, ignore_errors=True)
    clips = [_make_clip(study_dir, clip, inputs.methods, sources[clip], reference[clip], crf, preset, log)
             for clip in inputs.clips]
    manifest = Manifest(study_id=secrets.token_hex(8), title=title, methods=list(inputs.methods), clips=clips,
                        clips_per_participant=per_participant, min_view_seconds=min_view_seconds,
                        created=datetime.now(timezone.utc).isoformat(timespec="seconds")).validate()
    manifest.save(study_dir)
    return manifest


def _make_clip(study_dir: Path, clip: str, methods: list[str], sources: dict[str, SourceInfo],
               reference: SourceInfo, crf: int, preset: str, log: Callable[[str], None]) -> ClipEntry:
    videos: dict[str, VideoEntry] = {}
    counts: dict[str, int] = {}
    for method in methods:
        relative = Path(VIDEO_DIR) / clip / f"{method}.mp4"
        counts[method] = transcode(sources[method].path, study_dir / relative, crf=crf, preset=preset)
        log(f"{clip} / {method}: {counts[method]} frames <- {sources[method].path}")
        videos[method] = VideoEntry(id=secrets.token_hex(8), file=relative.as_posix(),
                                    source=str(sources[method].path.resolve()),
                                    bytes=(study_dir / relative).stat().st_size)
    if len(set(counts.values())) > 1:
        shutil.rmtree(study_dir / VIDEO_DIR / clip, ignore_errors=True)
        raise StudyError(f"clip {clip!r}: the methods' videos decode to different frame counts "
                         f"({', '.join(f'{m}={n}' for m, n in counts.items())}); they must be the same clip")
    frames = counts[methods[0]]
    return ClipEntry(name=clip, frame_count=frames, fps=str(reference.fps), duration=float(frames / reference.fps),
                     width=reference.width + reference.width % 2, height=reference.height + reference.height % 2,
                     videos=videos)
