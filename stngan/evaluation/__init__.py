"""`stngan evaluate`: score inpainting methods the way the paper does (sections 4.2-4.4).

- :mod:`testset`: the evaluation set (store test split, fixed seeded masks, batches); :mod:`batch`: what a
  method sees (MethodInput) and the ground truth beside it (EvalBatch);
- :mod:`methods`, :mod:`external`: pluggable methods (ours from a checkpoint, PartialConv, OpenCV Telea /
  Navier-Stokes, outputs produced elsewhere) and the inputs exported for other systems;
- :mod:`models`: which metric networks run; :mod:`runner`: streams a method over a set, per-item metrics
  and features in a resumable chunk cache;
- :mod:`summary`, :mod:`suites`, :mod:`paper`: dataset-level numbers, the paper's evaluations, its numbers;
- :mod:`outputs`, :mod:`cli`: tables / report files and the click command; :mod:`headshots`: the
  offline real-face set.
"""
