"""Eye alignment: it undoes a known rotation, puts the eyes on their targets, and counts fallbacks."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from dlfers import DLFERS
from dlfers.face.align import EYE_TARGETS, align_face, detect_eyes, eye_matrix, face_crop
from dlfers.face.detect import FaceBox
from dlfers.model.frames import locate_faces

#: measured on every 10th JAFFE image (22 faces, 21 with both eyes found again): the eyes
#: found again in the aligned crop lie a median 1.6 % (at most 3.3 %) of the target eye
#: distance from their targets (about 1 and 2.5 pixels on a JAFFE face); the tests allow
#: 3 % and 8 %
EYE_MEDIAN_TOL, EYE_MAX_TOL = 0.03, 0.08


def _rotated(img: np.ndarray, degrees: float) -> tuple[np.ndarray, np.ndarray]:
    import cv2

    h, w = img.shape
    r = cv2.getRotationMatrix2D((w / 2.0, h / 2.0), degrees, 1.0)
    return cv2.warpAffine(img, r, (w, h), borderMode=cv2.BORDER_REPLICATE), r


def _angle(m: np.ndarray) -> float:
    return math.degrees(math.atan2(m[1, 0], m[0, 0]))


@pytest.fixture(scope="module")
def sample(jaffe):
    return [jaffe.images[i] for i in range(0, len(jaffe), 10)]


def test_eye_matrix_puts_the_eyes_exactly_on_the_targets():
    m = eye_matrix(((30.0, 52.0), (95.0, 40.0)), 120, 140)
    src = np.array([[30.0, 52.0, 1.0], [95.0, 40.0, 1.0]])
    dst = src @ m.T
    want = np.array([[EYE_TARGETS[0][0] * 120, EYE_TARGETS[0][1] * 140], [EYE_TARGETS[1][0] * 120,
                                                                            EYE_TARGETS[1][1] * 140]])
    np.testing.assert_allclose(dst, want, atol=1e-9)
    assert abs(m[0, 0] * m[1, 1] - m[0, 1] * m[1, 0]) > 0 and m[0, 0] == pytest.approx(m[1, 1])  # a similarity


def test_rotation_by_10_degrees_is_undone_within_2_degrees(sample):
    """Each face, turned by -10, 0 and +10 degrees, is aligned; in the original frame the three
    alignments agree within 2 degrees of their mean (the face's upright, by its eye line).

    Measured: 21 of 22 faces aligned in all three, at most 1.31 degrees from their mean
    (median 0.58); against the unrotated face's alignment alone, median 0.57, at most 2.41.
    """
    model = DLFERS()
    checked = 0
    for img in sample:
        angles = []
        for theta in (-10.0, 0.0, 10.0):
            rot, r = _rotated(img, theta)
            gray, boxes = locate_faces(model, rot, 1)
            a = align_face(gray, boxes[0])
            if not a.aligned:
                break
            angles.append(_angle(a.matrix[:, :2] @ r[:, :2]))  # the whole map from the unrotated face
        else:
            checked += 1
            upright = float(np.mean(angles))
            assert max(abs(x - upright) for x in angles) <= 2.0, angles
    assert checked >= 0.8 * len(sample)


def test_aligned_eyes_land_on_their_targets(sample):
    model = DLFERS()
    errors = []
    for img in sample:
        gray, boxes = locate_faces(model, img, 1)
        a = align_face(gray, boxes[0])
        if not a.aligned:
            continue
        h, w = a.crop.shape
        again = detect_eyes(a.crop, FaceBox(0, 0, w, h))
        if again is None:
            continue
        target = np.array(EYE_TARGETS) * [w, h]
        errors.append(float(np.abs(np.array(again) - target).max() / (target[1, 0] - target[0, 0])))
    assert len(errors) >= len(sample) // 2
    assert np.median(errors) <= EYE_MEDIAN_TOL and max(errors) <= EYE_MAX_TOL


def test_no_eyes_falls_back_to_the_unaligned_crop_counted_and_warned():
    rng = np.random.default_rng(0)
    blank = rng.integers(100, 110, (96, 96), dtype=np.uint8)
    box = FaceBox(8, 8, 80, 80)
    a = align_face(blank, box)
    assert not a.aligned and a.eyes is None
    np.testing.assert_array_equal(a.crop, blank[8:88, 8:88])
    crop, aligned = face_crop(blank, box, False)
    assert aligned is None and crop.shape == (80, 80)
    model = DLFERS(align=True, detect=False, face_size=32)
    with pytest.warns(UserWarning, match="eyes not found in 1 of 1 faces"):
        feats = model.extract([blank], progress=False)
    assert feats[0].aligned is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert DLFERS(detect=False, face_size=32).extract([blank], progress=False)[0].aligned is None


def test_predict_image_and_predict_share_the_aligned_face(jaffe_small):
    images, labels, _ = jaffe_small
    params = dict(face_size=64, layout="whole+halves+fused", n_words=6, max_samples=2000, align=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # a few faces without eyes found
        model = DLFERS(**params).fit(images[::2], labels[::2])
        frame = images[1]
        direct = model.predict_proba([frame])[0]
        feats = model.extract([frame], progress=False)
    res = model.predict_image(frame)[0]
    assert feats[0].aligned is True
    np.testing.assert_allclose([res.probabilities[c] for c in model.classes_], direct, atol=1e-12)
    assert res.label == model.predict([frame])[0]


def test_small_faces_of_other_people_find_their_eyes_near_the_targets():
    """CK+48's pre-cropped 48x48 faces (118 people JAFFE does not have): the eyes are found in
    most (measured: 85 of 99, every 10th file) and their median lies near the targets, which
    were read off JAFFE (measured: x 0.215 / 0.743, y 0.30 / 0.29)."""
    import cv2
    from conftest import data_dir

    files = sorted((data_dir() / "ckplus48").glob("*/*.png"))[::20]
    if not files:
        pytest.skip(f"CK+48 not found under {data_dir()}")
    model = DLFERS(detect=False)
    found = []
    for f in files:
        gray, boxes = locate_faces(model, cv2.imread(str(f), cv2.IMREAD_GRAYSCALE), 1)
        b = boxes[0]
        eyes = detect_eyes(gray, b)
        if eyes is not None:
            found.append([(eyes[0][0] - b.x) / b.w, (eyes[0][1] - b.y) / b.h,
                          (eyes[1][0] - b.x) / b.w, (eyes[1][1] - b.y) / b.h])
    assert len(found) >= 0.75 * len(files)
    target = [EYE_TARGETS[0][0], EYE_TARGETS[0][1], EYE_TARGETS[1][0], EYE_TARGETS[1][1]]
    np.testing.assert_allclose(np.median(found, axis=0), target, atol=0.04)
