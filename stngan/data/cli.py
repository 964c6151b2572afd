"""``stngan prepare ...``: one subcommand per dataset layout, all writing the same face-crop store."""
from __future__ import annotations

import functools
import json
from pathlib import Path
from collections.abc import Callable
from typing import Any

import click

from stngan.errors import InputError, UserError


def _shard(ctx: click.Context, param: click.Parameter, value: str) -> tuple[int, int]:
    from stngan.data.prepare.plan import parse_shard  # numpy and the preparers: not on `stngan --help`

    try:
        return parse_shard(value)
    except InputError as e:
        raise click.BadParameter(str(e)) from None


def _run_options(f: Callable[..., Any]) -> Callable[..., Any]:
    """Options shared by every subcommand: parallelism, sharding, detection, progress."""
    options = [
        click.argument("src", type=click.Path(exists=True, file_okay=False)),
        click.argument("out", type=click.Path(file_okay=False)),
        click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1),
                     help="Worker processes (one shard at a time each)."),
        click.option("--shard", default="0/1", show_default=True, callback=_shard, metavar="I/N",
                     help="Prepare only shards k with k % N == I (one slice per machine)."),
        click.option("--detector", default="hog", show_default=True, type=click.Choice(["hog", "cnn"]),
                     help="dlib face detector: HOG (fast, paper) or CNN (robust, slow on CPU)."),
        click.option("--upsample", default=1, show_default=True, type=click.IntRange(0, 4),
                     help="Finest detector upsampling tried when a frame has no face at coarser levels."),
        click.option("--pad", default=0.2, show_default=True, type=click.FloatRange(0.0, 2.0),
                     help="Face box padding ratio on each side before the 128x128 crop (paper: 0.2)."),
        click.option("--max-shards", default=None, type=click.IntRange(min=1),
                     help="Stop after this many shards (time-boxed runs; rerun to resume)."),
        click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _report(run: Callable[..., dict]) -> Callable[..., None]:
    """Run a preparer, print its report, turn bad input into one-line errors."""
    @functools.wraps(run)
    def wrapper(**kwargs: Any) -> None:
        kwargs["dst"] = kwargs.pop("out")
        try:
            result = run(**kwargs)
        except (UserError, FileNotFoundError) as e:
            raise click.ClickException(str(e)) from None
        from stngan.data.prepare.report import Report  # as above: keeps `stngan --help` fast

        report = Report.from_dict(result["report"])
        r = result["run"]
        click.echo(f"store: {result['store']} ({'complete' if result['complete'] else 'INCOMPLETE: rerun to resume'})")
        click.echo(f"faces per split: {json.dumps(result['counts'])}")
        click.echo(f"report: {report.summary()}")
        click.echo(f"this run: {r['shards_prepared']} shards prepared, {r['shards_skipped']} already done, "
                   f"{r['seconds']:.1f} s, {r['faces_per_s']:.1f} faces/s")
        for kind in ("unreadable", "damaged"):
            for item in getattr(report, kind)[:20]:
                click.echo(f"{kind}: {item['path']}: {item['reason']}")
        click.echo(f"details: {result['store']}/manifest.json")
    return wrapper


@click.group("prepare")
def prepare() -> None:
    """Turn a dataset into a face-crop store (128x128 crops, landmarks, splits) for training."""


@prepare.command("celeba")
@_run_options
@click.option("--variant", default="align", show_default=True, type=click.Choice(["align", "wild"]),
              help="img_align_celeba (178x218, paper) or img_celeba (in the wild).")
@click.option("--split-protocol", default="paper", show_default=True, type=click.Choice(["paper", "official"]),
              help="paper: first 98 identities are test; official: list_eval_partition.txt.")
@click.option("--test-identities", default=98, show_default=True, type=click.IntRange(min=0),
              help="Number of smallest identity ids in the paper protocol's test set.")
@click.option("--hints/--no-hints", default=True, show_default=True,
              help="Use CelebA's landmark/bbox files to pick the annotated face among several.")
