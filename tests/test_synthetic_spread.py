"""Pose/expression spread of synthetic stills (stngan.synthetic.semantic, generate_images(spread=...)).

The fake generator stands in for MobileStyleGAN (no openvino needed); the real one is used when installed.
"""
from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from stngan.errors import InputError
from stngan.synthetic.directions import ATTRIBUTES, Directions
from stngan.synthetic.prepare import generate_images, still_w
from stngan.synthetic.semantic import SEMANTIC_AMPLITUDES, SEMANTIC_CLIP, SEMANTIC_ROWS, add_semantic, spread_wplus
from stngan.synthetic.walks import WalkSettings

L = 23


def orthonormal_directions(seed: int = 0) -> Directions:
    q = np.linalg.qr(np.random.default_rng(seed).standard_normal((512, len(ATTRIBUTES))))[0].T
    return Directions(ATTRIBUTES, q.astype(np.float32), np.ones(len(ATTRIBUTES), np.float32))


class FakeGenerator:
    """The parts of FaceGenerator that generate_images uses; the image is a fixed projection of the latent, so
    any change of w or of any w+ row changes the pixels."""

    num_layers = L

    def __init__(self) -> None:
        self.proj = np.random.default_rng(9).standard_normal((512, 3)).astype(np.float32) * 0.05

    def sample_w(self, seed, n=1, truncation=0.7):
        return (np.random.default_rng(seed).standard_normal((n, 512), dtype=np.float32) * truncation).astype(np.float32)

    def synthesize(self, w, size=None):
        w = np.asarray(w, np.float32)
        wp = np.repeat(w[:, None], L, axis=1) if w.ndim == 2 else w
        rows = np.tanh(wp @ self.proj)                                       # (N, L, 3)
        img = np.repeat(rows[:, :, None, :], size, axis=2)[:, np.arange(size) * L // size]
        return ((img + 1) * 127.5).astype(np.uint8)                          # (N, size, size, 3)

    def sample(self, seed, n=1, truncation=0.7, size=None):
        return self.synthesize(self.sample_w(seed, n, truncation), size)


def test_walks_and_stills_share_one_amplitude_table():
    s = WalkSettings()
    assert s.amplitudes is SEMANTIC_AMPLITUDES and s.middle_layers == SEMANTIC_ROWS and s.clip == SEMANTIC_CLIP
    assert dict(SEMANTIC_AMPLITUDES) == {"yaw": 1.5, "pitch": 1.0, "mouth_open": 1.2, "smile": 1.0, "eyes_open": 0.7}


def test_spread_moves_only_the_pose_rows_by_the_drawn_multiples():
    d = orthonormal_directions()
    w = np.random.default_rng(1).standard_normal((2, 512)).astype(np.float32)
    wp = spread_wplus(w, L, d, np.random.default_rng(5), spread=0.8)
    assert wp.shape == (2, L, 512) and wp.dtype == np.float32
    np.testing.assert_array_equal(wp[:, SEMANTIC_ROWS:], np.repeat(w[:, None], L - SEMANTIC_ROWS, axis=1))
    moved = wp[:, :SEMANTIC_ROWS] - w[:, None]
    assert np.allclose(moved, moved[:, :1], atol=1e-6)                  # one draw per face, same on every row
    coef = moved[:, 0] @ d.vectors.T                                     # orthonormal: coordinates = multiples
    expected = np.clip(np.random.default_rng(5).standard_normal((2, 5)), -SEMANTIC_CLIP, SEMANTIC_CLIP)
    np.testing.assert_allclose(coef, expected * 0.8 * np.array([a for _, a in SEMANTIC_AMPLITUDES]), atol=1e-4)


def test_spread_draws_have_the_requested_standard_deviation():
    d = orthonormal_directions()
    w = np.zeros((4000, 512), np.float32)
    coef = spread_wplus(w, L, d, np.random.default_rng(0), spread=0.5)[:, 0] @ d.vectors.T
    amps = np.array([a for _, a in SEMANTIC_AMPLITUDES])
    np.testing.assert_allclose(coef.std(0), 0.5 * amps, rtol=0.06)       # clipping at 2.5 σ trims ~1 %


def test_add_semantic_checks_shapes():
    with pytest.raises(AssertionError):
        add_semantic(np.zeros((1, L, 512), np.float32), np.zeros((2, 5), np.float32), np.zeros((5, 512), np.float32))


def read(path) -> np.ndarray:
    return np.asarray(Image.open(path))


def test_default_spread_writes_the_images_of_before(tmp_path, monkeypatch):
    gen = FakeGenerator()
    monkeypatch.setattr("stngan.synthetic.prepare.load_directions", lambda g: orthonormal_directions())
    generate_images(tmp_path / "default", 3, seed=2, size=32, generator=gen, progress=False)
    generate_images(tmp_path / "zero", 3, seed=2, size=32, generator=gen, progress=False, spread=0.0)
    for i in range(3):
        before = gen.sample(np.random.default_rng([2, 0, i]), 1, 0.7, 32)[0]   # the definition of image i so far
        name = f"synth_2_{i:06d}.png"
        np.testing.assert_array_equal(read(tmp_path / "default" / name), before)
        assert (tmp_path / "default" / name).read_bytes() == (tmp_path / "zero" / name).read_bytes()


def test_spread_images_depend_only_on_seed_and_index(tmp_path, monkeypatch):
    gen = FakeGenerator()
    monkeypatch.setattr("stngan.synthetic.prepare.load_directions", lambda g: orthonormal_directions())
    generate_images(tmp_path / "a", 4, seed=3, size=32, generator=gen, progress=False, spread=1.0)
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "synth_3_000001.png").write_bytes(b"")        # exists: skipped, the others made after it
    generate_images(tmp_path / "b", 4, seed=3, size=32, generator=gen, progress=False, spread=1.0)
    (tmp_path / "b" / "synth_3_000001.png").unlink()
    generate_images(tmp_path / "b", 4, seed=3, size=32, generator=gen, progress=False, spread=1.0)  # now only 1
    generate_images(tmp_path / "plain", 4, seed=3, size=32, generator=gen, progress=False)
    for i in range(4):
        name = f"synth_3_{i:06d}.png"
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
        assert not np.array_equal(read(tmp_path / "a" / name), read(tmp_path / "plain" / name))
        w = still_w(gen, 3, i, 0.7, 1.0, orthonormal_directions())
        np.testing.assert_array_equal(read(tmp_path / "a" / name), gen.synthesize(w, 32)[0])
        np.testing.assert_array_equal(w[0, -1], gen.sample_w(np.random.default_rng([3, 0, i]))[0])  # same identity


