"""``stngan evaluate``: score methods on face sets the way the paper does; tables, CSV and an HTML report."""
from __future__ import annotations

import os
import platform
import time
from pathlib import Path

import click

from stngan.evaluation.suite_names import SUITES


def _split_name(value: str) -> tuple[str | None, str]:
    """``NAME=PATH`` -> (NAME, PATH); a plain path (even one containing '=') -> (None, PATH)."""
    if "=" in value and not Path(value).exists():
        name, _, path = value.partition("=")
        return name or None, path
    return None, value


def _default_methods() -> list[str]:
    from stngan.inference.inpainter import default_model_dir  # lazy: fast `stngan --help`

    shipped = default_model_dir()
    return ["telea", "ns"] + ([str(shipped)] if (shipped / "config.json").is_file() else [])


def _run_info(args: dict, seconds: float) -> list[str]:
    import torch  # lazy: fast `stngan --help`

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    flag = {"methods": "method", "suites": "suite", "out_dir": "out"}
    flags = [f"--{flag.get(k, k).replace('_', '-')} {item}" for k, v in args.items() if v not in (None, (), False)
             for item in (v if isinstance(v, tuple) else (v,))]
    return [f"stngan evaluate {' '.join(flags)}",
            f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} CPUs, torch {torch.__version__} "
            f"({args['device']}), load average {load:.2f}; wall time {seconds:.0f} s"]


@click.command("evaluate")
@click.option("--data", "data", multiple=True, required=True, metavar="[NAME=]PATH",
              help="Prepared store or image folder (repeatable); NAME labels it in tables.")
@click.option("--method", "methods", multiple=True, metavar="[LABEL=]SPEC",
              help="telea, ns, a checkpoint / run folder, or ext:DIR (repeatable). Default: telea, ns and the shipped model.")
@click.option("--outputs", "outputs", multiple=True, metavar="[LABEL=]PATH",
              help="Outputs of another system (folder or video) to score, aligned by name / frame index.")
@click.option("--suite", "suites", multiple=True, type=click.Choice([*SUITES, "all"]), default=("table1",),
              show_default=True, help="What to report (repeatable).")
@click.option("--out", "out_dir", default="eval", show_default=True, type=click.Path(file_okay=False, path_type=Path),
              help="Folder for tables, report.html and the resumable cache.")
@click.option("--split", default="test", show_default=True, type=click.Choice(["train", "val", "test"]))
@click.option("--every", default=1, show_default=True, type=click.IntRange(min=1), help="Keep frames whose index is a multiple (300-VW Table 1: 100).")
@click.option("--limit", default=None, type=click.IntRange(min=1), help="First N faces of each set.")
@click.option("--mask-jitter", default=3.0, show_default=True, type=click.FloatRange(min=0), help="Mask radius jitter (crop px).")
@click.option("--seed", default=0, show_default=True, help="Seed of the fixed per-face masks and perturbations.")
@click.option("--batch-size", default=16, show_default=True, type=click.IntRange(min=1))
@click.option("--device", default="cpu", show_default=True, type=click.Choice(["cpu", "cuda"]))
@click.option("--blend", default="none", show_default=True, type=click.Choice(["none", "poisson"]),
              help="Checkpoints: none scores the model's own composite (the paper's metrics); poisson scores what "
                   "`stngan inpaint` writes by default.")
@click.option("--fid", default="auto", show_default=True, type=click.Choice(["auto", "on", "off"]),
              help="Inception FID/KID: on = error when the weight file is missing; auto = when present.")
@click.option("--lpips", default="auto", show_default=True, type=click.Choice(["auto", "on", "off"]))
@click.option("--vggface2", type=click.Path(exists=True, dir_okay=False), help="VGGFace2 ResNet-50 weights for the ID test.")
@click.option("--samples", default=8, show_default=True, type=click.IntRange(min=0), help="Faces shown in the image grids.")
@click.option("--perturb-sigma", default=3.0, show_default=True, type=click.FloatRange(min=0), help="Landmark noise (crop px).")
@click.option("--export-inputs", type=click.Path(file_okay=False, path_type=Path),
              help="Only write the masked test inputs (PNG + masks + inputs.json) for another system, then stop.")
@click.option("--progress/--no-progress", default=True, show_default=True)
def evaluate(**args) -> None:
    """Evaluate inpainting methods as in the paper (Tables 1, 2a, Fig. 6, Fig. 7); writes OUT/report.html."""
    from stngan.evaluation.external import export_inputs  # lazy: fast `stngan --help`
    from stngan.evaluation.methods import parse_method  # lazy: fast `stngan --help`
    from stngan.evaluation.models import MetricModels, MetricOptions  # lazy: fast `stngan --help`
    from stngan.evaluation.outputs import write_outputs  # lazy: fast `stngan --help`
    from stngan.evaluation.suites import control_study, evaluate as run_all  # lazy: fast `stngan --help`
    from stngan.evaluation.testset import open_set  # lazy: fast `stngan --help`

    t0 = time.time()
    out: Path = args["out_dir"]
    sets = [open_set(path, out, name, split=args["split"], every=args["every"], limit=args["limit"],
                     mask_jitter=args["mask_jitter"], seed=args["seed"]) for name, path in map(_split_name, args["data"])]
    if args["export_inputs"]:
        for s in sets:
            batches = (s.batch(range(i, min(i + 64, len(s)))).inputs for i in range(0, len(s), 64))
            click.echo(f"{s.name}: {export_inputs(batches, args['export_inputs'] / s.name)} inputs -> "
                       f"{args['export_inputs'] / s.name}")
        return
    suites = list(SUITES) if "all" in args["suites"] else list(dict.fromkeys(args["suites"]))
    specs = list(args["methods"]) or _default_methods()
    specs += [f"{label}={'ext:' + path}" if label else f"ext:{path}" for label, path in map(_split_name, args["outputs"])]
    methods = [parse_method(spec, args["device"], args["blend"]) for spec in specs]
    options = MetricOptions(args["fid"], args["lpips"], args["vggface2"], True, "table2" in suites,
                            samples=args["samples"], device=args["device"])
    models = MetricModels(options)
    results = run_all(sets, methods, models, out / "cache", args["batch_size"], args["progress"])
    studies = [control_study(results[0], m, models, sigma=args["perturb_sigma"], seed=args["seed"])
               for m in methods if m.uses_landmarks] if "perturb" in suites else []
    made = write_outputs(out, {s: results for s in suites}, studies, models.notes, _run_info(args, time.time() - t0))
    for t in made.values():
        click.echo(t.markdown())
    for note in models.notes:
        click.echo(f"note: {note}", err=True)
    click.echo(f"report: {out / 'report.html'} (tables as .md/.csv beside it)")
