"""Datasets: the prepared face-crop store (:mod:`stngan.data.store`), its preparers
(:mod:`stngan.data.prepare`, ``stngan prepare``) and the torch datasets (:mod:`stngan.data.datasets`)."""
from stngan.data.store import FaceStore, StoreError

__all__ = ["FaceStore", "StoreError"]
