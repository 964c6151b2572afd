"""Do inpainted eyes and mouths pass for real? Detail ratio and a grouped real-vs-fill classifier per method,
with FD-dlib, NME, ΔE of means, seam and ReID@0.6, on real photos the project never trained on.

Run (paths: the download commands of docs/EVALUATION.md)::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bench_realism.py --set nba=/tmp/media/nba_faces \\
        --set feat=/tmp/media/pf/x/feat/tests/data --methods donor,si_lm,telea --out /tmp/realism

Per image: the shipped anonymiser masks every face (in-process, as ``stngan anonymize`` does), then each
method fills the masks: ``donor`` (the donor fill, default of ``inpaint``), any shipped or saved learned
model by name/path (``si_lm``, ``si_lm_fast``, a run), ``telea`` / ``ns`` (OpenCV, radius 3, on the union
mask). Faces scored: rule lm68 with eye corners ≥ ``--min-iod`` px apart. Measures
(:mod:`stngan.metrics.realism`, :mod:`stngan.metrics.colour`): detail ratio of eye band and mouth (median),
classifier ROC AUC (5 folds grouped by face), FD-dlib (Fréchet distance of dlib embeddings, outputs vs
originals, all aligned by the original's points), NME of dlib's 68 points re-predicted on the output in the
original's box (inner points / outer-eye-corner distance), ΔE of means and seam error inside the mask,
ReID@0.6 (share of faces dlib still calls the same person), CPU seconds per face of the fill.

Writes OUT/table.md, OUT/results.json, OUT/sheet_SET_PART.png (rows: faces; columns: original | each
method's patch) and OUT/report.html with all of them.
"""
from __future__ import annotations

import argparse
import base64
import html
import json
import time
from pathlib import Path

import cv2
import numpy as np

from stngan.faces.crop import CropTransform
from stngan.faces.image_io import load_image
from stngan.faces.landmarks import LandmarkPredictor
from stngan.faces.masks import rasterize
from stngan.inference.app import _as_stored
from stngan.inference.control import LandmarkControl
from stngan.inference.fills import open_inpainter
from stngan.inference.frames import AnonymizeOptions, Anonymizer, FrameInpainter, mask_union
from stngan.inference.sidecar import Sidecar
from stngan.metrics.colour import fill_colour_error, seam_error
from stngan.metrics.face_embedding import DlibFaceEmbedder
from stngan.metrics.frechet import frechet_distance, gaussian_stats
from stngan.metrics.landmarks import nme
from stngan.metrics.realism import PARTS, classifier_auc, detail_ratio, part_patch, patch_features

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def masked_images(folder: Path, limit: int):
    """(name, original, masked, sidecar) per image with at least one face, in name order."""
    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    anonymizer = Anonymizer(AnonymizeOptions())
    for path in files[:limit or None]:
        try:
            img = load_image(path)
        except Exception:  # noqa: BLE001 - a set's odd file (alpha test image, vector art) is skipped
            continue
        masked, record = anonymizer.process(img, 0)
        if not record.faces:
            continue
        sc = Sidecar({"name": path.name, "kind": "image", "width": img.shape[1], "height": img.shape[0],
                      "frame_count": 1, "rotation": 0}, {}, [record], {})
        yield path.name, img, masked, _as_stored(sc)


class Method:
    def __init__(self, name: str) -> None:
        self.name = name
        self.opencv = {"telea": cv2.INPAINT_TELEA, "ns": cv2.INPAINT_NS}.get(name)
        self.inpainter = None if self.opencv is not None else open_inpainter(name)

    def __call__(self, masked: np.ndarray, sidecar: Sidecar) -> np.ndarray:
        if self.opencv is not None:
            return cv2.inpaint(masked, mask_union(sidecar.frames[0].faces, masked.shape[:2]), 3, self.opencv)
        return FrameInpainter(self.inpainter, sidecar, LandmarkControl()).process(masked, 0)


def face_crop(img: np.ndarray, face, size: int = 150) -> tuple[np.ndarray, np.ndarray]:
    ct = CropTransform.from_box(face.box, pad=0.25, size=size)
    return ct.crop(img), ct.to_crop(face.landmarks.astype(np.float64))


