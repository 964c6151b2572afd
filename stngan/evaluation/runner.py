"""Stream one method over an evaluation set: per-item metrics and features, cached in resumable chunks.

Items are processed in chunks of ``CHUNK`` positions; each finished chunk is written atomically to
``cache/<set fingerprint>/<method fingerprint>-<metrics fingerprint>/chunk-NNNNN-<items hash>.npz``, so an
interrupted run resumes at the first missing chunk, a finished one is read back instantly, and a run
with ``--limit`` shares its full chunks with the unlimited run (a shorter last chunk has its own hash). Everything depends
only on the set, the method and the metric options, never on the batch size.

Per item (all computed on 8-bit images, x the original crop, y the method's output):
psnr (whole crop), psnr_mask (masked pixels), ms_ssim, tv (of y), lpips, de and de_means (CIELAB ΔE76 of y
vs x inside the mask: per pixel, and between the two mean colours, :func:`stngan.metrics.colour.fill_colour_error`),
nme (dlib on y vs the conditioning landmarks), flicker (warping error to the previous frame of the same video), and features
inception (2048), dlib (128), vggface2 (2048). ``method=None`` is the reference pass (y = x).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from stngan.evaluation.batch import EvalBatch, to_uint8_images
from stngan.evaluation.method import Method
from stngan.evaluation.models import MetricModels
from stngan.evaluation.testset import EvalSet
from stngan.metrics import ms_ssim, psnr, to_unit_float, total_variation
from stngan.metrics.colour import fill_colour_error
from stngan.metrics.flicker import backward_flow, warping_error
from stngan.metrics.landmarks import crop_face_box, nme, predict_on_crops

CHUNK = 128
Records = dict[str, np.ndarray]
REFERENCE = "original"


def _image_metrics(x8: np.ndarray, y8: np.ndarray, mask: torch.Tensor, models: MetricModels) -> Records:
    x, y = to_unit_float(x8), to_unit_float(y8)
    out = {"psnr": psnr(x, y).numpy(), "psnr_mask": psnr(x, y, mask).numpy(), "ms_ssim": ms_ssim(x, y).numpy(),
           "tv": total_variation(y).numpy()}
    out["lpips"] = (models.lpips(x.float(), y.float()).cpu().numpy().astype(np.float64) if models.lpips is not None
                    else np.full(len(x), np.nan))
    if models.inception is not None:
        out["inception"] = models.inception(y.float().to(models.options.device)).cpu().numpy()
    return out


def _colour_metrics(x8: np.ndarray, y8: np.ndarray, masks: np.ndarray) -> Records:
    colour = [fill_colour_error(a, b, m) for a, b, m in zip(x8, y8, masks)]
    return {"de": np.array([c["de"] for c in colour], np.float64),
            "de_means": np.array([c["de_means"] for c in colour], np.float64)}


def _face_metrics(y8: np.ndarray, batch: EvalBatch, evalset: EvalSet, models: MetricModels) -> Records:
    lm = batch.inputs.landmarks
    out: Records = {name: emb.embed(y8, lm) for name, emb in models.embedders().items()}  # type: ignore[attr-defined]
    if models.options.landmarks:
        pred = predict_on_crops(models.predictor, y8, crop_face_box(y8.shape[1], evalset.pad))
        out["nme"] = nme(pred, lm)
    else:
        out["nme"] = np.full(len(y8), np.nan)
    return out


class _FlickerState:
    """Carries the previous frame (original, output, video) across batches and chunks."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, np.ndarray, int] | None = None

    def errors(self, x8: np.ndarray, y8: np.ndarray, masks: np.ndarray, videos: np.ndarray, on: bool) -> np.ndarray:
        """(B,) warping errors (nan for a video's first frame, stills, or ``on=False``)."""
        out = np.full(len(x8), np.nan)
        for i, (x, y, m, v) in enumerate(zip(x8, y8, masks, videos)):
            if on and self.prev is not None and v >= 0 and self.prev[2] == v:
                flow, valid = backward_flow(self.prev[0], x)
                out[i] = warping_error(self.prev[1], y, flow, m & valid)
            self.prev = (x, y, int(v))
        return out


