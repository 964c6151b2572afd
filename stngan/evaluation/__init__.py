"""`stngan evaluate`: score inpainting methods the way the paper does (sections 4.2-4.4).

- :mod:`testset`: the evaluation set (store test split, fixed seeded masks, batches);
- :mod:`methods`: pluggable methods (ours from a checkpoint, PartialConv, OpenCV Telea / Navier-Stokes,
  outputs produced elsewhere) mapping a batch of masked inputs to composited crops;
- :mod:`runner`: streams a method over a set, per-item metrics and features, resumable chunk cache;
- :mod:`summary`, :mod:`suites`: dataset-level numbers and the paper's tables / figures;
- :mod:`cli`: the click command.
"""
