"""The paper's table layouts as rows of strings, rendered to Markdown or CSV.

A :class:`Table` is a title, a header and rows of already formatted cells, so Markdown, CSV and HTML show
exactly the same numbers. Missing values print as "—"; the reference row prints "∞" for PSNR.
"""
from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field

from stngan.evaluation import paper
from stngan.evaluation.suites import ORIGINAL, ControlStudy, SetResults, identity_study

DASH = "—"


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def markdown(self) -> str:
        lines = [f"### {self.title}", "", "| " + " | ".join(self.header) + " |",
                 "|" + "|".join("---" for _ in self.header) + "|"]
        lines += ["| " + " | ".join(r) + " |" for r in self.rows]
        return "\n".join(lines + [""] + [f"- {n}" for n in self.notes]).rstrip() + "\n"

    def csv(self) -> str:
        """CSV for programs: missing values empty, infinity as ``inf``."""
        plain = {DASH: "", "∞": "inf", "-∞": "-inf"}
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(self.header)
        w.writerows([[plain.get(c, c) for c in r] for r in self.rows])
        return buf.getvalue()


def fmt(v: float | None, digits: int = 2) -> str:
    """A number with ``digits`` decimals; None / nan -> "—", +inf -> "∞"."""
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return DASH
    if math.isinf(v):
        return "∞" if v > 0 else "-∞"
    return f"{v:.{digits}f}"


def _paper1(r: SetResults, label: str) -> list[str]:
    ds = paper.paper_dataset(r.evalset.kind, r.evalset.name)
    ref = paper.TABLE1.get(ds or "", {}).get(paper.paper_method(label))
    return [fmt(v, d) for v, d in zip(ref, (2, 3, 2, 2))] if ref else [DASH] * 4


def table1(results: list[SetResults]) -> Table:
    """Table 1: PSNR, MS-SSIM, TV, FID per method per dataset, more columns of ours, paper values beside."""
    t = Table("Table 1: spatial inpainting", [
        "Dataset", "Method", "n", "PSNR", "PSNR mask", "MS-SSIM", "TV", "FID", "KID×10³", "FD-dlib", "KID-dlib×10³",
        "LPIPS", "NME", "ReID@0.6", "ΔE", "ΔE of means", "paper PSNR", "paper MS-SSIM", "paper TV", "paper FID"])
    for r in results:
        for label, v in r.summary.items():
            ref_row = label == ORIGINAL
            dist = [DASH] * 4 if ref_row else [fmt(v.get("fid")), fmt(v.get("kid")), fmt(v.get("dlib_fd"), 3),
                                               fmt(v.get("dlib_kid"))]
            t.rows.append([r.evalset.name, label, str(int(v["n"])), fmt(v["psnr"]), fmt(v["psnr_mask"]),
                           fmt(v["ms_ssim"], 4), fmt(v["tv"]), *dist, fmt(v["lpips"], 4), fmt(v["nme"], 4),
                           DASH if ref_row else fmt(v.get("reid"), 3), fmt(v.get("de")), fmt(v.get("de_means")),
                           *_paper1(r, label)])
    t.notes = [
        "PSNR / MS-SSIM / TV on the whole 128² crop (the paper's reading), PSNR mask on the masked pixels only; "
        "TV = mean |horizontal| + mean |vertical| neighbour difference of the output in 8-bit levels.",
        "FID / KID: Inception pool3, outputs vs the originals of the same set. FD-dlib / KID-dlib: the same "
        "formulas on dlib's 128-D face embeddings (not the paper's FID; always available offline).",
        "NME: dlib landmarks on the output vs the conditioning landmarks (inner 41 points / inter-ocular). "
        "ReID@0.6: share of outputs dlib still matches to their own original (lower = identity not restored).",
        "ΔE: CIELAB ΔE76 of the output vs the original inside the mask, per pixel (eyes, lips and teeth count: no "
        "method recovers them exactly); ΔE of means: between the two mean colours (the colour bias alone).",
        "paper columns: the paper's Table 1 where this dataset and method are the paper's (CelebA, 300-VW).",
    ]
    return t


