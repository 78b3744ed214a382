"""Face tracks: IoU association, ends after K unseen frames, region search, EMA smoothing (dlfers.video.tracking)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from _clips import face_patch, frames, line

from dlfers.face.detect import FaceBox, crop_box, detect_faces, detector_settings
from dlfers.video.tracking import Tracker, ema, iou, search_region


def _box(x: int, y: int, s: int = 60) -> FaceBox:
    return FaceBox(x, y, s, s)


def test_iou_of_equal_disjoint_and_half_overlapping_boxes():
    assert iou(_box(0, 0), _box(0, 0)) == 1.0
    assert iou(_box(0, 0), _box(100, 0)) == 0.0
    assert iou(FaceBox(0, 0, 20, 10), FaceBox(10, 0, 20, 10)) == pytest.approx(1 / 3)


def test_boxes_crossing_each_other_keep_their_ids():
    """Two boxes moving towards each other overlap (IoU up to 1) and pass: the velocity keeps the ids."""
    tracker = Tracker()
    ids = []
    for i in range(30):
        a, b = _box(10 + 8 * i, 100), _box(250 - 8 * i, 110)
        tracks = tracker.associate([a, b])
        ids.append((tracks[0].id, tracks[1].id))
    assert set(ids) == {(0, 1)}
    assert max(iou(_box(10 + 8 * i, 100), _box(250 - 8 * i, 110)) for i in range(30)) > 0.7


def test_a_track_ends_after_k_unseen_frames_and_a_returning_face_gets_a_new_id():
    k = 3
    tracker = Tracker(max_unseen=k)
    first = tracker.associate([_box(100, 100)])[0].id
    for _ in range(k - 1):
        assert tracker.associate([]) == []
    assert tracker.associate([_box(100, 100)])[0].id == first  # back after K-1 frames: the same track
    for _ in range(k):
        tracker.associate([])
    assert tracker.tracks == []
    assert tracker.associate([_box(100, 100)])[0].id == first + 1  # after K frames: a new one
    assert tracker.started == 2


def test_tracker_state_stays_bounded_over_many_frames():
    """No per-frame growth: faces coming and going leave at most the live tracks in memory."""
    rng = np.random.default_rng(0)
    tracker = Tracker(max_unseen=2)
    for _ in range(500):
        tracker.associate([_box(int(x), int(y)) for x, y in rng.integers(0, 600, (rng.integers(0, 3), 2))])
        assert len(tracker.tracks) <= 6


@pytest.mark.parametrize("bad", [dict(max_unseen=0), dict(max_unseen=True), dict(min_iou=0.0), dict(min_iou=1.5)])
def test_tracker_rejects_bad_settings(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Tracker(**bad)


def test_ema_matches_a_hand_computation():
    tau, values, times = 0.5, [0.2, 1.0, 1.0, 0.0], [0.0, 0.1, 0.3, 0.35]
    s, out = None, []
    for t0, t1, v in zip([0.0, *times], times, values):
        s = ema(s, np.array([v, 1 - v]), t1 - t0, tau)
        out.append(s[0])
    a1, a2, a3 = (1 - math.exp(-dt / tau) for dt in (0.1, 0.2, 0.05))
    h1 = 0.2 + a1 * (1.0 - 0.2)
    h2 = h1 + a2 * (1.0 - h1)
    h3 = h2 + a3 * (0.0 - h2)
    assert out == pytest.approx([0.2, h1, h2, h3], abs=1e-12)
    assert s is not None and s.sum() == pytest.approx(1.0)


def test_ema_step_reaches_63_percent_after_one_time_constant():
    s = ema(None, np.zeros(1), 0.0, 1.0)
    for _ in range(100):
        s = ema(s, np.ones(1), 0.01, 1.0)
    assert s[0] == pytest.approx(1 - math.exp(-1.0))


def test_region_search_finds_the_face_a_full_detection_finds(jaffe):
    """On a 640x480 frame the region search around the face's box gives the full detector's box
    within one pixel of its 1/4-scale copy (4 px) plus one cascade scale step (about 8 px)."""
    st = detector_settings()
    face = face_patch(jaffe.images[0])
    worst = 0
    for i, frame in enumerate(frames([face], [line((30, 30), (440, 290), 12)], 12)):
        full = crop_box(detect_faces(frame, settings=st)[0], 0.15, 0.15, frame.shape)
        prior = FaceBox(full.x - 6, full.y + 5, full.w, full.h)  # where a track would predict it
        found = search_region(frame, prior, st, 0.15, 0.15)
        assert found is not None, i
        worst = max(worst, *np.abs(np.subtract(found.as_tuple(), full.as_tuple())))
    assert worst <= 8


def test_region_search_without_a_face_finds_nothing():
    assert search_region(np.full((480, 640), 110, np.uint8), _box(200, 150, 80), detector_settings(),
                         0.15, 0.15) is None


# ------------------------------------------------------------------ fast motion: the centre-distance fallback
def test_a_face_jumping_one_and_a_half_widths_per_frame_keeps_one_id():
    """IoU is 0 between consecutive boxes (and before a velocity exists): the centre distance continues the track."""
    tracker = Tracker()
    boxes = [_box(10 + 90 * i, 100 + 20 * i) for i in range(8)]  # 60-px face, 1.5 widths (and a bit) per frame
    assert all(iou(a, b) == 0.0 for a, b in zip(boxes, boxes[1:]))
    ids = [tracker.associate([b])[0].id for b in boxes]
    assert ids == [0] * 8 and tracker.started == 1
    tracker.associate([])  # unseen one frame, then 1.5 widths further than the predicted place
    assert tracker.associate([_box(boxes[-1].x + 2 * 90 + 90, 240)])[0].id == 0


def test_two_fast_faces_crossing_keep_their_ids():
    tracker = Tracker()
    ids = []
    for i in range(8):
        a, b = _box(10 + 90 * i, 100), _box(640 - 90 * i, 130)  # they pass each other at frames 3-4
        tracks = tracker.associate([a, b])
        ids.append((tracks[0].id, tracks[1].id))
    assert set(ids) == {(0, 1)}


def test_the_fallback_keeps_to_its_distance_and_size_limits():
    far = Tracker()
    far.associate([_box(0, 0)])
    assert far.associate([_box(130, 0)])[0].id == 1  # centre 130 px = 2.17 sides away: a new face
    assert far.started == 2
    other_size = Tracker()
    other_size.associate([_box(0, 0, 60)])
    assert other_size.associate([_box(70, 0, 100)])[0].id == 1  # 1.67x the side: a new face
    off = Tracker(max_jump=0)
    off.associate([_box(0, 0)])
    assert off.associate([_box(90, 0)])[0].id == 1  # no fallback: IoU alone
    assert Tracker().associate([_box(0, 0)])[0].id == 0
    two = Tracker()  # two tracks, one box between: the nearer track continues, the other stays unseen
    first, second = two.associate([_box(0, 0), _box(400, 0)])
    (t,) = two.associate([_box(300, 0)])
    assert t.id == second.id and first.unseen == 1


@pytest.mark.parametrize("bad", [dict(max_jump=-1), dict(max_jump=float("nan")), dict(max_size_ratio=0.9),
                                 dict(max_jump=float("inf"))])
def test_tracker_rejects_bad_fallback_settings(bad):
    with pytest.raises(ValueError, match=next(iter(bad))):
        Tracker(**bad)
