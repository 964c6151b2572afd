"""`stngan gpu-train`: the one prepared command for a lent GPU (issue 15; README "Training").

Within a wall-clock budget counted from the start: a face store (given, or generated where the synthetic generator
is installed), the paper-width SI-lm (configs/gpu_si_lm.yaml) until 55 % of the budget, an STN-lm warm-started from
it (configs/gpu_stn_lm.yaml) until 90 %, both exported. OUT gets at most 8 files, the device tool's limit
(16 MiB each; one paper-width export alone is 16.1 MiB, hence the parts):

    OUT/summary.json        device, budget, steps, iterations/s, final held-out masked L1 of each model
    OUT/log.txt             every line printed
    OUT/models.tar.gz.NNN   si_lm/ and stn_lm/ exports, last sample grids, run configs, TensorBoard logs:
                            `cat models.tar.gz.* | tar -xz`

Run folders and a generated store go to a work folder outside OUT (default OUT.work). `tiny` swaps in the widths of
configs/tiny_si_lm.yaml on the CPU: the whole command as a smoke test.
"""
from __future__ import annotations

import importlib.util
import json
import os
import platform
import shutil
import tarfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch

from stngan import config
from stngan.checkpoint import export_model
from stngan.data.store import FaceStore
from stngan.errors import InputError, UserError
from stngan.training.trainer import Trainer, start_run

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
PART_BYTES = 15 * 2**20
CALIBRATION = 0.3  # share of each phase timed before its lr schedule is fitted to the time left
GENERATOR_MODULES = ("openvino", "random_face", "dlib", "av")
RECIPE = ("offline recipe: WGAN-GP + masked L1 (λ 10) instead of the ImageNet-VGG perceptual loss "
          "(loss.lambda_pct 0, vgg_weights random: ImageNet weights cannot be had offline)")


@dataclass(frozen=True)
class Phase:
    name: str  # si_lm | stn_lm: its export's folder in the archive
    config: str  # file in configs/
    ends_at: float  # share of the budget, counted from the command's start, after which it stops


PHASES = (Phase("si_lm", "gpu_si_lm.yaml", 0.55), Phase("stn_lm", "gpu_stn_lm.yaml", 0.90))


@dataclass(frozen=True)
class GpuTrainOptions:
    minutes: float
    out: Path
    store: Path | None = None
    count: int = 3000  # faces to generate when no store is given
    work: Path | None = None
    overrides: Sequence[str] = ()  # "si.KEY=VALUE" / "stn.KEY=VALUE"
    tiny: bool = False


@dataclass
class Log:
    """Prints a line and appends it to OUT/log.txt."""

    path: Path
    echo: Callable[[str], None] = print
    started: float = field(default_factory=time.monotonic)

    def __call__(self, line: str) -> None:
        line = f"[{time.monotonic() - self.started:6.0f} s] {line}"
        self.echo(line)
        with self.path.open("a") as f:
            f.write(line + "\n")


def gpu_train(opts: GpuTrainOptions, echo: Callable[[str], None] = print) -> dict:
    """The whole command; returns what it writes to OUT/summary.json."""
    started = time.monotonic()
    budget = opts.minutes * 60.0
    device = _device(opts.tiny)
    overrides = _phase_overrides(opts.overrides)
    opts.out.mkdir(parents=True, exist_ok=True)
    work = opts.work or opts.out.with_name(opts.out.name + ".work")
    work.mkdir(parents=True, exist_ok=True)
    say = Log(opts.out / "log.txt", echo, started)
    say(f"gpu-train: {opts.minutes:g} min on {device}{' (tiny widths)' if opts.tiny else ''}; work folder {work}")
    say(RECIPE)
    if not opts.tiny:
        torch._dynamo.config.suppress_errors = True  # a graph that fails to compile runs eagerly: the lease goes on
    store = _find_store(opts.store) if opts.store else _generate_store(work, opts.count, say)
    faces = FaceStore(store).counts
    say(f"store {store}: {faces}")
    summary = {"device": device, "torch": torch.__version__, "tiny": opts.tiny, "minutes": opts.minutes,
               "store": str(store), "faces": faces, "recipe": RECIPE}
    bundle = work / "bundle"
    shutil.rmtree(bundle, ignore_errors=True)
    previous: Path | None = None
    for phase in PHASES:
        extra = [f"data.source={store}", f"out_dir={work / 'runs'}", *overrides[phase.name]]
        if previous is not None:
            extra.append(f"train.init_from={previous}")
        cfg = config.load(CONFIGS / phase.config, _tiny_overrides(phase) + extra if opts.tiny else extra)
        trainer, result = _train_phase(phase, cfg, started + phase.ends_at * budget, say)
        summary[phase.name] = result
        _collect(trainer, phase.name, bundle)
        previous = trainer.run_dir
        _publish(summary, bundle, opts.out, work, started)  # after each phase: a later failure keeps this one
    say(f"done in {summary['seconds']:.0f} s of {budget:.0f}: {opts.out}/summary.json, log.txt, "
        + ", ".join(summary["files"]))
    return summary