@click.option("--images-per-shard", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Images per shard (the unit of resuming and parallelism).")
@_report
def celeba(**kwargs: Any) -> dict:
    """CelebA: SRC holds img_align_celeba/ (or img_celeba/) and the list files."""
    from stngan.data.prepare.celeba import prepare_celeba  # lazy: fast `stngan --help`

    return prepare_celeba(**kwargs)


@prepare.command("300vw")
@_run_options
@click.option("--split-protocol", default="official", show_default=True, type=click.Choice(["official", "file"]),
              help="official: 300-VW's 50 train / 64 test videos; file: read --split-file.")
@click.option("--split-file", default=None, type=click.Path(exists=True, dir_okay=False),
              help="Text file of 'NNN split' lines (train/val/test); unlisted videos are left out.")
@click.option("--annotations/--no-annotations", default=True, show_default=True,
              help="Use annot/*.pts landmarks where present (dlib otherwise).")
@click.option("--videos-per-shard", default=1, show_default=True, type=click.IntRange(min=1),
              help="Videos per shard (the unit of resuming and parallelism).")
@_report
def vw300(**kwargs: Any) -> dict:
    """300-VW: SRC holds NNN/vid.avi and NNN/annot/*.pts."""
    from stngan.data.prepare.vw300 import prepare_300vw  # lazy: fast `stngan --help`

    return prepare_300vw(**kwargs)


@prepare.command("faceforensics")
@_run_options
@click.option("--compression", default="c23", show_default=True, type=click.Choice(["raw", "c0", "c23", "c40"]),
              help="Which original_sequences/youtube/<compression>/videos to read.")
@click.option("--frames", default=30, show_default=True, type=click.IntRange(min=0),
              help="First N frames of each video (paper: 30; 0 = all).")
@click.option("--splits", "splits_dir", default=None, type=click.Path(exists=True, file_okay=False),
              help="Folder with train.json/val.json/test.json (default: SRC/splits).")
@click.option("--videos-per-shard", default=20, show_default=True, type=click.IntRange(min=1),
              help="Videos per shard (the unit of resuming and parallelism).")
@_report
def faceforensics(**kwargs: Any) -> dict:
    """FaceForensics++: SRC holds original_sequences/youtube/<compression>/videos/NNN.mp4."""
    from stngan.data.prepare.faceforensics import prepare_faceforensics  # lazy: fast `stngan --help`

    return prepare_faceforensics(**kwargs)


@prepare.command("folder")
@_run_options
@click.option("--split", default="train", show_default=True, type=click.Choice(["train", "val", "test"]),
              help="Split of every image (but see --test-fraction).")
@click.option("--test-fraction", default=0.0, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Send this stable random fraction of identities (sub-folders) to test.")
@click.option("--images-per-shard", default=1000, show_default=True, type=click.IntRange(min=1),
              help="Images per shard (the unit of resuming and parallelism).")
@_report
def folder(**kwargs: Any) -> dict:
    """A folder of face images (any depth; sub-folder = identity)."""
    from stngan.data.prepare.folder import prepare_folder  # lazy: fast `stngan --help`

    return prepare_folder(**kwargs)


@prepare.command("videos")
@_run_options
@click.option("--max-frames", default=0, show_default=True, type=click.IntRange(min=0),
              help="First N frames of each video (0 = all).")
@click.option("--split", default="train", show_default=True, type=click.Choice(["train", "val", "test"]),
              help="Split of every video (but see --test-fraction).")
@click.option("--test-fraction", default=0.0, show_default=True, type=click.FloatRange(0.0, 1.0),
              help="Send this stable random fraction of videos to test.")
@click.option("--videos-per-shard", default=1, show_default=True, type=click.IntRange(min=1),
              help="Videos per shard (the unit of resuming and parallelism).")
@_report
def videos(**kwargs: Any) -> dict:
    """A folder of videos (mp4, avi, mov, mkv, webm, gif, ...; any depth)."""
    from stngan.data.prepare.videos import prepare_videos  # lazy: fast `stngan --help`

    return prepare_videos(**kwargs)


@prepare.command("synthetic")
@click.argument("out", type=click.Path(file_okay=False))
@click.option("--count", default=1000, show_default=True, type=click.IntRange(min=1), help="Synthetic face images.")
@click.option("--videos", default=0, show_default=True, type=click.IntRange(min=0),
              help="Also this many synthetic face videos (latent walks + camera motion) for STN.")
@click.option("--frames", default=48, show_default=True, type=click.IntRange(min=3), help="Frames per video.")
@click.option("--spread", default=0.0, show_default=True, type=click.FloatRange(0.0, 3.0),
              help="Pose/expression spread of the images: each gets Gaussian multiples of the yaw, pitch, mouth, "
                   "smile and eye directions, σ = SPREAD × the video walks' amplitudes (0: as before).")
@click.option("--seed", default=0, show_default=True, help="Item i depends only on (seed, i).")
@click.option("--source-dir", type=click.Path(file_okay=False), help="Where generated media go (default: OUT.source).")
@click.option("--workers", default=1, show_default=True, type=click.IntRange(min=1), help="Worker processes.")
@click.option("--progress/--no-progress", default=True, show_default=True, help="Show a progress bar.")
def synthetic(out: str, count: int, videos: int, frames: int, spread: float, seed: int, source_dir: str | None,
              workers: int, progress: bool) -> None:
    """Generate faces with MobileStyleGAN (FFHQ, NVIDIA non-commercial licence), then prepare them as a store.

    Needs the optional extra: pip install "openvino>=2024,<2027" && pip install --no-deps random-face==2021.7.21.1
    """
    from stngan.data.prepare.folder import prepare_folder  # lazy: fast `stngan --help`
    from stngan.data.prepare.videos import prepare_videos  # lazy: fast `stngan --help`
    from stngan.synthetic.prepare import generate_images, generate_videos  # lazy: fast `stngan --help`

    src = Path(source_dir or f"{out}.source")
    try:
        generate_images(src / "images", count, seed, 256, workers, spread=spread)
        result = prepare_folder(src / "images", Path(out) / "images", workers=workers, progress=progress)
        click.echo(f"images store: {result['store']} {json.dumps(result['counts'])}")
        if videos:
            generate_videos(src / "videos", videos, frames, seed, 256)
            result = prepare_videos(src / "videos", Path(out) / "videos", workers=workers, progress=progress)
            click.echo(f"videos store: {result['store']} {json.dumps(result['counts'])}")
    except (UserError, FileNotFoundError) as e:
        raise click.ClickException(str(e)) from None
