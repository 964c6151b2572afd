"""Click command ``synthetic`` for generating offline training data; meant to be registered by the main CLI as
``stngan prepare synthetic`` (``prepare_group.add_command(synthetic)``) and runnable on its own as
``python -m stngan.synthetic``.

Examples::

    python -m stngan.synthetic --out data/synth_faces --count 3000 --seed 0 --size 256 --threads 1
    python -m stngan.synthetic --videos 40 --frames 48 --out data/synth_videos --seed 0 --threads 1
"""
from __future__ import annotations

import click


@click.command("synthetic", context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Output folder.")
@click.option("--count", type=int, default=None, help="Number of face images to write (default 1000).")
@click.option("--videos", type=int, default=None, help="Write this many videos instead of images.")
@click.option("--frames", type=int, default=48, show_default=True, help="Frames per video.")
@click.option("--seed", type=int, default=0, show_default=True, help="Run seed; item i depends only on (seed, i).")
@click.option("--size", type=int, default=256, show_default=True, help="Output size in px (<= 1024, area downscaling).")
@click.option("--truncation", type=float, default=0.7, show_default=True, help="Truncation psi (images).")
@click.option("--workers", type=int, default=1, show_default=True, help="Processes for images.")
@click.option("--threads", type=int, default=None, help="OpenVINO threads per process (default: all cores; 1 per worker).")
@click.option("--format", "fmt", type=click.Choice(["mkv", "png"]), default="mkv", show_default=True,
              help="Video container: FFV1 .mkv files or folders of PNG frames.")
def synthetic(out_dir: str, count: int | None, videos: int | None, frames: int, seed: int, size: int,
              truncation: float, workers: int, threads: int | None, fmt: str) -> None:
    """Generate synthetic training faces (MobileStyleGAN, non-commercial licence): resumable, deterministic.

    Needs the optional extra: pip install "openvino>=2024,<2027" && pip install --no-deps random-face==2021.7.21.1
    """
    from stngan.synthetic.prepare import generate_images, generate_videos

    if videos is not None and count is not None:
        raise click.UsageError("give --count (images) or --videos, not both")
    if videos is not None:
        s = generate_videos(out_dir, videos, frames, seed, size, fmt=fmt, threads=threads)
        unit = "video"
    else:
        s = generate_images(out_dir, 1000 if count is None else count, seed, size, workers,
                            truncation=truncation, threads=threads)
        unit = "image"
    click.echo(f"{s.out_dir}: wrote {s.written}, kept {s.skipped} existing, "
               f"{s.seconds:.1f} s ({s.seconds_per_item:.2f} s/{unit})")
