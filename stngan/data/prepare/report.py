"""The preparation report: what was seen, kept and refused; summed over shards."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from typing import Any

COUNTERS = ("units", "frames", "faces", "no_face", "several", "annotated")


@dataclass
class Report:
    """Counts and problem lists for a set of units.

    ``frames``: images and video frames decoded ("images seen"); ``faces``: frames where a face was kept
    (= items stored); ``no_face``: frames without a face; ``several``: frames with two or more faces (one
    was kept, see FaceExtractor); ``annotated``: kept faces whose landmarks came from the dataset.
    ``frames == faces + no_face`` always holds. ``unreadable`` files gave nothing; ``damaged`` videos had
    undecodable packets (each costs one frame index, so windows break there) or stopped early; their
    ``frames`` decoded frames were used.
    """

    units: int = 0
    frames: int = 0
    faces: int = 0
    no_face: int = 0
    several: int = 0
    annotated: int = 0
    unreadable: list[dict[str, Any]] = field(default_factory=list)  # {"path", "reason"}: nothing decoded
    damaged: list[dict[str, Any]] = field(default_factory=list)  # {"path", "frames", "errors", "reason"}
    bad_annotations: list[dict[str, Any]] = field(default_factory=list)  # {"path", "reason"}: fell back to dlib

    def merge(self, other: Report) -> Report:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))
        return self

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        return cls(**{f.name: d[f.name] for f in fields(cls)})

    def summary(self) -> str:
        """One line for the console."""
        return (f"{self.units} files, {self.frames} images/frames seen, {self.faces} faces kept, "
                f"{self.no_face} without a face, {self.several} with several (largest kept), "
                f"{len(self.unreadable)} unreadable, {len(self.damaged)} damaged videos")
