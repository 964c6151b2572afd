"""The ONNX Runtime path of SI generators: as exact as eager torch to one grey level, exported once per model
into the cache, chosen by --runtime, never for STN."""
from __future__ import annotations

import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner
from safetensors.torch import load_file, save_file

from stngan.cli import cli
from stngan.errors import UserError
from stngan.faces.image_io import load_image, save_png_atomic
from stngan.inference.frames import mask_union
from stngan.inference.inpainter import Inpainter
from stngan.inference.sidecar import Sidecar, sidecar_path_for
from helpers import tiny_checkpoint

pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("STNGAN_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache" / "onnx"


def random_inputs(n: int, size: int, seed: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    return (torch.rand(n, 3, size, size, generator=g) * 2 - 1, (torch.rand(n, 1, size, size, generator=g) > 0.6).float(),
            torch.rand(n, 5, size, size, generator=g))


@pytest.mark.parametrize("overrides", [(), ("model.landmarks=false",)])
def test_exported_generator_is_within_one_grey_level_of_eager(tmp_path, overrides):
    inpainter = Inpainter(tiny_checkpoint(tmp_path, *overrides), runtime="onnx")
    assert inpainter.runtime_name == "onnx"
    for n, size in ((1, inpainter.crop_size), (3, inpainter.crop_size), (2, 64)):  # any size, as eager G takes
        x, m, c = random_inputs(n, size, n)
        c = c if inpainter.uses_landmarks else None
        with torch.inference_mode():
            eager = inpainter.g(x, m, c)
        assert (inpainter.onnx(x, m, c) - eager).abs().max() * 127.5 <= 1.0


def test_export_is_cached_per_checkpoint(tmp_path, cache):
    ckpt = tiny_checkpoint(tmp_path)
    first = Inpainter(ckpt, runtime="onnx").onnx.path
    stamp = first.stat().st_mtime_ns
    assert Inpainter(ckpt, runtime="auto").onnx.path == first and first.stat().st_mtime_ns == stamp  # not re-exported
    weights = {k: v + 0.01 if v.is_floating_point() else v for k, v in load_file(str(ckpt / "model.safetensors")).items()}
    save_file(weights, str(ckpt / "model.safetensors"))
    changed = Inpainter(ckpt, runtime="onnx").onnx.path
    assert changed != first and sorted(cache.iterdir()) == sorted([first, changed])  # no temporary file left


def test_runtime_onnx_cli_output_matches_torch(tmp_path, face_images):
    src, masked = tmp_path / "face.png", tmp_path / "masked.png"
    save_png_atomic(src, face_images["frontal"])
    model = str(tiny_checkpoint(tmp_path))
    runner = CliRunner()
    assert runner.invoke(cli, ["anonymize", str(src), "-o", str(masked)], catch_exceptions=False).exit_code == 0
    outputs = {}
    for runtime in ("torch", "onnx"):
        out = tmp_path / f"{runtime}.png"
        result = runner.invoke(cli, ["inpaint", str(masked), "-o", str(out), "--model", model, "--runtime", runtime],
                               catch_exceptions=False)
        assert result.exit_code == 0 and f"runtime {runtime}" in result.output, result.output
        outputs[runtime] = load_image(out).astype(int)
    faces = Sidecar.load(sidecar_path_for(masked)).faces_by_frame()[0]
    inside = mask_union(faces, outputs["torch"].shape[:2]).astype(bool)
    assert np.array_equal(outputs["onnx"][~inside], outputs["torch"][~inside])
    assert np.abs(outputs["onnx"][inside] - outputs["torch"][inside]).max() <= 1
    assert not np.array_equal(outputs["onnx"][inside], load_image(masked)[inside])  # it did inpaint


def test_stn_refuses_onnx_and_auto_keeps_torch(tmp_path):
    ckpt = tiny_checkpoint(tmp_path, "model.kind=stn")
    with pytest.raises(UserError, match="streaming state per track"):
        Inpainter(ckpt, runtime="onnx")
    assert Inpainter(ckpt).runtime_name == "torch"


def test_auto_without_onnxruntime_is_torch_and_onnx_says_how_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # import fails as if not installed
    ckpt = tiny_checkpoint(tmp_path)
    inpainter = Inpainter(ckpt)
    assert inpainter.runtime_name == "torch" and inpainter.onnx is None
    with pytest.raises(UserError, match="pip install"):
        Inpainter(ckpt, runtime="onnx")


def test_an_unwritable_export_cache_leaves_auto_on_torch(tmp_path, monkeypatch):
    ckpt = tiny_checkpoint(tmp_path)
    blocker = tmp_path / "not_a_folder"
    blocker.write_text("")
    monkeypatch.setenv("STNGAN_CACHE", str(blocker))  # $STNGAN_CACHE/onnx cannot be created
    with pytest.warns(RuntimeWarning, match="G runs on torch"):
        inpainter = Inpainter(ckpt)
    assert inpainter.runtime_name == "torch" and inpainter.onnx is None
    x, m, c = random_inputs(1, inpainter.crop_size, 0)
    assert inpainter.inpaint_tensors(x, m, c, [0]).shape == x.shape
    with pytest.raises(UserError, match="STNGAN_CACHE to a writable folder"):
        Inpainter(ckpt, runtime="onnx")


def test_exports_from_several_threads_at_once_all_succeed(tmp_path):
    """Each detection thread builds its own MTCNN, so on a cold cache several exports start together; torch's
    exporter keeps process-global state, and without the export lock the second one fails."""
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    import onnxruntime

    from stngan.onnx_cache import export

    started = threading.Barrier(3, timeout=5)

    class Slow(torch.nn.Module):
        def forward(self, x):
            time.sleep(0.3)  # traced once: any export running beside this one overlaps it
            return x * 2

    def one(i: int):
        try:
            started.wait()  # the three calls start together
        except threading.BrokenBarrierError:
            pass
        path = tmp_path / f"m{i}.onnx"
        export(Slow(), (torch.zeros(1, 3),), ["x"], ["y"], {"x": {0: "n"}, "y": {0: "n"}}, path)
        return path

    with ThreadPoolExecutor(3) as pool:
        paths = list(pool.map(one, range(3)))
    for path in paths:
        out = onnxruntime.InferenceSession(str(path)).run(["y"], {"x": np.ones((2, 3), np.float32)})[0]
        np.testing.assert_array_equal(out, 2)
