"""The paper's evaluations over sets and methods: Table 1 / 2a numbers, identity test, landmark control.

``evaluate`` runs every method (and the reference pass) over every set through the cached runner;
the other functions derive the suite-specific views the tables and the report show.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from stngan.errors import InputError
from stngan.evaluation.batch import to_uint8_images
from stngan.evaluation.method import Method
from stngan.evaluation.models import MetricModels
from stngan.evaluation.runner import Records, run_method
from stngan.evaluation.summary import summarize
from stngan.evaluation.testset import EvalSet
from stngan.faces.condition import render_condition
from stngan.metrics.identity import IdentityDistances, identity_distances
from stngan.metrics.landmarks import crop_face_box, nme, predict_on_crops

ORIGINAL = "Original (reference)"
from stngan.evaluation.suite_names import SUITES  # noqa: E402,F401  (re-exported)


@dataclass
class SetResults:
    """One set: the reference records, each method's records, and the summary rows (ORIGINAL first)."""

    evalset: EvalSet
    reference: Records
    outputs: dict[str, Records] = field(default_factory=dict)
    summary: dict[str, dict[str, float]] = field(default_factory=dict)


def evaluate(sets: list[EvalSet], methods: list[Method], models: MetricModels, cache: Path, batch_size: int = 16,
             progress: bool = True) -> list[SetResults]:
    """Run the reference pass and every method on every set (resumable), then summarise."""
    labels = [m.label for m in methods]
    if len(set(labels)) != len(labels):
        raise InputError(f"two methods share a label ({labels}); name them with LABEL=SPEC")
    results = []
    for s in sets:
        ref = run_method(s, None, models, cache, batch_size, progress)
        r = SetResults(s, ref)
        r.summary[ORIGINAL] = summarize(ref, ref)
        for m in methods:
            r.outputs[m.label] = run_method(s, m, models, cache, batch_size, progress)
            r.summary[m.label] = summarize(ref, r.outputs[m.label])
        results.append(r)
    return results


def identity_study(r: SetResults, feature: str = "dlib") -> dict[str, IdentityDistances]:
    """Method label -> per-identity distances (paper Fig. 7) with embedding ``feature`` (dlib / vggface2)."""
    ids = r.evalset.identity[r.reference["position"]]
    return {label: identity_distances(r.reference[feature], rec[feature], ids) for label, rec in r.outputs.items()
            if feature in rec}


def flicker_curves(r: SetResults) -> dict[int, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """video id -> label (ORIGINAL included) -> (frame numbers, warping errors) for frames with a predecessor."""
    pos = r.reference["position"]
    video, frame = r.evalset.video[pos], r.evalset.frame[pos]
    curves: dict[int, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    for v in np.unique(video[video >= 0]):
        sel = (video == v) & np.isfinite(r.reference["flicker"])
        if sel.any():
            curves[int(v)] = {label: (frame[sel], rec["flicker"][sel])
                              for label, rec in [(ORIGINAL, r.reference), *r.outputs.items()]}
    return curves


@dataclass
class ControlStudy:
    """Landmark switching and perturbation (paper Fig. 6) for one landmark-conditioned method.

    Images (n, S, S, 3) uint8: originals, inputs, own (own landmarks), switched (landmarks of the next
    face), perturbed (k, n, S, S, 3). NMEs (n,) of each output against the landmarks it was given, and
    the mean absolute change (8-bit levels) inside the mask that switching / perturbing causes.
    """

    label: str
    originals: np.ndarray
    inputs: np.ndarray
    own: np.ndarray
    switched: np.ndarray
    perturbed: np.ndarray
    nme_own: np.ndarray
    nme_switched: np.ndarray
    nme_perturbed: np.ndarray
    change_switched: float
    change_perturbed: float
    sigma: float


def control_study(r: SetResults, method: Method, models: MetricModels, n: int = 4, k: int = 2, sigma: float = 3.0,
                  seed: int = 0) -> ControlStudy:
    """Run ``method`` on the first ``n`` faces with their own, the next face's, and ``k`` perturbed landmark
    sets (Gaussian, ``sigma`` crop px, seeded per face)."""
    s = r.evalset
    n = min(n, len(s))
    if n < 2:
        raise InputError(f"landmark switching needs at least 2 faces, {s.name} has {len(s)}")
    batch = s.batch(range(n))
    inp, size = batch.inputs, batch.x.shape[-1]
    box = crop_face_box(size, s.pad)
    mask = inp.mask[:, 0].numpy() > 0.5

    def run(landmarks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        cond = torch.from_numpy(np.stack([render_condition(lm, size=size) for lm in landmarks]))
        y = to_uint8_images(method(inp.with_landmarks(landmarks.astype(np.float32), cond)))
        return y, nme(predict_on_crops(models.predictor, y, box), landmarks)

    method.reset()
    own, nme_own = run(inp.landmarks)
    switched, nme_sw = run(np.roll(inp.landmarks, -1, axis=0))
    rng = [np.random.default_rng([seed, int(s.indices[p]), j]) for j in range(k) for p in range(n)]
    noise = np.stack([g.normal(0.0, sigma, (68, 2)) for g in rng]).reshape(k, n, 68, 2)
    pert = [run(inp.landmarks + noise[j]) for j in range(k)]

    def change(a: np.ndarray) -> float:
        return float(np.abs(a.astype(np.float64) - own)[mask].mean())

    return ControlStudy(method.label, to_uint8_images(batch.x), to_uint8_images(inp.x_hat), own, switched,
                        np.stack([p[0] for p in pert]), nme_own, nme_sw, np.stack([p[1] for p in pert]),
                        change(switched), float(np.mean([change(p[0]) for p in pert])), sigma)
