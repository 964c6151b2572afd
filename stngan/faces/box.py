"""Face bounding boxes in continuous pixel coordinates."""
from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import dlib


@dataclass(frozen=True)
class Box:
    """An axis-aligned face box with a detector score.

    Coordinates are continuous with pixel centres at integers (dlib's convention), so pixel column ``j``
    spans ``[j - 0.5, j + 0.5]``: a box covering pixel columns 10..19 has ``left=9.5, right=19.5`` and width
    10. Boxes may extend beyond the image. ``score`` is the detector's confidence (HOG: SVM margin, CNN:
    MMOD confidence); its scale depends on the detector.
    """

    left: float
    top: float
    right: float
    bottom: float
    score: float = 0.0

    def __post_init__(self) -> None:
        for name in ("left", "top", "right", "bottom", "score"):
            object.__setattr__(self, name, float(getattr(self, name)))
        if not (self.right > self.left and self.bottom > self.top):
            raise ValueError(f"empty box: {self}")

    @property
    def width(self) -> float:
        return self.right - self.left

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def area(self) -> float:
        return self.width * self.height

    @property
    def center(self) -> tuple[float, float]:
        """(x, y) of the box centre."""
        return (self.left + self.right) / 2.0, (self.top + self.bottom) / 2.0

    def iou(self, other: Box) -> float:
        """Intersection over union with another box (0 when they do not overlap)."""
        w = min(self.right, other.right) - max(self.left, other.left)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return inter / (self.area + other.area - inter)

    @classmethod
    def from_dlib(cls, rect: dlib.rectangle, score: float = 0.0) -> Box:
        """dlib rectangles hold inclusive pixel indices; widen by half a pixel to continuous edges."""
        return cls(rect.left() - 0.5, rect.top() - 0.5, rect.right() + 0.5, rect.bottom() + 0.5, score)

    def to_dlib(self) -> dlib.rectangle:
        """Inverse of :meth:`from_dlib`, rounding to the nearest integer pixel indices."""
        import dlib  # dlib on first use: a training-only machine (the lent GPU) has none

        return dlib.rectangle(round(self.left + 0.5), round(self.top + 0.5),
                              round(self.right - 0.5), round(self.bottom - 0.5))

    def to_dict(self) -> dict[str, float]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> Box:
        return cls(d["left"], d["top"], d["right"], d["bottom"], d.get("score", 0.0))
