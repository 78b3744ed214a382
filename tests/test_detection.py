"""Face detection on a synthetic set: JAFFE faces pasted at 15-80 % of the frame height.

The set (tests/_detection_set.py, seed 0): per frame size (256x256 and 640x480), 40
frames with one JAFFE face whose box is 15-80 % of the frame's height, at a random
position and rotated by up to ±10°, on a textured, noisy canvas, and 15 frames of the
texture alone.  A face counts as found when a returned box overlaps its true box by
IoU >= 0.5.  Run with ``-s`` to see the find-rate table.
"""

from __future__ import annotations

import threading

import numpy as np
import pytest
from _detection_set import iou, jaffe_sources, make_set

from dlfers import DLFERS, detect_faces
from dlfers.face.detect import DETECTORS, DetectorSettings, crop_face, detector_settings
from dlfers.model.estimator import PRESETS

FOUND_IOU = 0.5
#: the detector settings compared: today's (before coarse-to-fine) default and realtime preset,
#: and the settings each preset now resolves to
SETTINGS = {
    "old default (cascade 160, 0.2, 1.1)": DetectorSettings("cascade", 160, 0.2, 1.1),
    "old realtime (cascade 64, 0.4, 1.2)": DetectorSettings("cascade", 64, 0.4, 1.2),
    "coarse2fine": DetectorSettings("coarse2fine", 240, 0.15, 1.3),
    "new default (cascade+coarse2fine)": DetectorSettings("cascade+coarse2fine", 160, 0.15, 1.1),
    "default (cascade+yunet)": DLFERS().spec().detector,
    **{f"preset {name}": DLFERS.from_preset(name).spec().detector for name in PRESETS},
}
REFERENCE = "old default (cascade 160, 0.2, 1.1)"


@pytest.fixture(scope="module")
def frames(jaffe_dir):
    images, names, boxes = jaffe_sources(jaffe_dir, every=3)
    return make_set(images, names, boxes, n_faces=40, n_empty=15, seed=0)


@pytest.fixture(scope="module")
def detections(frames):
    """Settings label -> the boxes (x, y, w, h) found in every frame (each distinct setting run once)."""
    runs: dict[DetectorSettings, list[list[tuple[int, int, int, int]]]] = {}
    out = {}
    for label, st in SETTINGS.items():
        if st not in runs:
            runs[st] = [[b.as_tuple() for b in detect_faces(f.image, settings=st)] for f in frames]
        out[label] = runs[st]
    return out


def _found(frames, boxes) -> np.ndarray:
    """(n_face_frames,) bool: the face of each face frame was found."""
    return np.array([any(iou(b, f.truth) >= FOUND_IOU for b in bs) for f, bs in zip(frames, boxes) if f.truth])


def _table(frames, detections) -> str:
    sizes = sorted({f.size for f in frames})
    head = "| detector | " + " | ".join(f"found {s}" for s in sizes) + " | false faces, face frames | on empty frames |"
    lines = [head, "|---|" + "---:|" * (len(sizes) + 2)]
    for label, boxes in detections.items():
        cells = []
        for s in sizes:
            idx = [i for i, f in enumerate(frames) if f.size == s]
            found = _found([frames[i] for i in idx], [boxes[i] for i in idx])
            cells.append(f"{found.sum()}/{found.size} ({found.mean():.1%})")
        fp_face = sum(sum(iou(b, f.truth) < FOUND_IOU for b in bs) for f, bs in zip(frames, boxes) if f.truth)
        fp_empty = sum(len(bs) for f, bs in zip(frames, boxes) if f.truth is None)
        n_empty = sum(f.truth is None for f in frames)
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {fp_face} | {fp_empty} in {n_empty} |")
    return "\n".join(lines)


