"""The realism measures must be able to fail: known AUCs, a blurred patch loses detail, grouping holds."""
import cv2
import numpy as np
import pytest
from skimage import data as skdata

from stngan.faces.analyzer import FaceAnalyzer
from stngan.metrics.realism import classifier_auc, detail_ratio, part_patch, patch_features, roc_auc


def test_roc_auc_of_known_rankings():
    assert roc_auc([0.1, 0.2, 0.8, 0.9], [0, 0, 1, 1]) == 1.0
    assert roc_auc([0.9, 0.8, 0.2, 0.1], [0, 0, 1, 1]) == 0.0
    assert roc_auc([0.5, 0.5, 0.5, 0.5], [0, 1, 0, 1]) == 0.5


def test_the_classifier_tells_separable_sets_apart_and_not_equal_ones():
    rng = np.random.default_rng(0)
    real = rng.normal(0, 1, (60, 20))
    same = rng.normal(0, 1, (60, 20))
    shifted = rng.normal(0, 1, (60, 20)) + np.r_[2.0, np.zeros(19)]
    groups = np.arange(60)
    assert classifier_auc(real, shifted, groups) > 0.9
    assert abs(classifier_auc(real, same, groups) - 0.5) < 0.15


@pytest.fixture(scope="module")
def face():
    img = skdata.astronaut()
    return img, FaceAnalyzer().analyze(img)[0].landmarks


def test_patches_are_cut_by_the_landmarks_and_blur_loses_detail(face):
    img, lm = face
    eyes, mouth = part_patch(img, lm, "eyes"), part_patch(img, lm, "mouth")
    assert eyes.shape == (32, 96, 3) and mouth.shape == (48, 72, 3)
    assert detail_ratio(eyes, eyes) == pytest.approx(1.0)
    blurred = part_patch(cv2.GaussianBlur(img, (0, 0), 2.0), lm, "eyes")
    assert detail_ratio(blurred, eyes) < 0.6
    assert patch_features(eyes).shape == patch_features(blurred).shape
    with pytest.raises(ValueError, match="part"):
        part_patch(img, lm, "nose")
