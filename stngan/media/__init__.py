"""Video and animated-GIF input/output for STN-GAN (still images live in :mod:`stngan.faces.image_io`).

Frames are (H, W, 3) uint8 RGB in stored orientation with their source timestamps; the lossless writer
round-trips them bit-exactly while keeping timing, rotation metadata and audio packets of the source.
"""
from stngan.media.errors import MediaError
from stngan.media.info import Frame, VideoInfo, from_display, to_display
from stngan.media.probe import probe, summary_line
from stngan.media.video_reader import VideoReader
from stngan.media.video_writer import VideoWriter

__all__ = ["Frame", "MediaError", "VideoInfo", "VideoReader", "VideoWriter", "from_display", "probe",
           "summary_line", "to_display"]