def test_the_set_covers_the_range(frames):
    faces = [f for f in frames if f.truth]
    fractions = np.array([f.fraction for f in faces])
    assert fractions.min() < 0.17 and fractions.max() > 0.78
    assert {f.size for f in frames} == {"256x256", "640x480"}
    assert sum(f.truth is None for f in frames) == 30
    assert max(abs(f.angle) for f in faces) <= 10 and max(abs(f.angle) for f in faces) > 8


def test_every_preset_finds_what_the_old_default_finds(frames, detections):
    print("\n" + _table(frames, detections))
    ref = _found(frames, detections[REFERENCE])
    for label, boxes in detections.items():
        if label.startswith(("preset", "new", "default")):
            found = _found(frames, boxes)
            assert found.mean() >= ref.mean(), label
            # face by face, not only in number
            assert not np.any(ref & ~found), (label, np.flatnonzero(ref & ~found))


def test_the_new_default_finds_faces_from_15_to_80_percent_in_both_frame_sizes(frames, detections):
    boxes = detections["new default (cascade+coarse2fine)"]
    for size in ("256x256", "640x480"):
        idx = [i for i, f in enumerate(frames) if f.size == size]
        found = _found([frames[i] for i in idx], [boxes[i] for i in idx])
        assert found.mean() >= 0.95, (size, found.mean())


def test_the_old_realtime_settings_missed_faces_the_new_realtime_preset_finds(frames, detections):
    old = _found(frames, detections["old realtime (cascade 64, 0.4, 1.2)"])
    new = _found(frames, detections["preset realtime"])
    assert new.mean() > old.mean() + 0.2


def test_the_new_detectors_find_no_face_in_empty_frames(frames, detections):
    # The old default ("cascade") is kept as it is for the paper preset; its false faces are
    # reported in the table, not asserted.
    for label in ("coarse2fine", "new default (cascade+coarse2fine)", "default (cascade+yunet)", "preset default",
                  "preset realtime"):
        false = [bs for f, bs in zip(frames, detections[label]) if f.truth is None and bs]
        assert not false, (label, false)


def test_coarse_to_fine_boxes_match_the_old_default(frames, detections):
    ious = []
    for f, ref, new in zip(frames, detections[REFERENCE], detections["new default (cascade+coarse2fine)"]):
        if f.truth is None:
            continue
        a = [b for b in ref if iou(b, f.truth) >= FOUND_IOU]
        b = [b for b in new if iou(b, f.truth) >= FOUND_IOU]
        if a and b:
            ious.append(iou(a[0], b[0]))
    ious = np.array(ious)
    print(f"\nIoU(coarse2fine, old default) over {ious.size} faces both found: min {ious.min():.3f}, "
          f"5th percentile {np.percentile(ious, 5):.3f}, median {np.median(ious):.3f}")
    # measured: min 0.785, 5th percentile 0.821, median 0.904 (seeds 1-3 of the same set, other JAFFE
    # images: min 0.75-0.81, median 0.90-0.91; all of JAFFE: min 0.769, median 0.889)
    assert ious.size >= 70 and ious.min() >= 0.7 and np.median(ious) >= 0.85


def test_coarse_to_fine_boxes_match_the_old_default_on_jaffe(jaffe):
    ious = [iou(detect_faces(im, detector="cascade")[0].as_tuple(), detect_faces(im)[0].as_tuple())
            for im in jaffe.images[::4]]
    assert min(ious) >= 0.7 and np.median(ious) >= 0.85


def test_coarse_to_fine_boxes_are_nearly_as_close_to_the_truth_as_the_old_default(frames, detections):
    # The true boxes are the old default's own boxes on the source images, carried into the frame,
    # so this favours the old default; measured: median IoU 0.894 (coarse2fine) vs 0.924.  (Shrinking
    # the fine boxes by 5 % gave 0.920, but lower JAFFE accuracy with the realtime preset: not done.)
    def closeness(label: str) -> float:
        return float(np.median([max((iou(b, f.truth) for b in bs), default=0.0)
                                for f, bs in zip(frames, detections[label]) if f.truth]))

    new, old = closeness("new default (cascade+coarse2fine)"), closeness(REFERENCE)
    print(f"\nmedian IoU with the true box: coarse2fine {new:.3f}, old default {old:.3f}")
    assert new >= 0.85 and new >= old - 0.05


