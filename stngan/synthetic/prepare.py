"""Write synthetic training data to disk: face images (PNG) and face videos (lossless FFV1 in .mkv).

Intended pipeline: :func:`generate_images` -> ``stngan.data.prepare.folder.prepare_folder`` (dlib detection,
landmarks, 128x128 crops) -> face-crop store; :func:`generate_videos` -> the video preparer likewise.

Both writers are deterministic and resumable: item ``i`` of a run with seed ``S`` depends only on (S, i)
(image i = ``FaceGenerator.sample(numpy.random.default_rng([S, 0, i]))``, with a pose/expression ``spread``
:func:`still_w` draws from the same generator; video i uses ``default_rng([S, 1, i])``), files that already exist are skipped, and each file appears atomically (written to
a hidden ``.*.tmp`` file in the same folder, then :func:`os.replace`), so an interrupted run leaves no partial
files under the final names; rerun the same command to finish it. Killed runs may leave hidden ``.*.tmp``
files behind; they are never read and may be deleted.

Licence: StyleGAN2-derived weights (NVIDIA Source Code License-NC): the data is for non-commercial use only.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np
from tqdm import tqdm

from stngan.errors import InputError
from stngan.faces.image_io import save_png_atomic
from stngan.media.video_reader import frame_to_rgb
from stngan.parallel import run_jobs
from stngan.synthetic.directions import Directions, load_directions
from stngan.synthetic.naming import image_name, video_name
from stngan.synthetic.semantic import spread_wplus
from stngan.synthetic.stylegan import FaceGenerator, check_size
from stngan.synthetic.walks import WalkSettings, face_video

VIDEO_FORMATS = ("mkv", "png")


@dataclass(frozen=True)
class GenerationSummary:
    """What a generate_* call did: files written now, files that already existed, wall time in seconds."""

    out_dir: Path
    written: int
    skipped: int
    seconds: float

    @property
    def seconds_per_item(self) -> float:
        return self.seconds / self.written if self.written else 0.0


def _check_args(count: int, seed: int, workers: int = 1) -> None:
    if int(count) != count or count < 0:
        raise InputError(f"count must be a non-negative integer, got {count!r}")
    if isinstance(seed, bool) or int(seed) != seed or seed < 0:
        raise InputError(f"seed must be a non-negative integer, got {seed!r}")
    if int(workers) != workers or workers < 1:
        raise InputError(f"workers must be a positive integer, got {workers!r}")


def write_video_atomic(path: Path, frames: np.ndarray, fps: int = 25, fmt: str = "mkv") -> None:
    """Write (T, H, W, 3) uint8 RGB frames losslessly and atomically.

    ``fmt='mkv'``: FFV1 (pixel format bgr0, bit-exact RGB) in Matroska via PyAV, readable by PyAV and OpenCV.
    ``fmt='png'``: a folder ``path`` of ``000001.png ...`` (built in a hidden temp folder, then renamed).
    """
    if fmt == "png":
        tmp_dir = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
        try:
            for i, frame in enumerate(frames, start=1):
                ok, buf = cv2.imencode(".png", np.ascontiguousarray(frame[:, :, ::-1]))
                if not ok:
                    raise OSError(f"PNG encoding failed for {path}/{i:06d}.png")
                (tmp_dir / f"{i:06d}.png").write_bytes(buf.tobytes())
            os.chmod(tmp_dir, 0o755)  # mkdtemp creates 0700
            os.replace(tmp_dir, path)
        finally:
            if tmp_dir.exists():
                shutil.rmtree(tmp_dir)
        return
    if fmt != "mkv":
        raise InputError(f"unknown video format {fmt!r}; use one of {VIDEO_FORMATS}")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        with av.open(tmp, "w", format="matroska") as container:
            stream = container.add_stream("ffv1", rate=fps)
            stream.width, stream.height = frames.shape[2], frames.shape[1]
            stream.pix_fmt = "bgr0"
            for frame in frames:
                for packet in stream.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(frame), format="rgb24")):
                    container.mux(packet)
            for packet in stream.encode():
                container.mux(packet)
        os.chmod(tmp, 0o644)  # mkstemp creates 0600
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def read_video(path: str | os.PathLike) -> np.ndarray:
    """Read a video written by :func:`write_video_atomic` (.mkv or PNG folder): (T, H, W, 3) uint8 RGB."""
    path = Path(path)
    if path.is_dir():
        return np.stack([cv2.imread(str(p), cv2.IMREAD_COLOR)[:, :, ::-1] for p in sorted(path.glob("*.png"))])


    with av.open(str(path)) as container:
        return np.stack([frame_to_rgb(f) for f in container.decode(video=0)])


# -- images ------------------------------------------------------------------------------------------------
def still_w(gen: FaceGenerator, seed: int, index: int, truncation: float, spread: float = 0.0,
            directions: Directions | None = None) -> np.ndarray:
    """The latent of image ``index``: (1, 512) w, or with ``spread`` > 0 (1, L, 512) w+ moved along the
    semantic directions (after the z draw, the same generator draws one coefficient per direction)."""
    rng = np.random.default_rng([seed, 0, index])
    w = gen.sample_w(rng, 1, truncation)
    if spread == 0:
        return w
    if directions is None:
        raise ValueError("spread > 0 needs directions (stngan.synthetic.directions.load_directions)")
    return spread_wplus(w, gen.num_layers, directions, rng, spread)


def _make_image(gen: FaceGenerator, out_dir: Path, seed: int, index: int, size: int, truncation: float,
                spread: float = 0.0, directions: Directions | None = None) -> None:
    if spread == 0:  # today's path, kept literally so that default output stays bit-identical
        img = gen.sample(np.random.default_rng([seed, 0, index]), 1, truncation, size)[0]
    else:
        img = gen.synthesize(still_w(gen, seed, index, truncation, spread, directions), size)[0]
    save_png_atomic(out_dir / image_name(seed, index), img)


@dataclass(frozen=True)
class _ImageChunk:
    """One worker process's share of the images to make."""

    out_dir: Path
    indices: list[int]
    seed: int
    size: int
    truncation: float
    threads: int
    spread: float = 0.0