def test_spread_is_checked():
    with pytest.raises(InputError, match="spread"):
        generate_images("/nonexistent/never", 1, seed=0, generator=FakeGenerator(), spread=-1)
    with pytest.raises(ValueError, match="directions"):
        still_w(FakeGenerator(), 0, 0, 0.7, spread=1.0)


# -- the real MobileStyleGAN, when the optional extra is installed --------------------------------------------
def real_generator():
    pytest.importorskip("openvino", reason="openvino is an optional extra (synthetic data)")
    from stngan.synthetic.stylegan import FaceGenerator, GeneratorUnavailableError, find_model_files

    try:
        find_model_files()
    except GeneratorUnavailableError as e:
        pytest.skip(f"optional extra incomplete: {e}")
    return FaceGenerator(threads=1)


@pytest.mark.slow
def test_real_generator_default_is_bit_identical_and_spread_turns_heads(tmp_path):
    from stngan.faces import FaceAnalyzer
    from stngan.synthetic.directions import landmark_attributes, load_directions

    gen = real_generator()
    generate_images(tmp_path / "plain", 2, seed=5, size=256, generator=gen, progress=False)
    for i in range(2):
        before = gen.sample(np.random.default_rng([5, 0, i]), 1, 0.7, 256)[0]
        np.testing.assert_array_equal(read(tmp_path / "plain" / f"synth_5_{i:06d}.png"), before)
    # +2 σ and −2 σ of yaw on the same face: the measured landmark yaw moves in the direction's sign
    dirs = load_directions(gen)
    w = gen.sample_w(np.random.default_rng([5, 0, 0]), 1, 0.7)
    analyzer = FaceAnalyzer()
    yaws = []
    for k in (-2.0, 2.0):
        wp = np.repeat(w[:, None], gen.num_layers, axis=1)
        add_semantic(wp, np.array([[k, 0, 0, 0, 0]], np.float32) * 1.5, np.stack([dirs[n] for n in ATTRIBUTES]))
        faces = analyzer.analyze(gen.synthesize(wp, 256)[0])
        assert len(faces) == 1
        yaws.append(landmark_attributes(faces[0].landmarks)[0])
    assert yaws[1] - yaws[0] > 0.1, yaws