def test_realtime_preset_finds_the_issue_vga_face(jaffe):
    """Issue 12's repro: a 256x256 JAFFE frame scaled to 300 px on a 640x480 gray canvas, 20 positions."""
    import cv2

    settings = DLFERS.from_preset("realtime").spec().detector
    rng = np.random.default_rng(1)
    found = 0
    for k in range(20):
        img = cv2.resize(jaffe.images[10 * k], (300, 300), interpolation=cv2.INTER_LINEAR)
        canvas = np.full((480, 640), 128, np.uint8)
        x, y = int(rng.integers(0, 340)), int(rng.integers(0, 180))
        canvas[y : y + 300, x : x + 300] = img
        boxes = detect_faces(canvas, settings=settings)
        found += bool(boxes) and x <= boxes[0].x and boxes[0].x + boxes[0].w <= x + 300
    assert found == 20


def test_paper_preset_keeps_the_single_pass_detector_exactly(jaffe):
    assert DLFERS.from_preset("paper").spec().detector == DetectorSettings("cascade", 160, 0.2, 1.1)
    assert DETECTORS["cascade"] == (160, 0.2, 1.1)
    im = jaffe.images[7]
    assert detect_faces(im, 160, 0.2, 1.1, detector="cascade") == detect_faces(im, detector="cascade")
    paper = DLFERS.from_preset("paper").spec().detector
    assert detect_faces(im, settings=paper) == detect_faces(im, detector="cascade")


def test_default_detector_is_the_single_pass_then_yunet():
    assert DLFERS().spec().detector == detector_settings() == DetectorSettings()
    assert DetectorSettings() == DetectorSettings("cascade+yunet", 160, 0.02, 1.1, 0.7)
    assert DLFERS.from_preset("realtime").spec().detector.detector == "cascade+coarse2fine"
    assert detector_settings("coarse2fine", min_face=0.3) == DetectorSettings("coarse2fine", 240, 0.3, 1.3)


@pytest.mark.parametrize("kwargs, message", [
    ({"detector": "hog"}, "detector must be one of"),
    ({"detector": "coarse2fine", "detect_size": 10}, "detect_size"),
    ({"detector": "coarse2fine", "min_face": 1.5}, "min_face"),
    ({"detector": "coarse2fine", "scale_factor": 1.0}, "scale_factor"),
    ({"detector": "coarse2fine", "scale_factor": "1.2"}, "scale_factor"),
    ({"min_face": True}, "min_face"),
])
def test_bad_detector_settings_are_refused_with_the_setting_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        detect_faces(np.zeros((100, 100), np.uint8), **kwargs)


def test_settings_and_keywords_together_are_refused():
    with pytest.raises(ValueError, match="either settings or"):
        detect_faces(np.zeros((100, 100), np.uint8), 160, settings=DetectorSettings())


def test_estimator_refuses_an_unknown_detector():
    with pytest.raises(ValueError, match="detector must be one of"):
        DLFERS(detector="dnn").spec()


def test_tiny_and_blank_frames_give_no_face():
    for shape in ((10, 10), (30, 200), (480, 640)):
        assert detect_faces(np.full(shape, 90, np.uint8)) == []
    _, _, found = crop_face(np.full((64, 64), 90, np.uint8))
    assert not found


def test_detection_from_threads_equals_serial(frames):
    subset = [f.image for f in frames[::6]]
    serial = [detect_faces(im) for im in subset]
    results: list[list[object]] = [[] for _ in range(4)]

    def work(k: int) -> None:
        results[k] = [detect_faces(im) for im in subset]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(r == serial for r in results)
