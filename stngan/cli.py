"""The `stngan` command. Each subcommand is thin: it parses options and calls library code."""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import click

from stngan import __version__
from stngan.errors import UserError

USER_ERRORS = (UserError, FileNotFoundError)  # bad input, not a bug: one line (any other keeps its traceback)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="stngan")
def cli() -> None:
    """Inpaint privacy-masked faces in images and videos (STN-GAN); outside the masks, image outputs (PNG) and
    --lossless videos keep every pixel bit-exact (lossy video re-encodes the whole frame)."""

@cli.command()
def doctor() -> None:
    """Report versions, GPU visibility and every weight file stngan can use, found or missing."""
    from stngan.doctor import lines

    for line in lines():
        click.echo(line)

@cli.group()
def weights() -> None:
    """List or fetch the external weight files (VGG16, Inception, LPIPS, dlib, MTCNN, BlazeFace)."""

@weights.command("list")
def weights_list() -> None:
    """Show every known weight file and where it was found."""
    from stngan import weights as w

    for entry, path in w.report():
        click.echo(f"{entry.key:<22} {'found ' + str(path) if path else 'missing: ' + w.how_to_get(entry)}")

@weights.command("fetch")
@click.argument("keys", nargs=-1, required=True)
@click.option("--timeout", default=30.0, show_default=True, help="Network timeout in seconds.")
def weights_fetch(keys: tuple[str, ...], timeout: float) -> None:
    """Download weight files (e.g. vgg16, inception_fid) into $STNGAN_WEIGHTS, checksums verified."""
    from stngan import weights as w

    for key in keys:
        click.echo(f"{key}: {w.fetch(key, timeout=timeout)}")

