"""Area-resized copies of an image at any smaller size, through successive 2:1 reductions (cheap pyramids)."""
from __future__ import annotations

import cv2
import numpy as np


class Halves:
    """An image and its successive halvings (made on demand), so each pyramid level is area-resized from the
    smallest copy still at least its size: resizing every level from the full frame was 40 % of MTCNN's time
    at 720p (40 ms of pyramid per frame, 12 ms this way; a 2:1 area reduction is OpenCV's fast path). The
    levels are a little blurrier than one-step area resizes (on a 720p frame 0.3-4 grey levels apart on
    average, the coarsest most); detection recall measured unchanged (docs/DETECTION.md)."""

    def __init__(self, img: np.ndarray) -> None:
        self.copies = [img]

    def resize(self, width: int, height: int) -> np.ndarray:
        """The image at ``width`` × ``height``, area-resized from the smallest copy at least that size (from
        the image itself when it is smaller: an enlargement)."""
        while self.copies[-1].shape[1] // 2 >= width and self.copies[-1].shape[0] // 2 >= height:
            h, w = self.copies[-1].shape[:2]
            self.copies.append(cv2.resize(self.copies[-1], (w // 2, h // 2), interpolation=cv2.INTER_AREA))
        source = next((c for c in reversed(self.copies) if c.shape[1] >= width and c.shape[0] >= height),
                      self.copies[0])
        return cv2.resize(source, (width, height), interpolation=cv2.INTER_AREA)
