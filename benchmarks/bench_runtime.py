"""Which runtime runs the shipped generator fastest on this machine, and does its output stay exact enough?

Candidates, measured side by side in one run on the same real face crops (tests/data photos and the sample
clip's frames, anonymized with the default detector, crops prepared exactly as `stngan inpaint` does):

* ``eager``: PyTorch eager fp32 (the reference), contiguous NCHW;
* ``channels_last``: eager with NHWC memory format;
* ``compile``: ``torch.compile`` (inductor; its one-off compile time is printed separately);
* ``onnx``: ONNX Runtime fp32 (CPU execution provider) on a ``torch.onnx.export`` of G;
* ``onnx-int8``: ONNX Runtime on a statically quantised (QDQ, per-channel int8) copy calibrated on half of
  the crops and compared on the other half.

For each: median ms per face at batch 1 and batch 8, with 1 intra-op thread (CPU time: robust to other jobs
on the machine) and 2 (wall time: only meaningful on an idle machine), the speed-up over eager
and the largest / mean absolute difference from eager **inside the mask** in 8-bit grey levels (outside the
mask the paste keeps the original pixels whatever the runtime does). The issue's rule: use the fastest
whose output stays within one grey level of the reference.

Run: .venv/bin/python benchmarks/bench_runtime.py [--model si_lm] [--iters 20] [--out /tmp/runtime]
(needs `pip install onnxruntime onnx onnxscript` for the ONNX rows; rows whose runtime is missing are
skipped with the reason printed).
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

from stngan.faces.image_io import load_image
from stngan.inference.crops import prepare_crop
from stngan.inference.frames import Anonymizer, smoothed_tracks
from stngan.inference.inpainter import Inpainter
from stngan.inference.sidecar import FrameRecord, Sidecar

ROOT = Path(__file__).resolve().parent.parent
Runner = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], torch.Tensor]


def real_crops(crop_size: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x_hat, mask, cond) of every face in tests/data's photos and 12 frames of the bundled clip."""
    from stngan.inference.demo import sample_clip
    from stngan.media import VideoReader

    images = [load_image(p) for p in sorted((ROOT / "tests" / "data").glob("*.jp*g"))]
    with VideoReader(sample_clip()) as reader:
        images += [f.image for f in reader if f.index % 8 == 0][:12]
    items = []
    for img in images:
        _, record = Anonymizer().process(img, 0)
        sidecar = Sidecar({"name": "x", "kind": "image"}, {}, [FrameRecord(0, record.faces)])
        tracks = smoothed_tracks(sidecar, 0.2, crop_size)
        for face in record.faces:
            ct, lm = tracks[(0, face.track)]
            items.append(prepare_crop(img, face.track, ct, face.mask, ct.to_crop(lm)))
    return (torch.stack([i.x_hat for i in items]), torch.stack([i.mask for i in items]),
            torch.stack([i.cond for i in items]))


def median_ms_per_face(run: Runner, inputs: tuple[torch.Tensor, ...], batch: int, iters: int,
                       clock: Callable[[], float] = time.perf_counter) -> float:
    """Median ms per face of ``run`` on the first ``batch`` crops. With one thread, ``clock`` =
    ``time.process_time`` gives CPU time, which other jobs on the machine barely disturb."""
    x, m, c = (t[:batch] for t in inputs)
    run(x, m, c)
    times = []
    for _ in range(iters):
        t = clock()
        run(x, m, c)
        times.append(clock() - t)
    return statistics.median(times) * 1e3 / batch


def grey_level_error(out: torch.Tensor, ref: torch.Tensor, mask: torch.Tensor) -> tuple[float, float]:
    """Largest and mean |out − ref| inside the mask, in 8-bit grey levels after rounding (as pasted)."""
    def to8(t: torch.Tensor) -> torch.Tensor:
        return t.float().clamp(-1, 1).add(1).mul(127.5).round()
    diff = (to8(out) - to8(ref)).abs()[mask.expand_as(out) > 0.5]
    return float(diff.max()), float(diff.mean())


def eager_runner(g: torch.nn.Module, channels_last: bool = False) -> Runner:
    fmt = torch.channels_last if channels_last else torch.contiguous_format
    model = g.to(memory_format=fmt)

    @torch.inference_mode()
    def run(x, m, c):
        return model(x.contiguous(memory_format=fmt), m.contiguous(memory_format=fmt), c.contiguous(memory_format=fmt))
    return run


def compiled_runner(g: torch.nn.Module) -> tuple[Runner, float]:
    compiled = torch.compile(g, dynamic=False)

    @torch.inference_mode()
    def run(x, m, c):
        return compiled(x, m, c)
    return run, 0.0


