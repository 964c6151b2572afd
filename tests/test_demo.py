"""`stngan demo` on the bundled real clip."""
import numpy as np
import pytest

from stngan.inference import demo
from stngan.media import VideoReader
from helpers import tiny_checkpoint


def test_bundled_sample_is_a_real_face_clip():
    with VideoReader(demo.sample_clip()) as reader:
        assert (reader.width, reader.height) == (640, 360) and reader.has_audio
        assert reader.frame_count == 72


def test_demo_inpaints_in_one_pass_never_from_the_lossy_masked_file(tmp_path, monkeypatch):
    """The fill comes from the decoded frames (anonymize --inpaint), not from re-reading anonymized.mp4: H.264
    around each black disc came back as lines along the mask outline."""
    from stngan.inference import app

    def refuse(*args, **kwargs):
        raise AssertionError("the demo must not inpaint from the lossy masked video")

    monkeypatch.setattr(app, "inpaint_video", refuse)
    lines = demo.run_demo(tmp_path / "out", progress=False)
    assert "anonymized 72 faces in 72 frames" in lines[0]
    assert "inpainted 72 faces in the same pass" in lines[1]
    assert "donor" in lines[-1]
    assert {"anonymized.mp4", "inpainted.mp4", "side_by_side.png"} <= {p.name for p in (tmp_path / "out").iterdir()}


@pytest.mark.slow
def test_demo_writes_videos_and_side_by_side(tmp_path):
    lines = demo.run_demo(tmp_path / "out", model=str(tiny_checkpoint(tmp_path)), progress=False)
    out = tmp_path / "out"
    assert {"input.mp4", "anonymized.mp4", "inpainted.mp4", "side_by_side.png"} <= {p.name for p in out.iterdir()}
    assert any("inpainted 72 faces" in line for line in lines)
    from stngan.faces.image_io import load_image

    picture = load_image(out / "side_by_side.png")
    assert picture.shape == (3 * 360 + 8, 3 * 640 + 8, 3)
    original, masked = picture[:360, :640].astype(int), picture[:360, 644:1284].astype(int)
    assert (np.abs(original - masked).sum(-1) > 100).mean() > 0.01  # the anonymised column differs visibly


@pytest.mark.parametrize("name", ["si_lm", "si_lm_fast"])
def test_each_shipped_model_loads_with_its_card(name):
    from stngan.inference.inpainter import SHIPPED_MODELS, model_path
    from stngan.models.build import load_generator

    assert name in SHIPPED_MODELS
    g, cfg = load_generator(model_path(name))
    assert cfg.model.kind == "si" and cfg.model.landmarks and cfg.model.bgcp
    card = model_path(name) / "MODEL_CARD.md"
    assert card.is_file() and "CPU-hours" in card.read_text()
    assert (model_path(name) / "model.safetensors").stat().st_size < 25 * 2**20


def test_the_fast_model_paints_what_the_shipped_one_paints_on_a_real_face():
    """si_lm_fast is si_lm distilled: on a real face it never saw, its fill stays a few grey levels from its
    teacher's, an order of magnitude closer than another method's (Telea) or than the original face."""
    import cv2
    from skimage import data as skdata

    from stngan.faces.masks import rasterize
    from stngan.inference.frames import Anonymizer, FrameInpainter
    from stngan.inference.inpainter import Inpainter
    from stngan.inference.sidecar import Sidecar

    img = skdata.astronaut()
    masked, record = Anonymizer().process(img, 0)
    mask = np.zeros(img.shape[:2], bool)
    for face in record.faces:
        mask |= rasterize(face.mask, *img.shape[:2]).astype(bool)
    sidecar = Sidecar({"name": "astronaut", "kind": "image"}, {}, [record])
    fills = {name: FrameInpainter(Inpainter(name, runtime="torch", blend="none"), sidecar).process(masked, 0)
             for name in ("si_lm", "si_lm_fast")}
    telea = cv2.inpaint(masked, mask.astype(np.uint8), 3, cv2.INPAINT_TELEA)

    def gap(a: np.ndarray) -> float:
        return float(np.abs(a.astype(int) - fills["si_lm"].astype(int))[mask].mean())

    assert mask.sum() > 2000
    assert gap(fills["si_lm_fast"]) < 6  # measured 3.9
    assert gap(fills["si_lm_fast"]) < 0.3 * min(gap(telea), gap(img))  # Telea 27, the original 21


def test_shipped_models_are_found_by_name(tmp_path, monkeypatch):
    from stngan.inference.inpainter import default_model_dir, model_path, shipped_model_dir

    assert model_path(None) == model_path("si_lm") == default_model_dir()
    assert model_path("si_lm") == shipped_model_dir("si_lm")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "si_lm").mkdir()  # a local folder of that name wins over the shipped model
    assert model_path("si_lm").resolve() == tmp_path / "si_lm"