@cli.command("config")
@click.argument("config_path", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Dotted override, e.g. train.lr_g=2e-4.")
def show_config(config_path: str | None, overrides: tuple[str, ...]) -> None:
    """Print the resolved config (YAML file plus overrides) as YAML."""
    from stngan import config

    click.echo(config.load(config_path, overrides).to_yaml(), nl=False)


def _register_groups() -> None:
    from stngan.data.cli import prepare
    from stngan.evaluation.cli import evaluate
    from stngan.study.cli import study

    cli.add_command(prepare)
    cli.add_command(evaluate)
    cli.add_command(study)


_register_groups()

@cli.command()
@click.argument("config_path", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Dotted override, e.g. train.lr_g=2e-4.")
@click.option("--data", "data_source", type=click.Path(exists=True), help="Store or image folder (sets data.source).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Parent of the numbered run folders.")
@click.option("--resume", type=click.Path(exists=True),
              help="Run folder or checkpoint to continue exactly (only data.* may be --set then).")
@click.option("--steps", type=int, help="Stop after this many iterations in total (default train.iters).")
@click.option("--minutes", type=click.FloatRange(min=0, min_open=True),
              help="Wall-clock budget of this command: stop after the first iteration past it (sample grid and "
                   "checkpoint as at any last step); a --resume gets a new budget.")
def train(config_path, overrides, data_source, out_dir, resume, steps, minutes) -> None:
    """Train SI / SI-lm / STN / PartialConv from a config (multi-GPU: torchrun --nproc_per_node N -m stngan train)."""
    from stngan import config
    from stngan.training.trainer import start_run

    deadline = time.monotonic() + 60 * minutes if minutes else None
    if resume and (config_path or out_dir):
        raise click.UsageError("--resume continues with the run's saved config; drop CONFIG/--out")
    extra = [f"data.source={data_source}"] if data_source else []
    if resume:
        trainer = start_run(None, resume=resume, data_overrides=list(overrides) + extra)
    else:
        extra += [f"out_dir={out_dir}"] if out_dir else []
        trainer = start_run(config.load(config_path, list(overrides) + extra))
    click.echo(f"run folder: {trainer.run_dir} (device {trainer.device}, step {trainer.step})")
    trainer.fit(stop_at=steps, deadline=deadline)
    budget = f" (the {minutes:g}-minute budget ran out)" if deadline and time.monotonic() >= deadline else ""
    click.echo(f"done at step {trainer.step}{budget}; checkpoints in {trainer.run_dir / 'checkpoints'}")


@cli.command("gpu-train")
@click.option("--minutes", required=True, type=click.FloatRange(min=0, min_open=True),
              help="Wall-clock budget of the whole command: SI-lm until 55 %, STN-lm until 90 %, then exports.")
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the results, at most 8 files: summary.json, log.txt, models.tar.gz.NNN.")
@click.option("--store", type=click.Path(exists=True, file_okay=False, path_type=Path),
              help="Face store (or a `prepare synthetic` folder with images/); default: generate one (synthetic extra).")
@click.option("--count", default=3000, show_default=True, type=click.IntRange(min=1),
              help="Faces to generate when no --store is given.")
@click.option("--work", type=click.Path(file_okay=False, path_type=Path),
              help="Run folders and a generated store (default: OUT.work beside OUT).")
@click.option("--set", "overrides", multiple=True, metavar="si|stn.KEY=VALUE",
              help="Override one phase's config field, e.g. si.train.batch_size=128 or stn.train.compile=false.")
@click.option("--tiny", is_flag=True, help="Tiny widths on the CPU: the whole command as a smoke test.")
def gpu_train(minutes, out_dir, store, count, work, overrides, tiny) -> None:
    """Train the paper-width SI-lm, then an STN-lm from it, within MINUTES on a GPU (bf16, compiled); export both.

    Configs: configs/gpu_si_lm.yaml, configs/gpu_stn_lm.yaml. On the lent GPU: ./run.sh gpu-train (README "Training").
    """
    from stngan.training.gpu_run import GpuTrainOptions
    from stngan.training.gpu_run import gpu_train as run

    run(GpuTrainOptions(minutes, out_dir, store, count, work, overrides, tiny), echo=click.echo)


def _video_options(f):
    f = click.option("--lossless", is_flag=True, help="Lossless video (FFV1 .mkv / libx264rgb .mp4): background bit-exact.")(f)
    f = click.option("--crf", default=18, show_default=True, help="H.264 quality for lossy video output.")(f)
    f = click.option("--preset", type=click.Choice(["ultrafast", "superfast", "veryfast", "faster", "fast", "medium",
                                                    "slow", "slower", "veryslow"]),
                     help="x264 speed/size trade-off of video outputs (default: veryfast lossy, ultrafast lossless).")(f)
    f = click.option("--quiet", is_flag=True, help="No progress bar.")(f)
    return f


def _batch_options(f):
    """--jobs/--threads/--shard/--job-file/--ray/--retries: a folder or manifest as a resumable batch (docs/BATCH.md)."""
    from stngan.batch.cli import batch_options

    return batch_options(f)


def _temporal_option(f):
    from stngan.inference.temporal import DEFAULT_WEIGHT

    return click.option("--temporal", default=DEFAULT_WEIGHT, show_default=True, type=click.FloatRange(0, 1, min_open=True),
                        help="Videos: weight of each frame's new fill against the face's motion-compensated earlier "
                             "ones (lower: steadier, slower to follow expressions; 1: off).")(f)


def _donor_options(f):
    f = click.option("--donor-bank", type=click.Path(exists=True, file_okay=False, path_type=Path),
                     help="Donor fill: a bank built by `stngan donors build` instead of the shipped one.")(f)
    return click.option("--donor", type=click.IntRange(min=0),
                        help="Donor fill: use this donor identity for every face (`stngan donors list`); default: "
                             "chosen per face track by skin tone, glasses and pose, reproducible with --seed.")(f)


def _path_str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _runtime_option(f):
    return click.option("--runtime", type=click.Choice(["auto", "torch", "onnx"]), default="auto", show_default=True,
                        help="What runs an SI model on the CPU: onnx (ONNX Runtime fp32: faster, within one grey level "
                             "of torch) or torch; auto: onnx when onnxruntime is installed. STN models and CUDA run "
                             "on torch (a streaming state per track does not fit one ONNX graph).")(f)


def _overwrite_option(f):
    return click.option("--overwrite", is_flag=True, help="Replace an existing output (never the input).")(f)


def _rgb(value: str) -> tuple[int, int, int]:
    parts = value.split(",")
    if len(parts) != 3 or not all(p.strip().isdigit() and 0 <= int(p) <= 255 for p in parts):
        raise click.BadParameter(f"expected R,G,B with values 0-255, got {value!r}")
    return tuple(int(p) for p in parts)  # type: ignore[return-value]


@cli.command()
@click.argument("input_path", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Output image (.png), video or folder.")
@click.option("--detector", type=click.Choice(["mtcnn+blazeface", "mtcnn", "blazeface", "hog", "cnn"]),
              default="mtcnn+blazeface", show_default=True,
              help="Face detector: MTCNN (small faces) + BlazeFace (profiles, occlusion), either alone, dlib HOG "
                   "(frontal only) or dlib CNN (slow). docs/DETECTION.md compares them.")
@click.option("--min-face", default=20, show_default=True, type=click.IntRange(min=12),
              help="Smallest face to look for (box side, px); smaller costs time. Every face found is masked.")
@click.option("--upsample", default=1, show_default=True, help="dlib detectors: upsampling (1 finds faces down to ~40 px).")
@click.option("--max-res", default=0, show_default=True, help="Detect on a copy with this long side at most (0 = full).")
@click.option("--detect-every", default=3, show_default=True, type=click.IntRange(min=1),
              help="Videos: run the full detector on every N-th frame (and at each shot cut); the frames between "
                   "re-detect each tracked face near where it was, plus BlazeFace on the whole frame.")
@click.option("--small-every", default=0, show_default=True, type=click.IntRange(min=0),
              help="Videos: look for small faces (under 40 px: MTCNN's finest levels, BlazeFace on windows) on every "
                   "N-th full detection and at each shot cut. Needs --hold >= detect-every x N - 1, so a small face "
                   "found late is still masked from its first frame; 0: the largest such N (2 at the defaults).")
@click.option("--hold", default=5, show_default=True, type=click.IntRange(min=0),
              help="Videos: frames a mask is kept before a face's first and after its last detection.")
@click.option("--max-gap", default=10, show_default=True, type=click.IntRange(min=0),
              help="Videos: longest run of frames without a detection that a face's track bridges.")
@click.option("--workers", default=0, show_default=True, type=click.IntRange(min=0),
              help="Videos: frames detected at once, one thread each (0: one per CPU core, at most 4).")
@click.option("--fill", default="0,0,0", show_default=True, help="RGB fill of the masked circles.")
@click.option("--review", type=click.Path(path_type=Path),
              help="Also write an audit page (HTML; for a folder input: a folder of pages) to check before publishing.")
@click.option("--inpaint", "then_inpaint", is_flag=True,
              help="One pass: inpaint the masked faces before writing OUTPUT (same result as anonymize, then inpaint).")
@click.option("--seed", default=0, show_default=True, help="With --inpaint: seed of the donor choice.")
@click.option("--masked-output", type=click.Path(path_type=Path),
              help="With --inpaint: also write the masked image/video (and its sidecar) here (file inputs only).")
@click.option("--model", help="With --inpaint: donor (default: synthetic donor faces warped onto the landmarks), a shipped learned model (si_lm, si_lm_fast), a checkpoint, run folder or export.")
@_donor_options
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True,
              help="With --inpaint: where the model runs.")
@click.option("--batch-frames", default=0, show_default=True, type=click.IntRange(min=0),
              help="With --inpaint: video frames whose faces share one model call (0: 16 on CUDA, 1 on CPU).")
@click.option("--blend", type=click.Choice(["poisson", "none"]), default="poisson", show_default=True,
              help="With --inpaint: blend each fill into the skin around it (poisson) or paste it as painted (none).")
@_temporal_option
@_runtime_option
@_overwrite_option
@_video_options
@_batch_options
def anonymize(input_path, output, detector, min_face, upsample, max_res, detect_every, small_every, hold, max_gap, workers,
              fill, review, then_inpaint, masked_output, model, donor, donor_bank, seed, device, batch_frames, blend,
              temporal, runtime, overwrite, lossless, crf, preset, quiet) -> None:
    """Mask eyes, nose and mouth of every face (paper's circles); writes OUTPUT and OUTPUT.stngan.json."""
    from stngan.inference import app
    from stngan.inference.frames import AnonymizeOptions

    options = AnonymizeOptions(detector, upsample, _rgb(fill), min_face, max_res, detect_every, small_every, hold, max_gap,
                               workers)
    video = app.VideoOptions("lossless" if lossless else "lossy", crf, preset)
    from stngan.batch import cli as batch_cli  # a folder or manifest as a resumable batch (docs/BATCH.md)

    if batch_cli.request().wanted(input_path):
        work = batch_cli.anonymize_work(options, video, review, then_inpaint, masked_output, model, device, batch_frames,
                                        blend, temporal, runtime, seed, donor, _path_str(donor_bank))
        return batch_cli.run(work, input_path, output, overwrite, quiet)
    folder = input_path.is_dir()
    then = _inpaint_after(input_path, then_inpaint, masked_output, model, device, batch_frames, blend, temporal,
                          runtime, overwrite, folder, seed, donor, donor_bank)

    def review_for(src: Path) -> Path | None:
        if review is None:
            return None
        return review / src.relative_to(input_path).with_suffix(".html") if folder else review

    stats = app.run_on_path(input_path, output,
                            lambda s, d: app.anonymize_image(s, d, options, review_for(s), then),
                            lambda s, d: app.anonymize_video(s, d, options, video, not quiet, review_for(s), then),
                            progress=not quiet, overwrite=overwrite)
    if then:
        stats["runtime"] = then.inpainter.runtime_name
    _summary("anonymized + inpainted" if then else "anonymized", output, stats)


def _inpaint_after(input_path: Path, enabled: bool, masked: Path | None, model: str | None, device: str,
                   batch_frames: int, blend: str, temporal: float, runtime: str, overwrite: bool, folder: bool,
                   seed: int = 0, donor: int | None = None, donor_bank: Path | None = None):
    """The one-pass inpainting step of `anonymize --inpaint`, or None (options checked up front)."""
    if not enabled:
        if masked is not None or model is not None or donor is not None or donor_bank is not None:
            raise click.UsageError("--masked-output, --model, --donor and --donor-bank go with --inpaint")
        return None
    from stngan.inference import app
    from stngan.inference.control import LandmarkControl
    from stngan.inference.fills import open_inpainter

    if masked is not None:
        if folder:
            raise click.UsageError("--masked-output works with a single image or video input")
        app.check_output(input_path, masked, overwrite)
    inpainter = open_inpainter(model, device=device, blend=blend, temporal=temporal, runtime=runtime, seed=seed,
                               donor=donor, bank=donor_bank)
    return app.InpaintAfter(inpainter, LandmarkControl(), masked, batch_frames)


def _summary(verb: str, output: Path, stats: dict) -> None:
    """One result line; then every file a folder run left out, with why (exit code 1 if one failed)."""
    skipped, failed = stats.pop("skipped", []), stats.pop("failed", [])
    click.echo(f"{verb} -> {output}: " + ", ".join(f"{k} {v}" for k, v in stats.items()))
    for name, reason in skipped:
        click.echo(f"skipped: {name}: {reason}", err=True)
    for name, reason in failed:
        click.echo(f"failed: {name}: {reason}", err=True)
    if failed:
        raise SystemExit(1)


@cli.command()
@click.argument("input_path", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(path_type=Path), help="Output image (.png), video or folder.")
@click.option("--model", help="donor (default: synthetic donor faces warped onto the landmarks, docs/DONORS.md), a shipped learned model (si_lm, si_lm_fast: 2.6x less CPU per face), a checkpoint, run folder or export.")
@_donor_options
@click.option("--sidecar", type=click.Path(exists=True, path_type=Path), help="Sidecar from `anonymize` (default: INPUT.stngan.json).")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="Where the model runs.")
@click.option("--amp", type=click.Choice(["auto", "none", "bf16", "fp16"]), default="auto", show_default=True,
              help="Autocast dtype (auto: bf16 on CUDA, fp32 on CPU).")
@click.option("--landmarks-from", type=click.Path(exists=True, path_type=Path), help="Condition on another face's landmarks (image).")
@click.option("--perturb", default=0.0, show_default=True, help="Gaussian landmark jitter sigma (crop px at 128²).")
@click.option("--seed", default=0, show_default=True, help="Seed of --perturb and of the donor choice.")
@click.option("--batch-frames", default=0, show_default=True, type=click.IntRange(min=0),
              help="Video frames whose faces share one model call (0: 16 on CUDA, 1 on CPU).")
@click.option("--blend", type=click.Choice(["poisson", "none"]), default="poisson", show_default=True,
              help="Blend each fill into the skin around it (poisson: colour and brightness from the mask's edge) "
                   "or paste it as the model painted it (none).")
@_temporal_option
@_runtime_option
@_overwrite_option
@_video_options
@_batch_options
def inpaint(input_path, output, model, donor, donor_bank, sidecar, device, amp, landmarks_from, perturb, seed,
            batch_frames, blend, temporal, runtime, overwrite, lossless, crf, preset, quiet) -> None:
    """Inpaint the masked faces of an anonymized image, folder or video; outside the masks image (PNG) and
    --lossless video outputs keep every pixel."""
    from stngan.inference import app
    from stngan.inference.control import landmark_control
    from stngan.inference.fills import open_inpainter

    inpainter = open_inpainter(model, device=device, amp=amp, blend=blend, temporal=temporal, runtime=runtime,
                               seed=seed, donor=donor, bank=donor_bank)
    control = landmark_control(landmarks_from, perturb, seed, inpainter.crop_size)
    video = app.VideoOptions("lossless" if lossless else "lossy", crf, preset)
    from stngan.batch import cli as batch_cli  # a folder or manifest as a resumable batch (docs/BATCH.md)

    if batch_cli.request().wanted(input_path):
        work = batch_cli.inpaint_work(model, device, amp, blend, temporal, runtime, video, batch_frames, landmarks_from,
                                      perturb, seed, sidecar, donor, _path_str(donor_bank))
        return batch_cli.run(work, input_path, output, overwrite, quiet)
    single = app.media_kind(input_path) != "folder"
    side = sidecar if single else None
    stats = app.run_on_path(input_path, output, lambda s, d: app.inpaint_image(s, d, inpainter, side, control),
                            lambda s, d: app.inpaint_video(s, d, inpainter, side, control, video, not quiet,
                                                           batch_frames),
                            progress=not quiet, overwrite=overwrite)
    _summary("inpainted", output, {**stats, "runtime": inpainter.runtime_name})


@cli.group()
def donors() -> None:
    """The bank of synthetic donor faces the default fill warps onto masked faces (docs/DONORS.md)."""


@donors.command("build")
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
@click.option("--identities", default=16, show_default=True, type=click.IntRange(min=2), help="Donor identities to keep.")
@click.option("--glasses", default=2, show_default=True, type=click.IntRange(min=0), help="How many of them wear glasses.")
@click.option("--candidates", default=0, show_default=True, type=click.IntRange(min=0),
              help="Latents screened for tone spread and exposure (0: 8 x identities, as the shipped bank).")
@click.option("--seed", default=0, show_default=True, help="Seed of the candidate latents.")
@click.option("--size", default=256, show_default=True, type=click.IntRange(min=64), help="Side of each donor image (px).")
@click.option("--truncation", default=0.9, show_default=True, type=click.FloatRange(0.1, 1.5),
              help="Latent truncation (higher: more varied faces, more of them screened out).")
@click.option("--threads", default=2, show_default=True, type=click.IntRange(min=1), help="OpenVINO threads.")
def donors_build(out, identities, glasses, candidates, seed, size, truncation, threads) -> None:
    """Render a donor bank with the synthetic generator (needs the `synthetic` extra; ~4 s per identity)."""
    from stngan.donors.build import build_bank

    summary = build_bank(out, identities, glasses, candidates, seed, size, truncation, threads=threads,
                         progress=lambda line: click.echo(line, err=True))
    click.echo(f"donor bank -> {summary['path']}: {summary['identities']} identities, {summary['images']} images, "
               f"{summary['bytes'] / 2**20:.1f} MB, {summary['seconds']} s")


@donors.command("irises")
@click.argument("bank", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.argument("out", type=click.Path(file_okay=False, path_type=Path))
def donors_irises(bank, out) -> None:
    """Copy a bank built before irises were recoloured at build time, with its irises made dark brown."""
    from stngan.donors.irises import recolour_bank

    click.echo(f"donor bank -> {recolour_bank(bank, out)}")


@donors.command("list")
@click.option("--bank", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Default: the shipped bank.")
def donors_list(bank) -> None:
    """One line per donor identity: id, skin tone (ITA), glasses score, yaw, and the variants it has."""
    from stngan.donors.bank import DonorBank, shipped_bank_dir

    b = DonorBank(bank or shipped_bank_dir())
    click.echo(f"{b.path}: {len(b.identities)} identities x {len(b.variants)} variants; {b.meta['licence']}")
    for ident in b.identities:
        row = b.variants_of(ident)[0]
        click.echo(f"  {ident:3d}  ITA {b.attribute(row, 'ita'):6.1f}  glasses {b.attribute(row, 'glasses'):4.2f}  "
                   f"yaw {b.attribute(row, 'yaw'):+.2f}")
    click.echo("  variants: " + ", ".join(v["name"] for v in b.variants))


@cli.command("export")
@click.argument("checkpoint", type=click.Path(exists=True))
@click.option("-o", "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Folder to write.")
@click.option("--fp32", is_flag=True, help="Keep fp32 weights (default: fp16, half the size).")
def export(checkpoint, out_dir, fp32) -> None:
    """Write an inference-only model (EMA generator safetensors + config.json) from a run or checkpoint."""
    from stngan.checkpoint import export_model

    click.echo(f"exported -> {export_model(checkpoint, out_dir, half=not fp32)}")


@cli.command()
@click.option("--out", "out_dir", default="out/demo", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the demo outputs.")
@click.option("--model", help="Checkpoint or exported model instead of the shipped si_lm.")
@click.option("--device", type=click.Choice(["cpu", "cuda"]), default="cpu", show_default=True, help="Where the model runs.")
@click.option("--quiet", is_flag=True, help="No progress bars.")
def demo(out_dir, model, device, quiet) -> None:
    """Anonymize and inpaint the bundled real clip; writes videos and a side-by-side picture."""
    from stngan.inference.demo import run_demo

    for line in run_demo(out_dir, model, device, progress=not quiet):
        click.echo(line)


def main() -> None:
    # Before torch loads OpenMP: idle OpenMP threads sleep instead of spinning. Our commands run torch beside
    # decode/encode/detection threads, where spinning threads burned 3-5x the CPU (bench_onepass: 1.48 ->
    # 0.35 CPU s per 720p frame). An OMP_WAIT_POLICY set by the user wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import av.logging
    except ImportError:  # a training-only machine (the lent GPU) has no PyAV; media commands fail when used
        pass
    else:
        av.logging.set_level(av.logging.PANIC)  # FFmpeg chatter off the terminal; failures surface as MediaError
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except USER_ERRORS as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)

if __name__ == "__main__":
    main()
