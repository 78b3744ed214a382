"""SPOF region layouts and the fused eyes+mouth image."""

from __future__ import annotations

import numpy as np
import pytest

from dlfers.features.descriptors import DescriptorSpec, grid_points, grid_shape
from dlfers.features.regions import EYE_BLOCK, FACE_LEVELS, FUSED_LEVELS, MOUTH_BLOCK, fused_image, parse_layout


def _points(size=128, step=2):
    ny, nx = grid_shape(size, size, step)
    return grid_points(ny, nx, DescriptorSpec(step=step))


@pytest.mark.parametrize("level, n", [("whole", 1), ("halves", 2), ("grid2", 4), ("grid4", 16), ("upper4", 4),
                                      ("lower4", 4), ("eyes", 1), ("mouth", 1)])
def test_level_sizes(level, n):
    assert len(FACE_LEVELS[level]) == n
    assert parse_layout(level).n_regions == n


def test_layout_counts_and_order():
    lay = parse_layout("whole+halves+grid4+fused+fused4")
    assert lay.face == ("whole", "halves", "grid4") and lay.fused == ("fused", "fused4")
    assert lay.n_regions == 1 + 2 + 16 + 1 + 4


@pytest.mark.parametrize("spec, message", [("", "empty"), ("whole+nose", "unknown layout level"),
                                           ("whole+whole", "twice")])
def test_bad_layouts(spec, message):
    with pytest.raises(ValueError, match=message):
        parse_layout(spec)


def test_every_point_in_exactly_one_region_per_tiling_level():
    pts = _points()
    lay = parse_layout("whole+halves+grid2+grid4")
    r = lay.assign(pts, (128, 128), "face")
    assert r.shape == (len(pts), 4) and r.min() >= 0
    offsets = [0, 1, 3, 7]
    for li, (lvl, off) in enumerate(zip(lay.face, offsets)):
        ids = r[:, li] - off
        assert ids.min() == 0 and ids.max() == len(FACE_LEVELS[lvl]) - 1
        counts = np.bincount(ids)
        assert counts.sum() == len(pts)
    # the upper half of 'halves' holds exactly the points with y < 64
    np.testing.assert_array_equal(r[:, 1] == 1, pts[:, 1] < 64)


def test_upper_and_lower_parts_cover_only_their_half():
    pts = _points()
    r = parse_layout("upper4+lower4").assign(pts, (128, 128), "face")
    np.testing.assert_array_equal(r[:, 0] >= 0, pts[:, 1] < 64)
    np.testing.assert_array_equal(r[:, 1] >= 0, pts[:, 1] >= 64)
    assert set(r[r[:, 1] >= 0, 1]) == {4, 5, 6, 7}


def test_fused_regions_numbered_after_face_regions():
    lay = parse_layout("grid4+fused4")
    r = lay.assign(_points(), (128, 128), "fused")
    assert r.shape[1] == 1 and set(r[:, 0]) == {16, 17, 18, 19}


def test_fused_image_is_eyes_over_mouth():
    face = np.zeros((128, 128), np.float32)
    ys, xs = np.mgrid[0:128, 0:128]
    face[:] = ys  # the row index as brightness
    fused = fused_image(face)
    assert fused.shape == (128, 128) and fused.dtype == np.float32
    top, bottom = fused[:64], fused[64:]
    # eye block spans rows [0, 0.45·H), mouth block [0.6·H, H)
    assert top.min() >= 0 and top.max() <= EYE_BLOCK[3] * 128
    assert bottom.min() >= MOUTH_BLOCK[1] * 128 - 1 and bottom.max() <= 128
    assert np.all(np.diff(fused[:, 64]) >= 0)
    assert set(FUSED_LEVELS) == {"fused", "fused2", "fused4", "fused16"}
