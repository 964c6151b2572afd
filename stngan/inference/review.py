"""The privacy officer's audit page of one anonymisation (`stngan anonymize --review REPORT.html`).

One self-contained HTML file (inline CSS, PNG data URIs, no script, no external URL) built from the
original, unmasked input and its sidecar: a summary, a contact sheet of every face track (first / middle /
last crop with the mask circles drawn), faces per frame over time, the frames without any face (ranges and
thumbnails, to check by eye that no face was missed) and the faces that needed a fallback mask rule.
The input is decoded once, and only the small crops and thumbnails that the sidecar says are needed are
kept, so memory stays bounded on long videos.
"""
from __future__ import annotations

import html
import os
import tempfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from tqdm import tqdm

from stngan.faces.image_io import load_image
from stngan.inference.review_figures import (PAGE_CSS, counts_text, evenly_spaced, face_count_plot, face_crop,
                                             frame_ranges, plural, ranges_text, thumbnail)
from stngan.inference.sidecar import FACE_ORIGINS, MASK_RULES, FaceRecord, Sidecar
from stngan.media import VideoReader, to_display
from stngan.report.figures import png_data_uri
from stngan.report.html import Section, figure_html, paragraph, render, table_html
from stngan.report.tables import Table

FALLBACK_RULES = ("lm5", "box")  # mask rules that did not use a 68-point fit
MAX_THUMBNAILS = 24
MAX_FALLBACK_CROPS = 60

CropKey = tuple[int, int]  # (frame index, track id)