def _image_chunk(chunk: _ImageChunk, progress: Callable[[int], None]) -> int:
    """Worker-process body: one generator for the whole chunk."""
    gen = FaceGenerator(threads=chunk.threads)
    dirs = load_directions(gen) if chunk.spread else None
    for i in chunk.indices:
        _make_image(gen, chunk.out_dir, chunk.seed, i, chunk.size, chunk.truncation, chunk.spread, dirs)
        progress(1)
    return len(chunk.indices)


def _todo(out_dir: Path, count: int, name: Callable[[int], str]) -> list[int]:
    return [i for i in range(count) if not (out_dir / name(i)).exists()]


def generate_images(out_dir: str | os.PathLike, count: int, seed: int, size: int = 256, workers: int = 1, *,
                    truncation: float = 0.7, threads: int | None = None, generator: FaceGenerator | None = None,
                    progress: bool = True, spread: float = 0.0) -> GenerationSummary:
    """Write ``count`` face images ``synth_{seed}_{i:06d}.png`` (size x size RGB) into ``out_dir``.

    ``spread`` S > 0 widens pose and expression: each image's w+ rows 0-10 get Gaussian multiples of the
    semantic directions with σ = S × the walks' amplitudes (:mod:`stngan.synthetic.semantic`); S = 0 (default)
    gives exactly the images of earlier versions.

    Resumable (existing files are skipped) and deterministic per (seed, i), whatever ``workers`` is.
    ``workers`` > 1 uses that many processes, each with its own generator (``threads`` OpenVINO threads each,
    default 1 then); with ``workers=1`` the images are made in this process (``generator`` reused if given,
    ``threads`` default = OpenVINO's). Costs about 0.5 s of one CPU core per image.
    """
    _check_args(count, seed, workers)
    if not 0 <= spread <= 3:
        raise InputError(f"spread must be in [0, 3], got {spread!r}")
    size = check_size(size)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = _todo(out, count, lambda i: image_name(seed, i))
    start = time.perf_counter()
    bar = tqdm(total=count, initial=count - len(todo), desc="synthetic faces", unit="img", disable=not progress,
               dynamic_ncols=True, mininterval=1.0)
    try:
        if workers == 1 or len(todo) <= 1:
            gen = generator if generator is not None else FaceGenerator(threads=threads)
            dirs = load_directions(gen) if spread and todo else None
            for i in todo:
                _make_image(gen, out, seed, i, size, truncation, spread, dirs)
                bar.update(1)
        else:
            chunks = [_ImageChunk(out, todo[k::workers], seed, size, truncation, threads or 1, spread)
                      for k in range(workers)]
            run_jobs(_image_chunk, chunks, workers, bar)
    finally:
        bar.close()
    return GenerationSummary(out, len(todo), count - len(todo), time.perf_counter() - start)


# -- videos ------------------------------------------------------------------------------------------------
def generate_videos(out_dir: str | os.PathLike, count: int, frames: int, seed: int, size: int = 256, *,
                    fmt: str = "mkv", fps: int = 25, settings: WalkSettings | None = None,
                    threads: int | None = None, generator: FaceGenerator | None = None,
                    progress: bool = True) -> GenerationSummary:
    """Write ``count`` synthetic face videos of ``frames`` frames (size x size RGB) into ``out_dir``.

    ``fmt='mkv'``: ``synth_{seed}_{i:06d}.mkv`` (FFV1, lossless, ``fps`` frames/s); ``fmt='png'``: folders
    ``synth_{seed}_{i:06d}/000001.png ...``. Resumable and deterministic per (seed, i) like
    :func:`generate_images`. Costs about 0.5 s of CPU per frame.
    """
    _check_args(count, seed)
    size = check_size(size)
    if fmt not in VIDEO_FORMATS:
        raise InputError(f"unknown video format {fmt!r}; use one of {VIDEO_FORMATS}")
    if int(frames) != frames or frames < 1:
        raise InputError(f"frames must be a positive integer, got {frames!r}")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    todo = _todo(out, count, lambda i: video_name(seed, i, fmt))
    start = time.perf_counter()
    gen = generator if generator is not None or not todo else FaceGenerator(threads=threads)
    dirs = load_directions(gen) if todo and (settings or WalkSettings()).amplitudes else None
    with tqdm(total=count, initial=count - len(todo), desc="synthetic videos", unit="video",
              disable=not progress, dynamic_ncols=True, mininterval=1.0) as bar:
        for i in todo:
            video = face_video(np.random.default_rng([seed, 1, i]), frames, size, gen, settings, directions=dirs)
            write_video_atomic(out / video_name(seed, i, fmt), video, fps, fmt)
            bar.update(1)
    return GenerationSummary(out, len(todo), count - len(todo), time.perf_counter() - start)


def iter_images(out_dir: str | os.PathLike, seed: int | None = None) -> Iterator[Path]:
    """Sorted paths of generated images in ``out_dir`` (of one seed if given)."""
    pattern = "synth_*.png" if seed is None else f"synth_{seed}_*.png"
    return iter(sorted(Path(out_dir).glob(pattern)))
