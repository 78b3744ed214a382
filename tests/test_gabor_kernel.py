"""The Gabor energy kernel: its NumPy definition is OpenCV's filtering, and every backend computes it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlfers import _kernels
from dlfers.features.gabor import (
    CELL,
    N_CELLS,
    N_FILTERS,
    ORIENTATIONS,
    SIGMA_RATIO,
    SIZE,
    STRIDES,
    WAVELENGTHS,
    gabor_energies,
    gabor_taps,
)

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
#: float32's unit roundoff
UNIT = float(np.finfo(np.float32).eps) / 2


@st.composite
def problems(draw):
    """(img, taps, stride, cell): n in {8, 16, 32, 64}, a stride dividing the cell, the cell dividing n,
    any odd tap count with r < n, random float32 values; the taps random, or (as a Gabor bank's) most
    filters' x taps symmetric and some filters mirrors of the previous one (the compiled kernels' shortcuts)."""
    n = draw(st.sampled_from([8, 16, 32, 64]))
    stride = draw(st.sampled_from([1, 2, 4]))
    cell = stride * draw(st.sampled_from([c for c in (1, 2, 4, 8, 16, 32, 64) if n % (stride * c) == 0]))
    r = draw(st.integers(0, n - 1))
    nf = draw(st.integers(1, 9))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    img = (rng.standard_normal((n, n)) * draw(st.sampled_from([1e-3, 1.0, 300.0]))).astype(np.float32)
    taps = rng.standard_normal((nf, 4, 2 * r + 1)).astype(np.float32)
    if draw(st.booleans()):
        for f in range(nf):
            if rng.random() < 0.8:
                _symmetrise(taps[f])
            if f and rng.random() < 0.5:
                taps[f, :3] = taps[f - 1, :3]
                taps[f, 3] = -taps[f - 1, 3]
    return img, taps, stride, cell


def _symmetrise(t: np.ndarray) -> None:
    """Make (4, 2r+1) taps' x taps even (real part) and odd (imaginary part), as a Gabor filter's."""
    r = t.shape[1] // 2
    t[2, r + 1 :] = t[2, :r][::-1]
    t[3, r + 1 :] = -t[3, :r][::-1]
    t[3, r] = 0


def _tolerance(img: np.ndarray, taps: np.ndarray) -> float:
    """Bound on the float32 kernels' error: each pass adds 2r+1 terms (a complex product is two more),
    each sum off by at most that many roundings of the sum of its terms' magnitudes."""
    k = taps.shape[2]
    scale = float(np.abs(img).max()) * float(
        np.max(np.abs(taps[:, :2]).sum(axis=(1, 2)) * np.abs(taps[:, 2:]).sum(axis=(1, 2))))
    return (2 * k + 8) * UNIT * scale


def _run(ns, img, taps, stride, cell):
    n = img.shape[0]
    out = np.full((taps.shape[0], (n // cell) ** 2), np.nan, np.float32)  # written, not added to
    ns.gabor_energy(img, taps, stride, cell, out)
    return out


@SETTINGS
@given(problem=problems())
def test_backends_match_the_reference(k, problem):
    img, taps, stride, cell = problem
    want = _run(_kernels.get("numpy"), img, taps, stride, cell)
    got = _run(k, img, taps, stride, cell)
    assert got.dtype == np.float32 and not np.isnan(got).any()
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=_tolerance(img, taps))


@SETTINGS
@given(problem=problems())
def test_each_filter_as_if_alone(k, problem):
    """A filter's energies do not depend on the others of the call (shared sums, mirrored filters)."""
    img, taps, stride, cell = problem
    together = _run(k, img, taps, stride, cell)
    for f in range(taps.shape[0]):
        np.testing.assert_array_equal(_run(k, img, taps[f : f + 1].copy(), stride, cell)[0], together[f])


@SETTINGS
@given(problem=problems())
def test_compiled_backends_agree_bitwise(problem):
    """Cython and Numba add the same float32 terms in the same order."""
    runs = [_run(ns, *problem) for ns in (_kernels.load("numba"), _kernels.load("cython")) if ns is not None]
    if len(runs) < 2:
        pytest.skip("needs both compiled backends")
    np.testing.assert_array_equal(runs[0], runs[1])


@SETTINGS
@given(problem=problems())
def test_cython_variants_agree_bitwise(variants, problem):
    base, avx2 = (_run(ns, *problem) for ns in variants)
    np.testing.assert_array_equal(base, avx2)


def _opencv_energy(img: np.ndarray, wavelength: float, theta: float, r: int, stride: int) -> np.ndarray:
    """OpenCV's complex Gabor response magnitude (filter2D, BORDER_REFLECT_101) averaged over cells."""
    cv2 = pytest.importorskip("cv2")
    x = img.astype(np.float64)
    sigma = SIGMA_RATIO * wavelength
    parts = [cv2.filter2D(x, cv2.CV_64F, cv2.getGaborKernel((2 * r + 1, 2 * r + 1), sigma, theta, wavelength,
                                                             1.0, psi=psi, ktype=cv2.CV_64F))
             for psi in (0.0, np.pi / 2)]
    mag = np.hypot(*parts)[stride // 2 :: stride, stride // 2 :: stride]
    g, s = SIZE // CELL, CELL // stride
    return mag.reshape(g, s, g, s).mean(axis=(1, 3)).reshape(-1)


@pytest.mark.parametrize("wavelength", WAVELENGTHS)
def test_reference_is_opencv_gabor_filtering(wavelength):
    rng = np.random.default_rng(7)
    img = rng.uniform(-2, 2, (SIZE, SIZE)).astype(np.float32)
    img[20:40, 10:30] += 3.0  # an edge, so that every orientation responds
    taps = gabor_taps(wavelength)
    out = np.empty((ORIENTATIONS, N_CELLS), np.float32)
    stride = STRIDES[WAVELENGTHS.index(wavelength)]
    _kernels.get("numpy").gabor_energy(img, taps, stride, CELL, out)
    r = taps.shape[2] // 2
    for o in range(ORIENTATIONS):
        want = _opencv_energy(img, wavelength, np.pi * o / ORIENTATIONS, r, stride)
        np.testing.assert_allclose(out[o], want, rtol=1e-5, atol=1e-6 * float(want.max()), err_msg=f"o={o}")


@pytest.mark.parametrize("backend", ["numpy", "numba", "cython"])
def test_gabor_energies_of_a_face(backend):
    ns = _kernels.load(backend)
    if ns is None:
        pytest.skip(f"{backend} backend unavailable")
    flat = gabor_energies(np.full((SIZE, SIZE), 0.3, np.float32), ns)
    assert flat.shape == (N_FILTERS, N_CELLS) and flat.dtype == np.float32
    np.testing.assert_array_equal(flat, 0)
    face = np.random.default_rng(3).uniform(0, 255, (80, 70)).astype(np.float32)  # resampled to 64x64
    got = gabor_energies(face, ns)
    want = gabor_energies(face, _kernels.get("numpy"))
    assert got.shape == (N_FILTERS, N_CELLS) and got.dtype == np.float32 and (got > 0).all()
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-5 * float(want.max()))
