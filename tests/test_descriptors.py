"""TISF and TIPM: shapes, norms, the gradient geometry, and the wrapper's input checks."""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import dense_descriptors
from dlfers.features.descriptors import gaussian_taps, grid_shape


@pytest.fixture(scope="module")
def face():
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[0:128, 0:128]
    img = 120 + 60 * np.sin(xx / 7.0) * np.cos(yy / 11.0) + rng.normal(0, 5, (128, 128))
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("kind, dim", [("tisf", 128), ("tipm", 64)])
@pytest.mark.parametrize("step", [1, 2, 4])
def test_shapes_points_and_norms(face, kind, dim, step):
    pts, d = dense_descriptors(face, kind, step)
    n = ((128 - 16) // step + 1) ** 2
    assert pts.shape == (n, 2) and d.shape == (n, dim)
    assert pts.dtype == np.float32 and d.dtype == np.float32
    assert pts[0].tolist() == [7.5, 7.5] and pts[1].tolist() == [7.5 + step, 7.5]
    norms = np.linalg.norm(d, axis=1)
    np.testing.assert_allclose(norms, 1.0, atol=1e-5)
    assert d.min() >= 0 and d.max() <= 0.2 / 0.2 + 1e-6


def test_sift_clipping_bounds_components(face):
    _, d = dense_descriptors(face, "tisf", 4, clip=0.2)
    # after clip at 0.2 and renormalisation no component is far above 0.2·(1/‖clipped‖)
    assert d.max() < 0.5


def test_constant_image_gives_zero_gradients():
    _, d = dense_descriptors(np.full((32, 40), 77, np.uint8), "tisf", 2)
    assert d.shape[0] == grid_shape(32, 40)[0] * grid_shape(32, 40)[1]
    assert not d.any()


@pytest.mark.parametrize("kind, shift", [("tisf", -2), ("tipm", 2)])
def test_rotating_the_image_rotates_cells_and_shifts_orientation_bins(kind, shift):
    """A 90° rotation rotates the 4x4 cell grid and shifts the bins by 90°: 2 of 8 signed
    (45° each) or 2 of 4 unsigned (45° each) bins."""
    rng = np.random.default_rng(1)
    patch = (rng.random((16, 16)) * 255).astype(np.float32)
    nb = 8 if kind == "tisf" else 4
    _, d = dense_descriptors(patch, kind, 2)
    _, r = dense_descriptors(np.ascontiguousarray(np.rot90(patch)), kind, 2)
    want = np.roll(np.rot90(d.reshape(4, 4, nb), 1, axes=(0, 1)), shift, axis=2)
    np.testing.assert_allclose(r.reshape(4, 4, nb), want, atol=1e-5)


def test_horizontal_ramp_fills_bin_zero():
    ramp = np.tile(np.arange(32, dtype=np.float32) * 4, (32, 1))
    _, d = dense_descriptors(ramp, "tisf", 16, sigma=0)
    cells = d.reshape(-1, 16, 8)
    assert np.all(cells[:, :, 1:] == 0) and np.all(cells[:, :, 0] > 0)


def test_gaussian_taps():
    g = gaussian_taps(1.0)
    assert g.shape == (7,) and g.dtype == np.float32
    assert g.sum() == pytest.approx(1.0, abs=1e-6) and np.all(g == g[::-1]) and g.argmax() == 3


@pytest.mark.parametrize(
    "arr, kwargs, message",
    [
        (np.zeros((8, 8), np.uint8), {}, "too small"),
        (np.zeros((20, 20, 3), np.uint8), {}, "2-D"),
        (np.zeros((20, 20), np.complex64), {}, "dtype"),
        (np.zeros((20, 20), bool), {}, "dtype"),
        (np.full((20, 20), np.inf, np.float32), {}, "NaN or infinite"),
        ([[1, 2], [3, 4]], {}, "numpy array"),
        (np.zeros((20, 20), np.uint8), {"kind": "surf"}, "unknown descriptor kind"),
        (np.zeros((20, 20), np.uint8), {"step": 0}, "step"),
        (np.zeros((20, 20), np.uint8), {"cell": 2.5}, "cell"),
        (np.zeros((20, 20), np.uint8), {"sigma": float("nan")}, "sigma"),
        (np.zeros((20, 20), np.uint8), {"clip": 0}, "clip"),
        (np.zeros((5000, 5000), np.uint8), {}, "larger than the limit"),
    ],
)
def test_bad_input_is_refused_before_the_kernels(arr, kwargs, message):
    with pytest.raises(ValueError, match=message):
        dense_descriptors(arr, **kwargs)


def test_non_contiguous_and_uint16_input(face):
    _, a = dense_descriptors(face, "tisf", 4)
    big = np.zeros((128, 256), np.uint8)
    big[:, ::2] = face
    _, b = dense_descriptors(big[:, ::2], "tisf", 4)
    np.testing.assert_array_equal(a, b)
    _, c = dense_descriptors(face.astype(np.uint16), "tisf", 4)
    np.testing.assert_allclose(a, c, atol=1e-6)
