"""``stngan study make | serve | results``: build, run and evaluate the human preference study (Table 2b)."""
from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from stngan.errors import UserError


def _one_line_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Bad input (StudyError, MediaError: UserErrors; missing or unreadable files) becomes one ``Error: ...`` line,
    exit status 1; any other exception is a bug and keeps its traceback."""
    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (UserError, OSError) as error:
            raise click.ClickException(" ".join(str(error).split())) from None
    return wrapper


@click.group()
def study() -> None:
    """Human preference study: which of N synchronized videos looks most realistic (paper Table 2b)."""


@study.command()
@click.argument("study_dir", type=click.Path(file_okay=False, path_type=Path))
@click.argument("entries", nargs=-1, metavar="[CLIP METHOD=VIDEO [METHOD=VIDEO ...]]...")
@click.option("--method-dir", "method_dirs", multiple=True, metavar="METHOD=DIR",
              help="All videos in DIR are METHOD's clips, named by file stem (repeat per method).")
@click.option("--spec", type=click.Path(dir_okay=False, exists=True, path_type=Path),
              help="YAML/JSON file {methods: [...], clips: {CLIP: {METHOD: VIDEO}}}, paths relative to it.")
@click.option("--clips-per-participant", type=click.IntRange(min=1), default=None,
              help="Clips each participant judges, drawn at random (default: all clips).")
@click.option("--title", default="Which video looks most realistic?", show_default=True,
              help="Question shown above the videos.")
@click.option("--min-view-seconds", type=click.FloatRange(min=0), default=None,
              help="Seconds of playback before voting unlocks (default: one full pass of the clip).")
@click.option("--crf", type=click.IntRange(0, 51), default=18, show_default=True,
              help="x264 quality of the transcoded videos (lower is better; 18 is visually near-lossless).")
@click.option("--preset", default="medium", show_default=True, help="x264 speed preset (only size/speed).")
@click.option("--force", is_flag=True, help="Rebuild a study that has a study.json but no votes yet.")
@_one_line_errors
def make(study_dir: Path, entries: tuple[str, ...], method_dirs: tuple[str, ...], spec: Path | None,
         clips_per_participant: int | None, title: str, min_view_seconds: float | None, crf: int, preset: str,
         force: bool) -> None:
    """Transcode every method's video of every clip to browser MP4 and write STUDY_DIR/study.json.

    Example: stngan study make out/study clip01 SI=si/01.mp4 STN=stn/01.mp4 clip02 SI=si/02.mp4 STN=stn/02.mp4
    """
    from stngan.study.inputs import StudyInputs, add_method_dir, add_spec, add_tokens  # lazy: fast `stngan --help`
    from stngan.study.make import make_study  # lazy: fast `stngan --help`

    inputs = StudyInputs()
    settings = add_spec(inputs, spec) if spec else {}
    add_tokens(inputs, entries)
    for pair in method_dirs:
        add_method_dir(inputs, pair)
    manifest = make_study(study_dir, inputs, title=settings.get("title", title),
                          clips_per_participant=clips_per_participant or settings.get("clips_per_participant"),
                          min_view_seconds=min_view_seconds, crf=crf, preset=preset, force=force, log=click.echo)
    click.echo(f"{study_dir / 'study.json'}: {len(manifest.clips)} clips x {len(manifest.methods)} methods "
               f"({', '.join(manifest.methods)}), {manifest.clips_per_participant} clips per participant")


@study.command()
@click.argument("study_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="TCP port to listen on.")
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Interface to bind (0.0.0.0 for other machines; put HTTPS in front for the internet).")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Vote database (default: STUDY_DIR/votes.sqlite).")
@click.option("--log-level", type=click.Choice(["critical", "error", "warning", "info", "debug"]), default="info",
              show_default=True, help="uvicorn log level.")
@_one_line_errors
def serve(study_dir: Path, port: int, host: str, db_path: Path | None, log_level: str) -> None:
    """Serve the study page; every vote is on disk before the browser sees its confirmation."""
    from stngan.study.server import serve as run_server  # lazy: fast `stngan --help`

    click.echo(f"study {study_dir} on http://{host}:{port}/  (Ctrl+C to stop)")
    run_server(study_dir, host=host, port=port, db_path=db_path, log_level=log_level)


@study.command()
@click.argument("study_dir", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["md", "csv", "json"]), default="md", show_default=True,
              help="Output format of the table printed to stdout.")
@click.option("--db", "db_path", type=click.Path(dir_okay=False, exists=True, path_type=Path), default=None,
              help="Vote database (default: STUDY_DIR/votes.sqlite).")
@click.option("--complete-only", is_flag=True, help="Count only participants who voted on all their clips.")
@click.option("--html/--no-html", default=True, show_default=True, help="Also write STUDY_DIR/results.html.")
@_one_line_errors
def results(study_dir: Path, fmt: str, db_path: Path | None, complete_only: bool, html: bool) -> None:
    """Print Table 2b: vote share per method with 95 % Wilson intervals, and votes per clip."""
    from stngan.study.report_html import write_results_html  # lazy: fast `stngan --help`
    from stngan.study.results import FORMATTERS, compute_results  # lazy: fast `stngan --help`

    table = compute_results(study_dir, db_path, complete_only)
    click.echo(FORMATTERS[fmt](table), nl=False)
    if html:
        click.echo(f"wrote {write_results_html(study_dir, table)}", err=True)
