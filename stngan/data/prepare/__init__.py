"""``stngan prepare``: turn CelebA, 300-VW, FaceForensics++, image folders and video folders into one
face-crop store (:mod:`stngan.data.layout`). One module per source builds a :class:`Plan`; the shared
engine runs it (parallel, resumable, shardable, reported)."""
from stngan.data.prepare.celeba import prepare_celeba
from stngan.data.prepare.engine import run_plan
from stngan.data.prepare.faceforensics import prepare_faceforensics
from stngan.data.prepare.folder import prepare_folder
from stngan.data.prepare.plan import ExtractOptions, Plan, Unit
from stngan.data.prepare.videos import prepare_videos
from stngan.data.prepare.vw300 import prepare_300vw

__all__ = ["ExtractOptions", "Plan", "Unit", "prepare_300vw", "prepare_celeba", "prepare_faceforensics",
           "prepare_folder", "prepare_videos", "run_plan"]
