"""The batch options of `stngan anonymize` / `stngan inpaint`, and the batch branch those commands take."""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import click

from stngan.batch.manifest import is_manifest, parse_shard
from stngan.batch.work import AnonymizeWork, InpaintWork, ModelSpec

NAMES = ("jobs", "threads", "shard", "job_file", "ray_address", "retries")
META_KEY = "stngan.batch"  # where the command finds its BatchRequest (its own signature stays as it is)


@dataclass(frozen=True)
class BatchRequest:
    """The batch options as given; ``wanted`` says whether this run is a batch at all."""

    jobs: int | None
    threads: int | None
    shard: str | None
    job_file: Path | None
    ray_address: str | None
    retries: int

    def wanted(self, input_path: Path) -> bool:
        given = any(v is not None for v in (self.jobs, self.threads, self.shard, self.job_file, self.ray_address))
        if given and not (input_path.is_dir() or is_manifest(input_path)):
            raise click.UsageError("--jobs/--threads/--shard/--job-file/--ray work on a folder or a manifest (.txt/.csv)")
        return given or is_manifest(input_path)

    def options(self, overwrite: bool, quiet: bool):
        from stngan.batch.runner import BatchOptions  # imports inference (torch): not for `stngan --help`

        if self.ray_address and self.jobs is not None:
            raise click.UsageError("--jobs sets local worker processes; with --ray the cluster's CPUs decide "
                                   "(--threads: CPUs per file)")
        return BatchOptions(jobs=1 if self.jobs is None else self.jobs, threads=self.threads or 0,
                            shard=parse_shard(self.shard) if self.shard else None, job_file=self.job_file,
                            ray=self.ray_address, retries=self.retries, overwrite=overwrite, progress=not quiet)


def batch_options(f):
    """Adds the batch options; the command reads them with :func:`request`."""

    @functools.wraps(f)
    def command(*args, **kwargs):
        click.get_current_context().meta[META_KEY] = BatchRequest(*(kwargs.pop(name) for name in NAMES))
        return f(*args, **kwargs)

    options = [
        click.option("--jobs", type=click.IntRange(min=0), default=None,
                     help="Batch: worker processes on this machine (0: one per core; default 1). "
                          "Batch mode: any of these options, or a .txt/.csv manifest as input."),
        click.option("--threads", type=click.IntRange(min=1), default=None,
                     help="Batch: threads per worker, or CPUs per Ray task (default: cores / jobs; 1 on Ray); "
                          "also anonymize's --workers unless given."),
        click.option("--shard", metavar="I/N", help="Batch: only this share of the files (1/4 .. 4/4), stable by path."),
        click.option("--job-file", type=click.Path(dir_okay=False, path_type=Path),
                     help="Batch: job file (default OUTPUT/stngan-jobs[.shard-I-of-N].jsonl); a rerun skips what it has done."),
        click.option("--ray", "ray_address", metavar="auto|local|ADDRESS",
                     help="Batch on Ray: auto (running cluster), local (start one here) or a cluster address."),
        click.option("--retries", default=2, show_default=True, type=click.IntRange(min=0),
                     help="Batch: times a file is retried when its worker process (or Ray node) dies."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def request() -> BatchRequest:
    found = click.get_current_context().meta.get(META_KEY)
    return found or BatchRequest(None, None, None, None, None, 2)


def run(work, input_path: Path, output: Path, overwrite: bool, quiet: bool) -> None:
    """Run the batch, print the summary table; exit code 1 when a file failed (after all the others)."""
    from stngan.batch.runner import run_batch, summary_lines  # imports inference (torch): not for `stngan --help`

    summary = run_batch(work, input_path, output, request().options(overwrite, quiet))
    click.echo(f"{work.command} batch -> {output}")
    for line in summary_lines(summary):
        click.echo(line, err=line.startswith(("failed:", "skipped:", "...")))
    if summary.failures:
        raise SystemExit(1)


def anonymize_work(options, video, review: Path | None, then_inpaint: bool, masked_output: Path | None,
                   model: str | None, device: str, batch_frames: int, blend: str, temporal: float, runtime: str,
                   seed: int = 0, donor: int | None = None, bank: str | None = None):
    if masked_output is not None:
        raise click.UsageError("--masked-output works with a single image or video input")
    if model is not None and not then_inpaint:
        raise click.UsageError("--model goes with --inpaint")
    spec = ModelSpec(model, device, "auto", blend, temporal, runtime, seed, donor, bank) if then_inpaint else None
    return AnonymizeWork(options, video, review, spec, batch_frames)


def inpaint_work(model: str | None, device: str, amp: str, blend: str, temporal: float, runtime: str, video,
                 batch_frames: int, landmarks_from: Path | None, perturb: float, seed: int, sidecar: Path | None,
                 donor: int | None = None, bank: str | None = None):
    if sidecar is not None:
        raise click.UsageError("--sidecar works with a single input; in a batch each file's sidecar sits next to it")
    return InpaintWork(ModelSpec(model, device, amp, blend, temporal, runtime, seed, donor, bank), video, batch_frames,
                       landmarks_from, perturb, seed)
