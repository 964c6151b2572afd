"""The `stngan` command. Each subcommand is thin: it parses options and calls library code."""
from __future__ import annotations

import sys

import click

from stngan import __version__

def _user_errors():
    """Exceptions that mean bad input, not a bug: shown as one line."""
    from stngan.config import ConfigError
    from stngan.training.checkpoint import CheckpointError
    from stngan.weights import MissingWeightsError

    return (ConfigError, CheckpointError, MissingWeightsError, FileNotFoundError, ValueError)

@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@click.version_option(__version__, prog_name="stngan")
def cli() -> None:
    """Inpaint privacy-masked faces in images and videos (STN-GAN); pixels outside the masks stay bit-exact."""

@cli.command()
def doctor() -> None:
    """Report versions, GPU visibility and which weight files are found or missing."""
    from stngan.doctor import lines

    for line in lines():
        click.echo(line)

@cli.group()
def weights() -> None:
    """List or fetch the external weight files (VGG16, Inception, dlib)."""

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

@cli.command()
@click.argument("config_path", required=False, type=click.Path(dir_okay=False))
@click.option("--set", "overrides", multiple=True, metavar="KEY=VALUE", help="Dotted override, e.g. train.lr_g=2e-4.")
@click.option("--data", "data_source", type=click.Path(exists=True), help="Store or image folder (sets data.source).")
@click.option("--out", "out_dir", type=click.Path(file_okay=False), help="Parent of the numbered run folders.")
@click.option("--resume", type=click.Path(exists=True), help="Run folder or checkpoint to continue exactly.")
@click.option("--steps", type=int, help="Stop after this many iterations in total (default train.iters).")
def train(config_path, overrides, data_source, out_dir, resume, steps) -> None:
    """Train SI / SI-lm / STN / PartialConv from a config (multi-GPU: torchrun --nproc_per_node N -m stngan train)."""
    from stngan import config
    from stngan.training.trainer import start_run

    if resume and (config_path or overrides or data_source or out_dir):
        raise click.UsageError("--resume continues with the run's saved config; drop CONFIG/--set/--data/--out")
    cfg = None
    if not resume:
        extra = [f"data.source={data_source}"] if data_source else []
        extra += [f"out_dir={out_dir}"] if out_dir else []
        cfg = config.load(config_path, list(overrides) + extra)
    trainer = start_run(cfg, resume=resume)
    click.echo(f"run folder: {trainer.run_dir} (device {trainer.device}, step {trainer.step})")
    trainer.fit(stop_at=steps)
    click.echo(f"done at step {trainer.step}; checkpoints in {trainer.run_dir / 'checkpoints'}")


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except _user_errors() as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)

if __name__ == "__main__":
    main()