def export_onnx(g: torch.nn.Module, inputs: tuple[torch.Tensor, ...], path: Path) -> None:
    torch.onnx.export(g, tuple(t[:1] for t in inputs), str(path), input_names=["x_hat", "mask", "cond"],
                      output_names=["raw"], dynamic_axes={k: {0: "batch"} for k in ("x_hat", "mask", "cond", "raw")},
                      opset_version=17, dynamo=False)


def onnx_runner(path: Path, threads: int) -> Runner:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])

    def run(x, m, c):
        out = session.run(["raw"], {"x_hat": x.numpy(), "mask": m.numpy(), "cond": c.numpy()})[0]
        return torch.from_numpy(out)
    return run


def quantize_int8(src: Path, dst: Path, calibration: tuple[torch.Tensor, ...]) -> None:
    from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            x, m, c = calibration
            self.items = iter([{"x_hat": x[i:i + 1].numpy(), "mask": m[i:i + 1].numpy(), "cond": c[i:i + 1].numpy()}
                               for i in range(len(x))])

        def get_next(self):
            return next(self.items, None)

    quantize_static(str(src), str(dst), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--model", default=None, help="checkpoint / export / shipped name (default: shipped si_lm)")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--out", type=Path, default=None, help="write table.md here")
    args = ap.parse_args()

    inpainter = Inpainter(args.model, blend="none")
    g = inpainter.g.eval().float()
    inputs = real_crops(inpainter.crop_size)
    n = len(inputs[0])
    half = n // 2
    calib, test = tuple(t[:half] for t in inputs), tuple(t[half:] for t in inputs)
    torch.set_num_threads(1)
    with torch.inference_mode():
        reference = g(*test)

    runners: dict[str, Callable[[int], Runner]] = {}
    notes: list[str] = []
    runners["eager"] = lambda threads: eager_runner(g)
    runners["channels_last"] = lambda threads: eager_runner(g, channels_last=True)
    tmp = Path(tempfile.mkdtemp(prefix="stngan_runtime_"))
    try:
        t = time.perf_counter()
        compiled, _ = compiled_runner(g)
        compiled(*(x[:8] for x in test))
        compiled(*(x[:1] for x in test))
        notes.append(f"torch.compile: {time.perf_counter() - t:.1f} s to compile batch 8 and batch 1 (once per shape)")
        runners["compile"] = lambda threads: compiled
    except Exception as e:  # noqa: BLE001 - a runtime that fails here is reported, not fatal
        notes.append(f"torch.compile skipped: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
    try:
        fp32 = tmp / "g.onnx"
        export_onnx(g, test, fp32)
        runners["onnx"] = lambda threads: onnx_runner(fp32, threads)
        int8 = tmp / "g.int8.onnx"
        quantize_int8(fp32, int8, calib)
        runners["onnx-int8"] = lambda threads: onnx_runner(int8, threads)
    except Exception as e:  # noqa: BLE001
        notes.append(f"ONNX skipped: {type(e).__name__}: {str(e).splitlines()[0][:160]}")

    rows = []
    for name, make in runners.items():
        row = [name]
        error = None
        for threads in (1, 2):
            torch.set_num_threads(threads)
            run = make(threads)
            for batch in (1, 8):
                clock = time.process_time if threads == 1 else time.perf_counter
                row.append(median_ms_per_face(run, test, batch, args.iters, clock))
            if error is None:
                error = grey_level_error(torch.cat([run(*(x[i:i + 8] for x in test)) for i in range(0, len(test[0]), 8)]),
                                         reference, test[1])
        rows.append((row, error))
    base = {k: v for k, v in zip(("1/1", "1/8", "2/1", "2/8"), rows[0][0][1:])}
    head = ("| runtime | CPU ms/face 1 thread, batch 1 | 1 thread, batch 8 | wall ms/face 2 threads, batch 1 | "
            "2 threads, batch 8 | speed-up (1 thread, batch 8) | max grey-level diff | mean |")
    lines = [f"Machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
             f"load average {os.getloadavg()[0]:.2f} at {time.strftime('%Y-%m-%d %H:%M')}; torch {torch.__version__}; "
             f"{len(test[0])} real face crops ({inpainter.crop_size}²) compared, {half} used to calibrate int8",
             "", head, "|" + "---|" * 8]
    for row, (mx, mean) in rows:
        lines.append(f"| {row[0]} | " + " | ".join(f"{v:.1f}" for v in row[1:]) +
                     f" | {base['1/8'] / row[2]:.2f}× | {mx:.0f} | {mean:.3f} |")
    lines += [""] + [f"- {n}" for n in notes]
    text = "\n".join(lines)
    print(text)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.md").write_text(text + "\n")


if __name__ == "__main__":
    main()
