"""FaceGenerator, face videos and the resumable writers, run on the real MobileStyleGAN (CPU, ~30 s)."""
import os

import numpy as np
import pytest

pytest.importorskip("openvino", reason="openvino is an optional extra (synthetic data): "
                    'pip install "openvino>=2024,<2027" && pip install --no-deps random-face==2021.7.21.1')

from stngan.synthetic.prepare import generate_images, generate_videos, read_video  # noqa: E402
from stngan.synthetic.stylegan import FaceGenerator, GeneratorUnavailableError, find_model_files  # noqa: E402
from stngan.synthetic.directions import load_directions  # noqa: E402
from stngan.synthetic.walks import WalkSettings, face_video, latent_walk  # noqa: E402

try:
    find_model_files()
except GeneratorUnavailableError as e:  # openvino present but random-face's files not installed
    pytest.skip(f"optional extra incomplete: {e}", allow_module_level=True)


@pytest.fixture(scope="module")
def gen():
    return FaceGenerator()


def test_mapping_gives_one_w_per_z_independent_of_batch(gen):
    z = np.random.default_rng(0).standard_normal((3, 512), dtype=np.float32)
    w = gen.mapping(z)
    assert w.shape == (3, 512) and w.dtype == np.float32
    assert np.allclose(w[1:2], gen.mapping(z[1:2]), atol=1e-5)
    assert gen.w_avg.shape == (512,)
    assert np.array_equal(gen.w_avg, FaceGenerator(w_avg_samples=gen.w_avg_samples).w_avg)  # fixed seed


def test_sample_is_deterministic_with_expected_shape_dtype_range(gen):
    a = gen.sample(7, n=2, size=128)
    assert a.shape == (2, 128, 128, 3) and a.dtype == np.uint8
    assert np.array_equal(a, gen.sample(7, n=2, size=128))
    assert np.abs(a[0].astype(int) - a[1]).mean() > 20  # two different faces
    assert a.min() < 40 and a.max() > 215               # full dynamic range, not a flat image


def test_wplus_with_equal_rows_matches_w_and_style_mixing(gen):
    w = gen.sample_w(3, n=2)
    assert gen.num_layers == 23
    assert np.array_equal(gen.synthesize(gen.to_wplus(w[:1]), 64), gen.synthesize(w[:1], 64))
    mixed = gen.mix(w[:1], w[1:], 5)
    assert mixed.shape == (1, 23, 512)
    assert np.array_equal(mixed[0, :5], gen.to_wplus(w[:1])[0, :5]) and np.array_equal(mixed[0, 5:], gen.to_wplus(w[1:])[0, 5:])
    with pytest.raises(ValueError):
        gen.synthesize(np.zeros((1, 7, 512), np.float32))


def _one_face_counter():
    try:
        from stngan.faces import FaceAnalyzer
    except ImportError:
        import dlib

        from stngan.weights import require

        detector = dlib.get_frontal_face_detector()
        predictor = dlib.shape_predictor(str(require("dlib_landmarks68")))

        def count(img):
            rects = detector(img, 0)
            return len([predictor(img, r) for r in rects])

        return count
    analyzer = FaceAnalyzer(upsample=0)  # faces are ~150 px wide at 256 px: no upsampling needed
    return lambda img: len(analyzer.analyze(img))


def test_dlib_finds_exactly_one_face_in_most_generated_images(gen):
    count = _one_face_counter()
    faces = gen.sample(11, n=10, size=256)
    assert sum(count(np.ascontiguousarray(f)) == 1 for f in faces) >= 9


def test_face_video_frames_change_smoothly(gen):
    dirs = load_directions(gen)
    walk = latent_walk(gen, 5, 6, directions=dirs)
    assert walk.shape == (6, 23, 512) and np.array_equal(walk, latent_walk(gen, 5, 6, directions=dirs))
    with pytest.raises(ValueError, match="needs directions"):
        latent_walk(gen, 5, 6)
    video = face_video(5, frames=6, size=128, generator=gen, directions=dirs).astype(np.int16)
    assert video.shape == (6, 128, 128, 3)
    consecutive = np.abs(np.diff(video, axis=0)).mean()
    unrelated = np.abs(gen.sample(99, n=1, size=128)[0].astype(np.int16) - video[0]).mean()
    assert consecutive < 0.25 * unrelated, (consecutive, unrelated)


def test_generate_images_is_resumable(gen, tmp_path):
    s = generate_images(tmp_path, 3, seed=4, size=64, generator=gen, progress=False)
    assert (s.written, s.skipped) == (3, 0)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["synth_4_000000.png", "synth_4_000001.png", "synth_4_000002.png"]
    kept = tmp_path / names[0]
    mtime, first = kept.stat().st_mtime_ns, (tmp_path / names[1]).read_bytes()
    (tmp_path / names[1]).unlink()
    s = generate_images(tmp_path, 4, seed=4, size=64, generator=gen, progress=False)
    assert (s.written, s.skipped) == (2, 2)
    assert kept.stat().st_mtime_ns == mtime                       # existing files untouched
    assert (tmp_path / names[1]).read_bytes() == first              # regenerated bit-identically
    assert len(os.listdir(tmp_path)) == 4                           # no temporary files left


def test_generate_videos_is_resumable(gen, tmp_path):
    settings = WalkSettings(key_every=2.0)
    s = generate_videos(tmp_path, 1, frames=3, seed=2, size=64, generator=gen, settings=settings, progress=False)
    assert s.written == 1
    video = read_video(tmp_path / "synth_2_000000.mkv")
    assert video.shape == (3, 64, 64, 3) and video.dtype == np.uint8
    s = generate_videos(tmp_path, 1, frames=3, seed=2, size=64, generator=gen, settings=settings, progress=False)
    assert (s.written, s.skipped) == (0, 1)