def evaluate_set(name: str, folder: Path, methods: list[Method], args) -> dict:
    predictor, embedder = LandmarkPredictor(), DlibFaceEmbedder()
    rows: dict[str, list[dict]] = {m.name: [] for m in methods}
    patches: dict[str, dict[str, list]] = {p: {"original": [], **{m.name: [] for m in methods}} for p in PARTS}
    crops: dict[str, list] = {"original": [], **{m.name: [] for m in methods}}
    crop_lms, face_id = [], 0
    for image_name, img, masked, sc in masked_images(folder, args.limit):
        outputs = {}
        for m in methods:
            t0 = time.process_time()
            outputs[m.name] = m(masked, sc)
            rows[m.name].append({"cpu_s": time.process_time() - t0, "faces": len(sc.frames[0].faces)})
        for face in sc.frames[0].faces:
            lm = face.landmarks.astype(np.float64)
            if face.rule != "lm68" or np.linalg.norm(lm[36] - lm[45]) < args.min_iod:
                continue
            mask = rasterize(face.mask, *img.shape[:2]).astype(bool)
            c, clm = face_crop(img, face)
            crops["original"].append(c)
            crop_lms.append(clm)
            for p in PARTS:
                patches[p]["original"].append(part_patch(img, lm, p))
            for m in methods:
                out = outputs[m.name]
                for p in PARTS:
                    patches[p][m.name].append(part_patch(out, lm, p))
                crops[m.name].append(face_crop(out, face)[0])
                pred = predictor.predict(out, face.box).astype(np.float64)
                rows[m.name][-1].setdefault("per_face", []).append({
                    "image": image_name, "face": face_id, "nme": float(nme(pred[None], lm[None])[0]),
                    "de_means": fill_colour_error(img, out, mask)["de_means"], "seam": seam_error(out, mask, img)})
            face_id += 1
    n = face_id
    groups = np.arange(n)
    emb = {k: embedder.embed(np.stack(v), np.stack(crop_lms)) for k, v in crops.items()} if n else {}
    result = {"faces": n, "methods": {}}
    for m in methods:
        per_face = [f for r in rows[m.name] for f in r.get("per_face", [])]
        faces_total = sum(r["faces"] for r in rows[m.name])
        entry = {"cpu_s_per_face": sum(r["cpu_s"] for r in rows[m.name]) / max(faces_total, 1)}
        for p in PARTS:
            ratios = [detail_ratio(o, r) for o, r in zip(patches[p][m.name], patches[p]["original"])]
            entry[f"detail_{p}"] = float(np.median(ratios)) if ratios else float("nan")
            if n >= 10:
                real = np.stack([patch_features(x) for x in patches[p]["original"]])
                fill = np.stack([patch_features(x) for x in patches[p][m.name]])
                entry[f"auc_{p}"] = classifier_auc(real, fill, groups)
        if n >= 2:
            entry["fd_dlib"] = frechet_distance(gaussian_stats(emb["original"]), gaussian_stats(emb[m.name]))
            entry["reid_0.6"] = float((np.linalg.norm(emb["original"] - emb[m.name], axis=1) < 0.6).mean())
        for k in ("nme", "de_means", "seam"):
            vals = [f[k] for f in per_face if np.isfinite(f[k])]
            entry[k] = float(np.mean(vals)) if vals else float("nan")
        result["methods"][m.name] = entry
    write_sheets(args.out, name, patches, [m.name for m in methods], args.sheet_rows)
    if n:  # the patches themselves, for looking again without re-running the fills
        np.savez_compressed(args.out / f"patches_{name}.npz",
                            **{f"{p}/{k}": np.stack(v) for p, d in patches.items() for k, v in d.items()})
    return result


def write_sheets(out: Path, set_name: str, patches: dict, names: list[str], rows: int) -> None:
    for p in PARTS:
        orig = patches[p]["original"]
        if not orig:
            continue
        pick = np.linspace(0, len(orig) - 1, min(rows, len(orig))).round().astype(int)
        lines = [np.concatenate([patches[p][k][i] for k in ["original", *names]], 1) for i in pick]
        sheet = cv2.resize(np.concatenate(lines, 0), None, fx=2, fy=2, interpolation=cv2.INTER_CUBIC)
        cv2.imwrite(str(out / f"sheet_{set_name}_{p}.png"), sheet[..., ::-1])


COLUMNS = [("detail_eyes", "detail eyes", ".2f"), ("detail_mouth", "detail mouth", ".2f"),
           ("auc_eyes", "AUC eyes", ".2f"), ("auc_mouth", "AUC mouth", ".2f"), ("fd_dlib", "FD-dlib", ".3f"),
           ("nme", "NME", ".4f"), ("de_means", "ΔE of means", ".2f"), ("seam", "seam", ".2f"),
           ("reid_0.6", "ReID@0.6", ".3f"), ("cpu_s_per_face", "CPU s / face", ".3f")]


def table(results: dict) -> str:
    lines = []
    for set_name, r in results.items():
        lines += [f"### {set_name} ({r['faces']} faces)", "",
                  "| method | " + " | ".join(c[1] for c in COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
        for method, e in r["methods"].items():
            lines.append(f"| {method} | " + " | ".join(format(e[k], f) if k in e else "—" for k, _, f in COLUMNS) + " |")
        lines.append("")
    return "\n".join(lines)


def write_report(out: Path, results: dict, md: str) -> None:
    parts = ["<html><head><meta charset='utf-8'><title>stngan realism</title><style>body{font-family:sans-serif}"
             "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:3px 6px}</style></head><body>",
             "<h1>Realism of the fill (bench_realism.py)</h1>", f"<pre>{html.escape(md)}</pre>"]
    for png in sorted(out.glob("sheet_*.png")):
        data = base64.b64encode(png.read_bytes()).decode()
        parts.append(f"<h3>{html.escape(png.stem)} (original | methods)</h3><img src='data:image/png;base64,{data}'>")
    (out / "report.html").write_text("\n".join(parts) + "</body></html>")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--set", action="append", required=True, help="NAME=FOLDER of photos")
    ap.add_argument("--methods", default="donor,si_lm,telea")
    ap.add_argument("--limit", type=int, default=0, help="first N images of each set (0: all)")
    ap.add_argument("--min-iod", type=float, default=24.0, help="smallest outer-eye-corner distance scored (px)")
    ap.add_argument("--sheet-rows", type=int, default=12)
    ap.add_argument("--out", type=Path, default=Path("/tmp/realism"))
    args = ap.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    methods = [Method(m) for m in args.methods.split(",")]
    results = {}
    for spec in args.set:
        name, folder = spec.split("=", 1)
        results[name] = evaluate_set(name, Path(folder), methods, args)
        print(table({name: results[name]}), flush=True)
    md = table(results)
    (args.out / "table.md").write_text(md)
    (args.out / "results.json").write_text(json.dumps(results, indent=1))
    write_report(args.out, results, md)
    print(f"-> {args.out}/table.md, report.html")


if __name__ == "__main__":
    main()
