"""Benchmark: CelebA-format preparation (faces/s, 1 and 2 workers) and DataLoader samples/s from the store.

    python benchmarks/bench_prepare.py                      # synthetic CelebA layout built from real faces
    python benchmarks/bench_prepare.py --celeba /data/CelebA --images 5000   # the first N of real CelebA

Without ``--celeba``, a CelebA layout (178x218 JPEGs + list files) is built from the real face photos of
tests/data and skimage (shifted, scaled, mirrored). Reported rates are wall-clock and include process start
and dlib model loading; ``warm`` rates time the per-image work of one process after loading.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]


def build_celeba_layout(root: Path, n: int) -> Path:
    """``n`` CelebA-like images with list files (real faces from tests/data via tests/data_fixtures)."""
    sys.path.insert(0, str(REPO / "tests"))
    from data_fixtures import FACES, portrait, write_image, write_lines

    people = sorted(FACES)
    rng = np.random.default_rng(0)
    names = [f"{k:06d}.jpg" for k in range(1, n + 1)]
    for k, name in enumerate(names):
        img = portrait(people[k % len(people)], face_px=float(rng.uniform(85, 115)),
                       shift=(float(rng.uniform(-6, 6)), float(rng.uniform(-6, 6))), flip=bool(k % 2))
        write_image(root / "img_align_celeba" / name, img)
    write_lines(root / "identity_CelebA.txt", [f"{nm} {k // 20 + 1}" for k, nm in enumerate(names)], "\r\n")
    write_lines(root / "list_eval_partition.txt", [f"{nm} {0 if k % 10 else 2}" for k, nm in enumerate(names)])
    return root


def first_n_celeba(src: Path, n: int, root: Path) -> Path:
    """A CelebA root whose list files hold only the first ``n`` images (symlinks to the real images)."""
    from stngan.data.prepare.celeba import image_dir
    from stngan.data.prepare.listing import find_file
    from stngan.data.prepare.textfiles import read_name_value

    images = image_dir(src, "align")
    (root / "img_align_celeba").mkdir(parents=True)
    for list_name in ("identity_CelebA.txt", "list_eval_partition.txt"):
        rows = list(read_name_value(find_file(src, list_name, ("Anno", "Eval"))).items())[:n]
        (root / list_name).write_text("".join(f"{a} {b}\n" for a, b in rows))
    for name, _ in rows:
        (root / "img_align_celeba" / name).symlink_to(images / name)
    return root


def warm_rates(src: Path, n: int = 200) -> dict[str, float]:
    """Per-image rates of one warm process: dlib HOG alone (upsample 0 and 1) and the full pipeline."""
    from stngan.data.prepare.extract import extractor_for
    from stngan.data.prepare.plan import ExtractOptions
    from stngan.faces import FaceDetector, load_image

    paths = sorted((src / "img_align_celeba").iterdir())[:n]
    images = [load_image(p) for p in paths]
    out = {}
    for up in (0, 1):
        det = FaceDetector("hog", up)
        det.detect(images[0])
        t = time.perf_counter()
        for img in images:
            det.detect(img)
        out[f"hog_upsample{up}_img_per_s"] = len(images) / (time.perf_counter() - t)
    ex = extractor_for(ExtractOptions())
    ex.detect_and_crop(images[0])
    t = time.perf_counter()
    faces = sum(ex.detect_and_crop(load_image(p))[0] is not None for p in paths)
    out["pipeline_faces_per_s"] = faces / (time.perf_counter() - t)
    return out


def bench_prepare(src: Path, work: Path, workers: int, images_per_shard: int) -> dict:
    from stngan.data.prepare import prepare_celeba

    result = prepare_celeba(src, work / f"store_w{workers}", split_protocol="official", workers=workers,
                            images_per_shard=images_per_shard, progress=False)
    return {"workers": workers, "faces": result["report"]["faces"], "seconds": result["run"]["seconds"],
            "faces_per_s": result["run"]["faces_per_s"]}


def bench_loader(store: Path, workers: int, batches: int, batch_size: int = 16, window: int = 0) -> float:
    """Samples/s of a DataLoader over the store (FrameDataset, or WindowDataset with T=window)."""
    from torch.utils.data import DataLoader, RandomSampler

    from stngan.data.datasets import FrameDataset, WindowDataset

    ds = WindowDataset(store, "train", T=window) if window else FrameDataset(store, "train")
    sampler = RandomSampler(ds, replacement=True, num_samples=batch_size * (batches + 5))
    loader = iter(DataLoader(ds, batch_size=batch_size, sampler=sampler, num_workers=workers))
    for _ in range(5):  # warm up: worker start, maps opened
        next(loader)
    t = time.perf_counter()
    for _ in range(batches):
        next(loader)
    return batch_size * batches / (time.perf_counter() - t)


def item_rate(store: Path, n: int = 200) -> float:
    """FrameDataset items/s read in one process without a DataLoader (the per-core cost of a sample)."""
    from stngan.data.datasets import FrameDataset

    ds = FrameDataset(store, "train")
    ds[0]
    t = time.perf_counter()
    for i in range(n):
        ds[i % len(ds)]
    return n / (time.perf_counter() - t)


def build_video_store(work: Path) -> Path:
    """A small store of 4 real-face videos x 40 frames for the window loader."""
    sys.path.insert(0, str(REPO / "tests"))
    from data_fixtures import FACES, video_frames, write_video

    from stngan.data.prepare import prepare_videos

    for k, person in enumerate(sorted(FACES)):
        write_video(work / "videos" / f"{k}.mp4", video_frames(person, 40, []))
    prepare_videos(work / "videos", work / "video_store", progress=False)
    return work / "video_store"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--celeba", type=Path, help="a real CelebA root (default: build a synthetic layout)")
    ap.add_argument("--images", type=int, default=1000, help="images to prepare")
    ap.add_argument("--workers", type=int, nargs="+", default=[1, 2], help="worker counts to compare")
    ap.add_argument("--loader-workers", type=int, nargs="+", default=[0, 1, 2], help="DataLoader workers")
    ap.add_argument("--batches", type=int, default=40, help="DataLoader batches timed (batch 16)")
    ap.add_argument("--json", type=Path, help="also write the results here")
    args = ap.parse_args()
    results: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        src = (first_n_celeba(args.celeba, args.images, work / "celeba") if args.celeba
               else build_celeba_layout(work / "celeba", args.images))
        results["warm_single_process"] = warm_rates(src)
        print("warm, one process:", {k: round(v, 1) for k, v in results["warm_single_process"].items()})
        per_shard = max(25, args.images // (4 * max(args.workers)))
        results["prepare"] = [bench_prepare(src, work, w, per_shard) for w in args.workers]
        for r in results["prepare"]:
            print(f"prepare celeba: {r['workers']} worker(s): {r['faces']} faces in {r['seconds']:.1f} s = "
                  f"{r['faces_per_s']:.1f} faces/s (wall, incl. start-up)")
        store = work / f"store_w{args.workers[0]}"
        video_store = build_video_store(work)
        results["frame_items_per_s_one_process"] = item_rate(store)
        print(f"FrameDataset items, one process, no DataLoader: {results['frame_items_per_s_one_process']:.0f}/s")
        results["loader"] = []
        for w in args.loader_workers:
            frame = bench_loader(store, w, args.batches)
            window = bench_loader(video_store, w, max(args.batches // 3, 5), window=3)
            results["loader"].append({"workers": w, "frame_samples_per_s": frame, "window_samples_per_s": window})
            print(f"DataLoader, {w} worker(s), batch 16: FrameDataset {frame:.0f} samples/s, "
                  f"WindowDataset(T=3) {window:.0f} windows/s")
    if args.json:
        args.json.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