def _chunk(evalset: EvalSet, method: Method | None, models: MetricModels, positions: range, batch_size: int,
           flicker: _FlickerState, bar: tqdm) -> Records:
    parts: list[Records] = []
    for start in range(positions.start, positions.stop, batch_size):
        batch = evalset.batch(range(start, min(start + batch_size, positions.stop)))
        x8 = to_uint8_images(batch.x)
        y8 = x8 if method is None else to_uint8_images(method(batch.inputs))
        masks = batch.inputs.mask[:, 0].numpy() > 0.5
        rec = {"position": batch.positions, **_image_metrics(x8, y8, batch.inputs.mask, models),
               **_colour_metrics(x8, y8, masks), **_face_metrics(y8, batch, evalset, models)}
        rec["flicker"] = flicker.errors(x8, y8, masks, batch.video, models.options.flicker)
        keep = batch.positions < models.options.samples
        rec["sample"] = y8[keep]
        parts.append(rec)
        bar.update(len(batch.positions))
    out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
    out["last_x"], out["last_y"] = flicker.prev[0], flicker.prev[1]  # type: ignore[index]
    return out


def _warm_up(evalset: EvalSet, method: Method, start: int) -> None:
    """Before resuming at ``start``, replay the frames a stateful (STN) method remembers of that video."""
    v = evalset.video[start]
    prev = [p for p in range(max(0, start - method.history), start) if v >= 0 and evalset.video[p] == v]
    if prev:
        method(evalset.batch(prev).inputs)


def _save(path: Path, rec: Records) -> None:
    tmp = path.with_name(f".tmp-{path.name}")
    with open(tmp, "wb") as f:
        np.savez(f, **{k: v for k, v in rec.items() if v is not None})
    os.replace(tmp, path)


def _load(path: Path) -> Records:
    with np.load(path) as z:
        return {k: z[k] for k in z.files}


def _items_hash(evalset: EvalSet, c: int) -> str:
    return hashlib.sha256(evalset.indices[c * CHUNK:(c + 1) * CHUNK].tobytes()).hexdigest()[:10]


def run_method(evalset: EvalSet, method: Method | None, models: MetricModels, cache: Path, batch_size: int = 16,
               progress: bool = True) -> Records:
    """Per-item records of ``method`` (None: the originals) over ``evalset``, concatenated over chunks."""
    name = REFERENCE if method is None else method.fingerprint()
    folder = cache / evalset.fingerprint() / f"{name}-{models.fingerprint()}"
    folder.mkdir(parents=True, exist_ok=True)
    n_chunks = -(-len(evalset) // CHUNK)
    paths = [folder / f"chunk-{c:05d}-{_items_hash(evalset, c)}.npz" for c in range(n_chunks)]
    done = [p.is_file() for p in paths]
    label = REFERENCE if method is None else method.label
    bar = tqdm(total=len(evalset), initial=sum(min(CHUNK, len(evalset) - c * CHUNK) for c in range(n_chunks) if done[c]),
               desc=f"{evalset.name}: {label}", unit="face", disable=not progress, leave=False)
    if method is not None:
        method.reset()
    flicker, chunks = _FlickerState(), []
    for c, path in enumerate(paths):
        if done[c]:
            rec = _load(path)
            flicker.prev = (rec["last_x"], rec["last_y"], int(evalset.video[min((c + 1) * CHUNK, len(evalset)) - 1]))
        else:
            if c > 0 and done[c - 1] and method is not None and method.history:
                _warm_up(evalset, method, c * CHUNK)
            rec = _chunk(evalset, method, models, range(c * CHUNK, min((c + 1) * CHUNK, len(evalset))), batch_size,
                         flicker, bar)
            _save(path, rec)
        chunks.append(rec)
    bar.close()
    skip = {"last_x", "last_y"}
    return {k: np.concatenate([r[k] for r in chunks]) for k in chunks[0] if k not in skip}