def _device(tiny: bool) -> str:
    if tiny:
        return f"cpu ({platform.processor() or platform.machine()})"
    if not torch.cuda.is_available():
        raise UserError("gpu-train needs a CUDA device and none is visible; --tiny runs the CPU smoke version")
    return torch.cuda.get_device_name(0)


def _phase_overrides(items: Sequence[str]) -> dict[str, list[str]]:
    """"si.train.batch_size=128" -> {"si_lm": ["train.batch_size=128"], "stn_lm": []}."""
    out: dict[str, list[str]] = {p.name: [] for p in PHASES}
    for item in items:
        prefix, _, rest = item.partition(".")
        if f"{prefix}_lm" not in out or not rest:
            raise InputError(f"--set {item!r}: expected si.KEY=VALUE or stn.KEY=VALUE")
        out[f"{prefix}_lm"].append(rest)
    return out


def _tiny_overrides(phase: Phase) -> list[str]:
    """The widths of configs/tiny_si_lm.yaml, CPU, small batches, no loader workers, no compile."""
    tiny = config.load(CONFIGS / "tiny_si_lm.yaml", []).model
    return [f"model.g_width={tiny.g_width}", f"model.g_res_blocks={tiny.g_res_blocks}", f"model.d_width={tiny.d_width}",
            f"train.batch_size={4 if phase.name == 'si_lm' else 2}", "train.device=cpu", "train.amp=none",
            "train.compile=false", "data.workers=0", "train.val_faces=8", "train.log_every=5"]


def _find_store(path: Path) -> Path:
    """A face store: `path` itself or, for a `stngan prepare synthetic` folder, its images/ store."""
    for candidate in (path, path / "images"):
        if FaceStore.is_store(candidate):
            return candidate
    raise InputError(f"{path} is not a face store (no manifest.json in it or in {path / 'images'}); "
                     f"make one with `stngan prepare synthetic DIR`")