@dataclass
class Track:
    """All faces of one track id, in frame order."""

    id: int
    faces: list[tuple[int, FaceRecord]] = field(default_factory=list)

    @property
    def rules(self) -> Counter:
        return Counter(f.rule for _, f in self.faces)

    @property
    def origins(self) -> Counter:
        return Counter(f.origin for _, f in self.faces)

    @property
    def uses_fallback(self) -> bool:
        return any(f.rule in FALLBACK_RULES for _, f in self.faces)

    def samples(self) -> list[tuple[str, int, FaceRecord]]:
        """(label, frame, face) of the first, middle and last face; fewer when the track is that short."""
        picks = dict.fromkeys((0, len(self.faces) // 2, len(self.faces) - 1))
        labels = ("first", "middle", "last") if len(picks) == 3 else ("first", "last")[:len(picks)]
        return [(label, *self.faces[k]) for label, k in zip(labels, picks)]


@dataclass
class ReviewPlan:
    """What the page shows, decided from the sidecar alone: tracks, sampled faces and frames to decode."""

    frame_count: int
    tracks: list[Track]
    fallback: list[tuple[int, FaceRecord]]  # every face with a fallback rule
    no_face: list[int]
    faces_per_frame: dict[int, list[FaceRecord]]

    def crops_wanted(self) -> dict[int, list[tuple[CropKey, FaceRecord]]]:
        """Frame index -> the faces to crop there (track samples and sampled fallback faces)."""
        wanted: dict[int, dict[CropKey, FaceRecord]] = {}
        faces = [(i, f) for t in self.tracks for _, i, f in t.samples()]
        for i, f in faces + evenly_spaced(self.fallback, MAX_FALLBACK_CROPS):
            wanted.setdefault(i, {})[(i, f.track)] = f
        return {i: list(d.items()) for i, d in wanted.items()}

    def thumbnails_wanted(self) -> list[int]:
        return evenly_spaced(self.no_face, MAX_THUMBNAILS)


@dataclass
class Pictures:
    """PNG data URIs cut from the decoded frames."""

    crops: dict[CropKey, str] = field(default_factory=dict)
    thumbnails: dict[int, str] = field(default_factory=dict)


def plan_review(sidecar: Sidecar) -> ReviewPlan:
    """Group the sidecar's faces into tracks and list fallback faces and frames without a face."""
    per_frame = {fr.index: fr.faces for fr in sorted(sidecar.frames, key=lambda fr: fr.index) if fr.faces}
    tracks: dict[int, Track] = {}
    for i, faces in per_frame.items():
        for f in faces:
            tracks.setdefault(f.track, Track(f.track)).faces.append((i, f))
    frame_count = 1 if sidecar.source.get("kind") == "image" else int(sidecar.source.get("frame_count") or 0)
    frame_count = max(frame_count, max(per_frame, default=-1) + 1)
    fallback = [(i, f) for i, faces in per_frame.items() for f in faces if f.rule in FALLBACK_RULES]
    return ReviewPlan(frame_count, [tracks[k] for k in sorted(tracks)], fallback,
                      [i for i in range(frame_count) if i not in per_frame], per_frame)


def _display_frames(media: Path, sidecar: Sidecar, last: int,
                    progress: bool) -> Iterator[tuple[int, np.ndarray]]:
    """(index, display-oriented RGB frame) up to index ``last``; images are one frame, EXIF applied."""
    if sidecar.source.get("kind") == "image":
        yield 0, load_image(media)
        return
    rotation = int(sidecar.source.get("rotation", 0) or 0)
    bar = tqdm(total=last + 1, desc="review", unit="frame", disable=not progress)
    with VideoReader(media) as reader, bar:
        for frame in reader:
            yield frame.index, to_display(frame.image, rotation)
            bar.update(1)
            if frame.index >= last:
                break


def collect_pictures(media: Path, sidecar: Sidecar, plan: ReviewPlan, progress: bool = False) -> Pictures:
    """Decode ``media`` once and cut the planned crops and thumbnails."""
    crops, thumbs = plan.crops_wanted(), set(plan.thumbnails_wanted())
    pictures = Pictures()
    last = max([*crops, *thumbs], default=-1)
    if last < 0:
        return pictures
    for index, image in _display_frames(media, sidecar, last, progress):
        if index == 0:
            sidecar.check_matches(image.shape[1], image.shape[0], None, media.name)
        for key, face in crops.get(index, []):
            pictures.crops[key] = png_data_uri(face_crop(image, face))
        if index in thumbs:
            pictures.thumbnails[index] = png_data_uri(thumbnail(image))
    return pictures


def _summary(media: Path, sidecar: Sidecar, plan: ReviewPlan) -> Section:
    """File facts and face counts by rule and origin; a loud warning when no face was found at all."""
    src, faces = sidecar.source, [f for fs in plan.faces_per_frame.values() for f in fs]
    rotation = int(src.get("rotation", 0) or 0)
    size = f"{src.get('width')}×{src.get('height')}" + (f", rotated {rotation}°" if rotation else "")
    table = Table("File and faces", ["Item", "Value"], [
        ["File", media.name], ["Kind", str(src.get("kind", "?"))],
        ["Size (as displayed)", size],
        ["Frames", str(plan.frame_count)], ["Frames with faces", str(len(plan.faces_per_frame))],
        ["Frames with no face", str(len(plan.no_face))], ["Faces (face-frames)", str(len(faces))],
        ["Tracks", str(len(plan.tracks))],
        ["Tracks that used a fallback mask", str(sum(t.uses_fallback for t in plan.tracks))]])
    table.rows += [[f"Faces with mask rule {r}", str(sum(f.rule == r for f in faces))] for r in MASK_RULES]
    table.rows += [[f"Faces {o}", str(sum(f.origin == o for f in faces))] for o in FACE_ORIGINS]
    table.notes = ["Mask rules: lm68 = 68 landmarks; lm68+lm5 = plus detector points; lm5 / box = fallbacks "
                   "(5 detector points only / box geometry only). Origins: detected in the frame, interpolated "
                   "between detections, or held past a track's end."]
    kind = html.escape(str(src.get("kind", "file")))
    alert = "" if faces else (f'<p class="alert">No face was found in this {kind}: nothing was masked. '
                              "Check the frames below by eye.</p>")
    return Section("summary", "Summary", PAGE_CSS + alert + table_html(table))


def _track_row(track: Track, pictures: Pictures) -> str:
    """One contact-sheet row: sample crops and a caption; fallback tracks flagged."""
    figures = "".join(_crop_figure(pictures, i, f, " · ".join([label, f"frame {i}", *_unusual(f)]))
                      for label, i, f in track.samples())
    first, last = track.faces[0][0], track.faces[-1][0]
    origins = track.origins
    badge = '<span class="badge">FALLBACK MASK</span> ' if track.uses_fallback else ""
    span = f"frame {first}" if first == last else f"frames {first}–{last}"
    rules = html.escape(counts_text(track.rules, MASK_RULES))
    caption = (f'<div class="cap">{badge}<b>track {track.id}</b><br>{span} ({plural(len(track.faces), "frame")})'
               f"<br>rules: {rules}<br>interpolated {origins['interpolated']}, held {origins['held']}</div>")
    cls = "track fallback" if track.uses_fallback else "track"
    return f'<div class="{cls}" id="track-{track.id}">{caption}{figures}</div>'


def _unusual(face: FaceRecord) -> list[str]:
    """The face's rule and origin where they are not the usual lm68 / detected."""
    return [x for x, usual in ((face.rule, "lm68"), (face.origin, "detected")) if x != usual]


def _crop_figure(pictures: Pictures, index: int, face: FaceRecord, caption: str) -> str:
    """The face's crop with ``caption``, or a line saying its frame could not be decoded."""
    uri = pictures.crops.get((index, face.track))
    return figure_html(uri, caption) if uri else paragraph(f"{caption}: frame not decoded")


def _tracks(plan: ReviewPlan, pictures: Pictures) -> Section:
    if not plan.tracks:
        return Section("tracks", "Face tracks", paragraph("No face track: no face was masked."))
    flagged = sum(t.uses_fallback for t in plan.tracks)
    intro = paragraph(f"{plural(len(plan.tracks), 'track')}, {flagged} used a fallback mask (red). Crops: face "
                      "box padded 30 %, mask circles in red over the original pixels.")
    return Section("tracks", "Face tracks", intro + "".join(_track_row(t, pictures) for t in plan.tracks))


def _timeline(sidecar: Sidecar, plan: ReviewPlan) -> Section:
    """Faces per frame as a plot (videos) or a line of text (images)."""
    if sidecar.source.get("kind") == "image":
        found = plural(len(plan.faces_per_frame.get(0, [])), "face")
        return Section("timeline", "Faces per frame", paragraph(f"Image: {found}."))
    counts, interpolated, held = (np.zeros(plan.frame_count, np.int32) for _ in range(3))
    for i, faces in plan.faces_per_frame.items():
        counts[i] = len(faces)
        interpolated[i] = sum(f.origin == "interpolated" for f in faces)
        held[i] = sum(f.origin == "held" for f in faces)
    caption = "faces per frame; orange: frame has interpolated faces, purple: held faces, red ticks: no face"
    return Section("timeline", "Faces per frame", figure_html(face_count_plot(counts, interpolated, held), caption))


def _no_face(plan: ReviewPlan, pictures: Pictures) -> Section:
    """Ranges of frames without a face and a strip of evenly spaced thumbnails of them."""
    if not plan.no_face:
        return Section("noface", "Frames with no face", paragraph("Every frame has at least one face."))
    text = paragraph(f"{len(plan.no_face)} frames with no face: {ranges_text(frame_ranges(plan.no_face))}")
    thumbs = "".join(figure_html(pictures.thumbnails[i], f"frame {i}") if i in pictures.thumbnails
                     else paragraph(f"frame {i}: not decoded") for i in plan.thumbnails_wanted())
    note = paragraph("Check by eye that none of these frames shows a face (evenly spaced sample).")
    return Section("noface", "Frames with no face", text + note + f'<div class="grid">{thumbs}</div>')


def _fallback(plan: ReviewPlan, pictures: Pictures) -> Section:
    """A grid of (sampled) faces whose mask came from a fallback rule."""
    title = "Faces that needed a fallback mask"
    if not plan.fallback:
        return Section("fallback", title, paragraph("None: every mask was built from 68 landmarks."))
    shown = evenly_spaced(plan.fallback, MAX_FALLBACK_CROPS)
    intro = paragraph(f"{len(plan.fallback)} faces used a fallback rule (lm5 / box); {len(shown)} shown.")
    grid = "".join(_crop_figure(pictures, i, f, f"frame {i} · {f.rule} · track {f.track}") for i, f in shown)
    return Section("fallback", title, intro + f'<div class="grid">{grid}</div>')


def _write_atomic(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file next to ``path`` and rename it over ``path`` (folders made)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_review(media: Path, sidecar: Sidecar, out_html: Path, *, progress: bool = False) -> Path:
    """Write the audit page of anonymising ``media`` (the original input) with ``sidecar`` to ``out_html``."""
    media, out_html = Path(media), Path(out_html)
    plan = plan_review(sidecar)
    pictures = collect_pictures(media, sidecar, plan, progress)
    sections = [_summary(media, sidecar, plan), _tracks(plan, pictures), _timeline(sidecar, plan),
                _no_face(plan, pictures), _fallback(plan, pictures)]
    _write_atomic(out_html, render(f"Anonymisation review: {media.name}", sections))
    return out_html
