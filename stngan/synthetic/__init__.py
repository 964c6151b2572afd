"""Offline synthetic training faces: MobileStyleGAN (StyleGAN2 distilled, FFHQ) run with OpenVINO on the CPU.

Optional extra (not a core dependency)::

    pip install "openvino>=2024,<2027"
    pip install --no-deps random-face==2021.7.21.1

* :mod:`.stylegan` - :class:`FaceGenerator`: z -> w (mapping), w / w+ -> images, truncation, style mixing;
* :mod:`.walks` - :func:`face_video`: temporally smooth face videos (latent walk + camera motion);
* :mod:`.prepare` - :func:`generate_images` / :func:`generate_videos`: resumable PNG / FFV1 writers, run by
  ``stngan prepare synthetic`` (:mod:`stngan.data.cli`), which also turns them into a face-crop store;
* :mod:`.directions` - semantic latent directions (pose, expression) the walks move along.

LICENCE: the network weights derive from NVIDIA's StyleGAN2 trained on FFHQ and are under the NVIDIA Source
Code License-NC (non-commercial use only); generated data inherits that restriction. See docs/SYNTHETIC.md.
Importing this package does not import openvino; models load on first use.
"""
from stngan.synthetic.prepare import GenerationSummary, generate_images, generate_videos, read_video
from stngan.synthetic.stylegan import FaceGenerator, GeneratorUnavailableError, find_model_files
from stngan.synthetic.walks import WalkSettings, face_video

__all__ = [
    "FaceGenerator", "GenerationSummary", "GeneratorUnavailableError", "WalkSettings", "face_video",
    "find_model_files", "generate_images", "generate_videos", "read_video",
]
