"""Assemble the evaluation report: tables, image grids, landmark control, identity plot, flicker curves."""
from __future__ import annotations

import html

from stngan.evaluation.batch import to_uint8_images
from stngan.evaluation.suites import ControlStudy, SetResults, flicker_curves, identity_study
from stngan.report import figures, tables
from stngan.report.html import Section, figure_html, paragraph, render, table_html

DEFINITIONS = [
    "Evaluation set: the test split of each store; each face gets a fixed mask (paper circles, radii jittered "
    "by up to 3 crop px with a generator seeded by (seed, store index)); no flip. Outputs are rounded to 8 bits.",
    "PSNR: 10 log10(1 / MSE) on [0, 1] images, whole 128² crop (the paper's reading: with background copy the "
    "unmasked pixels are exact, so this is the masked error diluted by the crop) and masked pixels only.",
    "MS-SSIM: 5 scales, standard weights, 7-px Gaussian window (sigma 1.5), valid filtering; the 11-px default "
    "does not fit 128-px crops. Agrees with pytorch-msssim (win_size=7) to 1e-4.",
    "TV: mean |y[i,j+1]-y[i,j]| + mean |y[i+1,j]-y[i,j]| over channels, in 8-bit levels (the originals' TV is "
    "the value a faithful inpainting reproduces).",
    "FID / KID: pytorch-fid's Inception (pool3, 2048-D), outputs vs originals of the same set; KID: cubic "
    "polynomial kernel, 100 subsets of min(1000, n). FD-dlib / KID-dlib: the same on dlib's 128-D face "
    "embeddings (this project's offline face distance, not the paper's FID).",
    "Identity (4.4): mean L2 embedding distance of an original, and of its inpainted version, to the person's "
    "other images; per identity mean ± std. ReID@0.6: outputs dlib matches to their own original.",
    "NME: dlib 68-point landmarks on the output (fixed face box) vs the conditioning landmarks, inner points "
    "27-67, normalised by the outer-eye-corner distance.",
    "Flicker: Farneback flow between consecutive original frames (forward-backward checked), warping error "
    "|y_t - warp(y_t-1)| inside frame t's mask, 8-bit levels.",
]


def _grids(results: list[SetResults]) -> str:
    parts = []
    for r in results:
        n = len(r.reference["sample"])
        if n == 0:
            continue
        batch = r.evalset.batch(range(n))
        cols = {"original": r.reference["sample"], "masked input": to_uint8_images(batch.inputs.x_hat)}
        cols.update({label: rec["sample"] for label, rec in r.outputs.items()})
        parts.append(figure_html(figures.image_grid(cols, r.evalset.keys[:n]),
                                 f"{r.evalset.name}: original | masked | each method (first {n} faces)"))
    return "".join(parts) or paragraph("no samples kept")


def _control(studies: list[ControlStudy]) -> str:
    if not studies:
        return paragraph("No landmark-conditioned method was evaluated (landmark switching needs SI-lm / STN-lm).")
    body = table_html(tables.control_table(studies))
    for s in studies:
        cols = {"original": s.originals, "masked": s.inputs, "own landmarks": s.own, "switched (next face)": s.switched}
        cols.update({f"perturbed #{k + 1}": p for k, p in enumerate(s.perturbed)})
        body += figure_html(figures.image_grid(cols), f"{s.label}: landmark switching and perturbation (σ = {s.sigma} px)")
    return body


def _identity(results: list[SetResults], features: list[str]) -> str:
    body = "".join(table_html(tables.identity_table(results, f)) for f in features)
    for r in results:
        for f in features:
            studies = identity_study(r, f)
            if studies and len(next(iter(studies.values())).identity):
                body += figure_html(figures.identity_plot(studies, f"{r.evalset.name}: {f} ID distance"),
                                    f"{r.evalset.name}: ID distance per identity, mean ± std ({f}), paper Fig. 7")
            else:
                body += paragraph(f"{r.evalset.name}: no identity with two or more images, so no per-identity "
                                  f"plot; see ReID@0.6 for identity recovery.")
    return body


def _flicker(results: list[SetResults]) -> str:
    body = ""
    for r in results:
        for video, curves in flicker_curves(r).items():
            body += figure_html(figures.flicker_plot(curves, f"{r.evalset.name}, video {video}"),
                                f"{r.evalset.name}, video {video}: per-frame warping error")
    return body or paragraph("No video frames were evaluated.")


def build_report(results: dict[str, list[SetResults]], studies: list[ControlStudy], notes: list[str],
                 run_info: list[str]) -> str:
    """results: suite name (table1 / table2 / id / perturb) -> its set results; returns the HTML text."""
    sections = [Section("summary", "Run", "".join(paragraph(x) for x in run_info + notes))]
    if "table1" in results:
        r = results["table1"]
        sections.append(Section("table1", "Table 1: spatial inpainting",
                                table_html(tables.table1(r)) + table_html(tables.paper_table1())))
    if "table2" in results:
        r = results["table2"]
        sections.append(Section("table2", "Table 2: spatio-temporal inpainting", table_html(tables.table2a(r))
                                + table_html(tables.table2_details(r)) + table_html(tables.paper_table2a())))
        sections.append(Section("flicker", "Temporal flicker per video", _flicker(r)))
    grid_sets = next((results[s] for s in ("table1", "table2", "id", "perturb") if s in results), [])
    sections.append(Section("grids", "Image grids", _grids(grid_sets)))
    if "perturb" in results:
        sections.append(Section("control", "Landmark switching and perturbation (Fig. 6)", _control(studies)))
    if "id" in results:
        feats = [f for f in ("dlib", "vggface2") if any(f in rec for r in results["id"] for rec in r.outputs.values())]
        sections.append(Section("identity", "Identity distance (Fig. 7)", _identity(results["id"], feats)))
    sections.append(Section("definitions", "Definitions", "<ul>" + "".join(f"<li>{html.escape(d)}</li>" for d in DEFINITIONS) + "</ul>"))
    return render("stngan evaluation", sections)