def paper_table1() -> Table:
    """The paper's Table 1 as printed, for reference."""
    t = Table("Paper, Table 1 (for reference)", ["Dataset", "Method", "PSNR", "MS-SSIM", "TV", "FID"])
    for ds, rows in paper.TABLE1.items():
        t.rows += [[ds, m, fmt(a), fmt(b, 3), fmt(c), fmt(d)] for m, (a, b, c, d) in rows.items()]
    return t


def table2a(results: list[SetResults]) -> Table:
    """Table 2a layout: datasets as rows, methods as columns, FID (FD-dlib beside when FID is missing)."""
    labels = list(dict.fromkeys(label for r in results for label in r.outputs))
    t = Table("Table 2a: FID on cropped faces (FD-dlib in brackets)", ["Dataset", *labels])
    for r in results:
        t.rows.append([r.evalset.name, *[f"{fmt(r.summary[label].get('fid'))} ({fmt(r.summary[label].get('dlib_fd'), 3)})"
                                         for label in labels]])
    t.notes = ["FID: Inception features of output crops vs original crops over all frames; FD-dlib: the same "
               "on dlib face embeddings."]
    return t


def table2_details(results: list[SetResults]) -> Table:
    """Per dataset and method: frames, FID, KID, FD-dlib, flicker (and the originals' flicker floor), paper FID."""
    t = Table("Table 2: video details", ["Dataset", "Method", "frames", "FID", "KID×10³", "FD-dlib", "KID-dlib×10³",
                                         "flicker", "paper FID"])
    for r in results:
        ds = paper.paper_dataset(r.evalset.kind, r.evalset.name) or ""
        for label, v in r.summary.items():
            ref_row = label == ORIGINAL
            dist = [DASH] * 4 if ref_row else [fmt(v.get("fid")), fmt(v.get("kid")), fmt(v.get("dlib_fd"), 3),
                                               fmt(v.get("dlib_kid"))]
            t.rows.append([r.evalset.name, label, str(int(v["n"])), *dist, fmt(v["flicker"]),
                           fmt(paper.TABLE2A.get(ds, {}).get(paper.paper_method(label)))])
    t.notes = ["flicker: mean warping error (8-bit levels) between consecutive output frames inside the mask, "
               "flow from the original frames; the Original row is the floor (flow and lighting errors)."]
    return t


def paper_table2a() -> Table:
    t = Table("Paper, Table 2a (for reference)", ["Dataset", *paper.TABLE2A_METHODS])
    t.rows = [[ds, *[fmt(v[m]) for m in paper.TABLE2A_METHODS]] for ds, v in paper.TABLE2A.items()]
    return t


def identity_table(results: list[SetResults], feature: str = "dlib") -> Table:
    """Per dataset and method: identities used, mean d_orig, mean d_inp, share of identities farther, ReID."""
    t = Table(f"Identity distance test ({feature} embeddings)", [
        "Dataset", "Method", "identities", "d(original, others)", "d(inpainted, others)", "identities farther",
        "ReID@0.6"])
    for r in results:
        for label, d in identity_study(r, feature).items():
            t.rows.append([r.evalset.name, label, str(len(d.identity)), fmt(float(d.original_mean.mean()) if len(d.identity) else None, 3),
                           fmt(float(d.inpainted_mean.mean()) if len(d.identity) else None, 3),
                           fmt(d.fraction_farther, 3), fmt(r.summary[label].get("reid"), 3)])
    t.notes = ["d(·, others): mean L2 distance to the person's other images (paper 4.4, Fig. 7); identities "
               "with one image only are skipped. ReID@0.6 needs no second image."]
    return t


def control_table(studies: list[ControlStudy]) -> Table:
    t = Table("Landmark control (Fig. 6)", ["Method", "faces", "NME own", "NME switched", "NME perturbed",
                                           "change switched", "change perturbed", "sigma (px)"])
    for s in studies:
        t.rows.append([s.label, str(len(s.own)), fmt(float(s.nme_own.mean()), 4), fmt(float(s.nme_switched.mean()), 4),
                       fmt(float(s.nme_perturbed.mean()), 4), fmt(s.change_switched), fmt(s.change_perturbed),
                       fmt(s.sigma, 1)])
    t.notes = ["NME of each output against the landmarks it was given; change: mean |Δ| (8-bit levels) inside "
               "the mask relative to the output with the face's own landmarks."]
    return t
