"""Which fill a command runs: ``--model donor`` (the default) is the exemplar fill from synthetic donors
(:mod:`stngan.inference.donor_fill`); any other value a learned model (:class:`~stngan.inference.inpainter.
Inpainter`: a shipped name such as ``si_lm`` / ``si_lm_fast``, a checkpoint, a run folder or an export). A
learned exemplar model (``model.exemplar``) runs inside the donor fill, which hands it each track's donor."""
from __future__ import annotations

from pathlib import Path

from stngan.errors import UserError
from stngan.inference.donor_fill import DonorInpainter
from stngan.inference.inpainter import Inpainter
from stngan.inference.temporal import DEFAULT_WEIGHT

DONOR = "donor"
DEFAULT_FILL = DONOR  # measured against si_lm: README "Measured", docs/DONORS.md


def is_donor(model: str | Path | None) -> bool:
    name = DEFAULT_FILL if model is None else str(model)
    return name == DONOR and not Path(name).exists()


def open_inpainter(model: str | Path | None = None, *, device: str = "cpu", amp: str = "auto",
                   blend: str = "poisson", temporal: float = DEFAULT_WEIGHT, runtime: str = "auto", seed: int = 0,
                   donor: int | None = None, bank: str | Path | None = None) -> DonorInpainter | Inpainter:
    """The inpainter for a ``--model`` value (None: :data:`DEFAULT_FILL`); ``seed``, ``donor`` (pin one
    identity) and ``bank`` (a bank folder instead of the shipped one) belong to the donor fill."""
    if is_donor(model):
        return DonorInpainter(bank, seed=seed, pinned=donor, blend=blend, temporal=temporal)
    learned = Inpainter(model, device=device, amp=amp, blend=blend, temporal=temporal, runtime=runtime)
    if learned.config.model.exemplar:  # G refines the donor of each track: the donor machinery feeds it
        return DonorInpainter(bank, seed=seed, pinned=donor, blend=blend, temporal=temporal, refiner=learned)
    if donor is not None or bank is not None:
        raise UserError("--donor and --donor-bank go with the donor fill (the default) or an exemplar model")
    return learned