def _generate_store(work: Path, count: int, say: Log) -> Path:
    missing = [m for m in GENERATOR_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise UserError(f"no --store given and the synthetic face generator cannot run here (missing "
                        f"{', '.join(missing)}): make a store where it is installed (`stngan prepare synthetic "
                        f"data/synth_store --count 3000`) and pass it with --store (device tool: carry data/synth_store)")
    # the generator (openvino, optional extra) and the preparer (dlib, PyAV): only where they are installed
    from stngan.data.prepare.folder import prepare_folder
    from stngan.synthetic.prepare import generate_images

    source, store = work / "synth_store.source" / "images", work / "synth_store" / "images"
    if not FaceStore.is_store(store):
        say(f"generating {count} synthetic faces into {source}")
        workers = max(1, (os.cpu_count() or 2) - 1)
        generate_images(source, count, 0, 256, workers)
        prepare_folder(source, store, workers=workers, progress=False)
    return store


def _train_phase(phase: Phase, cfg: config.ExperimentConfig, deadline: float, say: Log) -> tuple[Trainer, dict]:
    trainer = start_run(cfg)
    t = cfg.train
    say(f"{phase.name}: run {trainer.run_dir}, batch {t.batch_size}, amp {t.amp}, compile {t.compile}, "
        f"G {sum(p.numel() for p in trainer.method.g.parameters()) / 1e6:.2f} M parameters; "
        f"stops {max(0.0, deadline - time.monotonic()):.0f} s from now")
    ticks: list[float] = []
    every = max(5.0, min(30.0, (deadline - time.monotonic()) / 10))
    last_line = [time.monotonic()]

    def on_step(step: int, logs: dict[str, float]) -> None:
        ticks.append(time.monotonic())
        if ticks[-1] - last_line[0] >= every:
            last_line[0] = ticks[-1]
            shown = " ".join(f"{k} {v:.3g}" for k, v in logs.items() if k in ("d/wdist", "g/l1_masked", "g/warp"))
            say(f"{phase.name} step {step}: {_rate(ticks):.2f} it/s, {shown}")

    began = time.monotonic()
    trainer.fit(progress=False, on_step=on_step, deadline=began + CALIBRATION * max(0.0, deadline - began))
    _fit_schedule(trainer, ticks, deadline, say)
    trainer.fit(progress=False, on_step=on_step, deadline=deadline)
    seconds = time.monotonic() - began
    l1 = trainer.held_out_l1()
    say(f"{phase.name}: stopped at step {trainer.step} after {seconds:.0f} s; held-out ({trainer.data.held_out_split}) "
        f"masked L1 {l1:.4f}")
    return trainer, {"config": f"configs/{phase.config}", "run": str(trainer.run_dir), "steps": trainer.step,
                     "seconds": round(seconds, 1), "iterations_per_s": round(trainer.step / seconds, 3),
                     "steady_iterations_per_s": round(_rate(ticks), 3), "batch_size": t.batch_size,
                     "amp": t.amp, "compile": t.compile, "iters_scheduled": t.iters,
                     "held_out_split": trainer.data.held_out_split, "held_out_l1_masked": round(l1, 5)}


def _rate(ticks: list[float]) -> float:
    """Steps per second after the first quarter (compilation and warm-up)."""
    steady = ticks[len(ticks) // 4:]
    return (len(steady) - 1) / (steady[-1] - steady[0]) if len(steady) >= 2 and steady[-1] > steady[0] else 0.0


def _fit_schedule(trainer: Trainer, ticks: list[float], deadline: float, say: Log) -> None:
    """Set train.iters to the step the measured rate reaches by `deadline`, keeping decay_start/iters, so the lr
    decays to 0 within the budget. Every earlier step ran at full lr under both schedules (decay_start stays
    >= the current step), so a resume from any checkpoint reproduces the run."""
    t = trainer.cfg.train
    rate = _rate(ticks)
    if len(ticks) < 12 or rate <= 0 or t.decay_start < trainer.step:
        say(f"lr schedule left as configured ({len(ticks)} steps timed)")
        return
    ratio = t.decay_start / t.iters
    t.iters = trainer.step + max(1, int(rate * (deadline - time.monotonic())))
    t.decay_start = max(trainer.step, int(ratio * t.iters))
    (trainer.run_dir / "config.yaml").write_text(trainer.cfg.to_yaml())
    say(f"measured {rate:.2f} it/s: train.iters {t.iters}, lr decays linearly to 0 from step {t.decay_start}")


def _collect(trainer: Trainer, name: str, bundle: Path) -> None:
    """The export, last sample grid, resolved config and TensorBoard logs of a run, into the archive's folder."""
    export_model(trainer.run_dir, bundle / name)
    shutil.copy(trainer.run_dir / "config.yaml", bundle / name / "train_config.yaml")
    grids = sorted((trainer.run_dir / "samples").glob("step-*.png"))
    if grids:
        (bundle / "samples").mkdir(exist_ok=True)
        shutil.copy(grids[-1], bundle / "samples" / f"{name}-{grids[-1].name}")
    shutil.copytree(trainer.run_dir / "tb", bundle / "tb" / name)


def _publish(summary: dict, bundle: Path, out: Path, work: Path, started: float) -> None:
    parts = _write_parts(bundle, out, work / "models.tar.gz")
    summary.update(seconds=round(time.monotonic() - started, 1), files=[p.name for p in parts],
                   unpack="cat models.tar.gz.* | tar -xz")
    (out / "summary.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")


def _write_parts(bundle: Path, out: Path, archive: Path) -> list[Path]:
    """bundle/ as one .tar.gz cut into OUT/models.tar.gz.000, .001, ... of at most PART_BYTES each."""
    with tarfile.open(archive, "w:gz", compresslevel=1) as tar:  # fp16 weights hardly compress: be quick
        for path in sorted(bundle.iterdir()):
            tar.add(path, arcname=path.name)
    for old in out.glob("models.tar.gz.*"):
        old.unlink()
    parts = []
    with archive.open("rb") as src:
        while chunk := src.read(PART_BYTES):
            parts.append(out / f"models.tar.gz.{len(parts):03d}")
            parts[-1].write_bytes(chunk)
    return parts
