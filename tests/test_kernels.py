"""The compiled kernels (Numba, Cython) agree with the NumPy reference kernels.

Every kernel of ``dlfers._kernels._reference`` is the definition; the other backends
must match it to 1e-5 (relative to the data's scale) and the encoder's labels exactly.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlfers import _kernels
from dlfers.features.descriptors import dense_descriptors, gaussian_taps

COMPILED = ("numba", "cython")
TOL = 1e-5
SETTINGS = settings(
    max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


def _data_dir() -> Path:
    env = os.environ.get("DLFERS_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"


@pytest.fixture(params=COMPILED)
def backend(request) -> str:
    """Name of each compiled backend (skipped, with the reason, if it cannot load)."""
    if _kernels.load(request.param) is None:
        pytest.skip(f"{request.param} backend unavailable: {_kernels.status()[request.param]}")
    return request.param


@pytest.fixture
def k(backend):
    """Kernel namespace of ``backend``."""
    return _kernels.load(backend)


@pytest.fixture(scope="module")
def ref():
    return _kernels.get("numpy")


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    """A 128x128 uint8 JAFFE face, or a synthetic face-like image without the data."""
    path = _data_dir() / "jaffe" / "KA.HA1.29.tiff"
    if path.exists():
        cv2 = pytest.importorskip("cv2")
        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is not None:
            return np.ascontiguousarray(img[60:188, 64:192])
    yy, xx = np.mgrid[0:128, 0:128]
    img = 120 + 60 * np.cos(xx / 9.0) * np.sin(yy / 13.0) - 80 * (((xx - 64) / 40) ** 2 + ((yy - 70) / 50) ** 2 < 1)
    return np.clip(img, 0, 255).astype(np.uint8)


def _readonly(*arrays):
    for a in arrays:
        a.setflags(write=False)
    return arrays


def _image(seed: int, h: int, w: int, mode: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if mode == "constant":
        return np.full((h, w), rng.uniform(0, 255), np.float32)
    if mode == "uint8":
        return rng.integers(0, 256, (h, w)).astype(np.float32)
    if mode == "smooth":
        yy, xx = np.mgrid[0:h, 0:w]
        f = rng.uniform(0.05, 0.5, 2)
        return (100 * np.sin(f[0] * xx + f[1] * yy) + rng.normal(0, 1, (h, w))).astype(np.float32)
    return rng.uniform(-1, 1, (h, w)).astype(np.float32)


def _assert_close(got, want):
    """Agreement to 1e-5, relative to each value and to the scale of the whole array."""
    scale = max(1.0, float(np.abs(want).max(initial=0)))
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL * scale)


images = st.tuples(
    st.integers(0, 2**32 - 1),
    st.integers(1, 40),
    st.integers(1, 40),
    st.sampled_from(["uint8", "constant", "smooth", "unit"]),
)


# -- smooth ---------------------------------------------------------------------------------------


@SETTINGS
@given(img=images, sigma=st.floats(0.2, 3.0), odd=st.booleans())
def test_smooth_matches_reference(k, ref, img, sigma, odd):
    x = _image(*img)
    taps = gaussian_taps(sigma)
    if odd:  # any odd-length normalised kernel, not only a Gaussian
        taps = np.random.default_rng(img[0]).uniform(0, 1, taps.shape[0]).astype(np.float32)
        taps /= taps.sum()
    want = np.empty_like(x)
    ref.smooth(x, taps, want)
    got = np.full_like(x, np.nan)
    k.smooth(*_readonly(x, taps), got)
    _assert_close(got, want)


def test_smooth_single_tap_is_identity(k):
    x = _image(1, 9, 7, "uint8")
    got = np.empty_like(x)
    k.smooth(x, np.ones(1, np.float32), got)
    np.testing.assert_array_equal(got, x)


# -- orientation_blocks --------------------------------------------------------------------------


@SETTINGS
@given(img=images, nbins=st.integers(1, 12), signed=st.booleans(), block=st.integers(1, 8))
def test_orientation_blocks_match_reference(k, ref, img, nbins, signed, block):
    x = _image(*img)
    h, w = x.shape
    shape = (h // block, w // block, nbins)
    want = np.empty(shape, np.float32)
    ref.orientation_blocks(x, nbins, signed, block, want)
    got = np.full(shape, np.nan, np.float32)
    k.orientation_blocks(*_readonly(x), nbins, signed, block, got)
    _assert_close(got, want)


def test_constant_image_has_zero_gradient(k):
    x = np.full((20, 24), 137.0, np.float32)
    out = np.full((5, 6, 8), np.nan, np.float32)
    k.orientation_blocks(x, 8, True, 4, out)
    np.testing.assert_array_equal(out, 0)


def test_orientation_blocks_ignore_pixels_past_last_block(k, ref):
    x = _image(3, 23, 30, "uint8")  # 23 = 5*4 + 3, 30 = 7*4 + 2
    want = np.empty((5, 7, 4), np.float32)
    ref.orientation_blocks(x, 4, False, 4, want)
    got = np.empty_like(want)
    k.orientation_blocks(x, 4, False, 4, got)
    _assert_close(got, want)


def test_orientation_bins_split_magnitude(k):
    # a horizontal ramp: dx = 2 everywhere inside, angle 0 -> all mass in bin 0
    x = np.tile(np.arange(8, dtype=np.float32), (4, 1))
    out = np.empty((1, 1, 8), np.float32)
    k.orientation_blocks(x[:, 1:5].copy(), 8, True, 4, out)
    assert out[0, 0, 0] == pytest.approx(4 * (1 + 2 + 2 + 1))
    np.testing.assert_array_equal(out[0, 0, 1:], 0)


# -- assemble_descriptors ------------------------------------------------------------------------


@st.composite
def block_grids(draw):
    cb = draw(st.integers(1, 3))
    sb = draw(st.integers(1, 4))
    nbins = draw(st.integers(1, 10))
    bh = draw(st.integers(4 * cb, 4 * cb + 12))
    bw = draw(st.integers(4 * cb, 4 * cb + 12))
    seed = draw(st.integers(0, 2**32 - 1))
    sparsity = draw(st.sampled_from([0.0, 0.5, 0.95, 1.0]))
    rng = np.random.default_rng(seed)
    blocks = rng.uniform(1e-3, 1e3, (bh, bw, nbins)).astype(np.float32)
    blocks[rng.random((bh, bw, nbins)) < sparsity] = 0  # zero cells and all-zero descriptors
    return blocks, cb, sb


@SETTINGS
@given(grid=block_grids(), clip=st.floats(0.05, 1.0))
def test_assemble_descriptors_match_reference(k, ref, grid, clip):
    blocks, cb, sb = grid
    bh, bw, nbins = blocks.shape
    n = ((bh - 4 * cb) // sb + 1) * ((bw - 4 * cb) // sb + 1)
    want = np.empty((n, 16 * nbins), np.float32)
    ref.assemble_descriptors(blocks, cb, sb, clip, want)
    got = np.full_like(want, np.nan)
    k.assemble_descriptors(*_readonly(blocks), cb, sb, clip, got)
    _assert_close(got, want)
    norms = np.linalg.norm(got, axis=1)
    assert np.all((np.abs(norms - 1) < 1e-5) | (norms == 0))


# -- dense descriptors end to end ----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["tisf", "tipm"])
@pytest.mark.parametrize("step", [1, 2, 3, 4, 8])
def test_dense_descriptors_match_reference_on_a_face(backend, face, kind, step):
    p0, d0 = dense_descriptors(face, kind, step, backend="numpy")
    p1, d1 = dense_descriptors(face, kind, step, backend=backend)
    np.testing.assert_array_equal(p1, p0)
    _assert_close(d1, d0)


@pytest.mark.parametrize(
    "shape, step, cell",
    [((16, 16), 2, 4), ((16, 16), 7, 4), ((12, 12), 1, 3), ((37, 53), 4, 4), ((41, 19), 3, 4), ((33, 34), 6, 4)],
)
def test_dense_descriptors_edge_geometries(shape, step, cell):
    x = _image(7, *shape, "uint8").astype(np.uint8)
    results = {}
    for name in ("numpy", *COMPILED):
        if _kernels.load(name) is None:
            continue
        results[name] = dense_descriptors(x, "tisf", step, cell=cell, backend=name)
    p0, d0 = results["numpy"]
    if shape[0] == 4 * cell and shape[1] == 4 * cell:
        assert d0.shape[0] == 1  # the smallest image has exactly one descriptor
    for p, d in results.values():
        np.testing.assert_array_equal(p, p0)
        _assert_close(d, d0)


def test_constant_image_gives_zero_descriptors(backend):
    _, d = dense_descriptors(np.full((40, 40), 90, np.uint8), "tisf", 2, backend=backend)
    np.testing.assert_array_equal(d, 0)


# -- encode --------------------------------------------------------------------------------------


def _encode_inputs(seed, n, dim, ncode, nlev, nreg, integer):
    rng = np.random.default_rng(seed)
    if integer:  # small integers: exact dot products and many exact ties
        x = rng.integers(0, 3, (n, dim)).astype(np.float32)
        cb = rng.integers(0, 3, (ncode, dim)).astype(np.float32)
    else:
        x = rng.standard_normal((n, dim)).astype(np.float32)
        cb = rng.standard_normal((ncode, dim)).astype(np.float32)
    sq = np.einsum("ij,ij->i", cb, cb).astype(np.float32)
    regions = rng.integers(-1, nreg, (n, nlev)).astype(np.int32)
    return x, cb, sq, regions


def _run_encode(k, x, cb, sq, regions, nreg):
    labels = np.full(x.shape[0], -7, np.int32)
    hist = np.zeros((nreg, cb.shape[0]), np.float32)
    k.encode(x, cb, sq, regions, labels, hist)
    return labels, hist


#: encoder inputs: descriptors, dimensions, codebook size, levels, regions, small-integer ties
ENCODE_CASES = dict(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 700), dim=st.integers(1, 140),
                    ncode=st.integers(1, 300), nlev=st.integers(0, 3), nreg=st.integers(1, 6),
                    integer=st.booleans())


@SETTINGS
@given(**ENCODE_CASES)
def test_encode_matches_reference_exactly(k, ref, seed, n, dim, ncode, nlev, nreg, integer):
    x, cb, sq, regions = _encode_inputs(seed, n, dim, ncode, nlev, nreg, integer)
    want = _run_encode(ref, x, cb, sq, regions, nreg)
    got = _run_encode(k, *_readonly(x, cb, sq, regions), nreg)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def _run_encode_soft(k, x, cb, sq, regions, nreg, soft, beta=10.0):
    idx = np.full((x.shape[0], soft), -7, np.int32)
    w = np.full((x.shape[0], soft), np.nan, np.float32)
    hist = np.zeros((nreg, cb.shape[0]), np.float32)
    k.encode_soft(x, cb, sq, regions, beta, idx, w, hist)
    return idx, w, hist


@SETTINGS
@given(**ENCODE_CASES, soft=st.integers(1, 9), beta=st.sampled_from([0.5, 10.0, 40.0]))
def test_encode_soft_matches_reference(k, ref, seed, n, dim, ncode, nlev, nreg, integer, soft, beta):
    # the k nearest words in the reference's stable-sort order (ties to the lowest index,
    # integer inputs make many exact ties), their weights, and the per-region sums
    soft = min(soft, ncode)
    x, cb, sq, regions = _encode_inputs(seed, n, dim, ncode, nlev, nreg, integer)
    if not integer:
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)
        cb /= np.maximum(np.linalg.norm(cb, axis=1, keepdims=True), 1e-6)
        sq = np.einsum("ij,ij->i", cb, cb).astype(np.float32)
    want = _run_encode_soft(ref, x, cb, sq, regions, nreg, soft, beta)
    got = _run_encode_soft(k, *_readonly(x, cb, sq, regions), nreg, soft, beta)
    np.testing.assert_array_equal(got[0], want[0])
    # BLAS blockings may round a distance differently in its last bit: weights to ~beta ulps
    np.testing.assert_allclose(got[1], want[1], rtol=2e-5, atol=1e-6)
    np.testing.assert_allclose(got[2], want[2], rtol=2e-5, atol=1e-5)
    if n:
        np.testing.assert_allclose(got[1].sum(axis=1), 1.0, rtol=1e-5)


def test_encode_soft_of_one_word_is_hard_assignment(k):
    x, cb, sq, regions = _encode_inputs(11, 500, 32, 40, 2, 4, False)
    labels, hist = _run_encode(k, x, cb, sq, regions, 4)
    idx, w, soft_hist = _run_encode_soft(k, x, cb, sq, regions, 4, 1)
    np.testing.assert_array_equal(idx[:, 0], labels)
    np.testing.assert_array_equal(w, 1.0)
    np.testing.assert_array_equal(soft_hist, hist)


@pytest.mark.parametrize("ncode", [1, 100, 1000, 2000])
def test_encode_large_codebooks(k, ref, ncode):
    # N = 3249 descriptors of 128 dims spans several L2-sized chunks for every D
    x, cb, sq, regions = _encode_inputs(5, 3249, 128, ncode, 3, 21, integer=False)
    want = _run_encode(ref, x, cb, sq, regions, 21)
    got = _run_encode(k, x, cb, sq, regions, 21)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_encode_ties_go_to_lowest_index(k):
    cb = np.array([[0, 0], [1, 0], [1, 0], [0, 0], [-1, 0]], np.float32)
    sq = (cb * cb).sum(1).astype(np.float32)
    x = np.array([[0, 0], [1, 0], [0.5, 0], [-0.5, 0], [0, 5]], np.float32)
    regions = np.array([[0, -1], [-1, -1], [1, 0], [0, 1], [-1, 1]], np.int32)
    labels, hist = _run_encode(k, x, cb, sq, regions, 2)
    # x=(0.5,0) is equidistant from codewords 0, 1, 2 and 3; x=(-0.5,0) from 0, 3 and 4
    np.testing.assert_array_equal(labels, [0, 1, 0, 0, 0])
    np.testing.assert_array_equal(hist, [[3, 0, 0, 0, 0], [3, 0, 0, 0, 0]])


def test_encode_ties_across_codebook_tiles(k, ref):
    # the compiled encoders visit codewords in tiles of at most 256: a tie between
    # codewords of different tiles still goes to the lowest index
    rng = np.random.default_rng(3)
    cb = rng.integers(-2, 3, (600, 16)).astype(np.float32)
    x = rng.integers(-2, 3, (40, 16)).astype(np.float32)
    cb[[5, 260, 515]] = x[0]
    cb[[300, 599]] = x[1]
    sq = np.einsum("ij,ij->i", cb, cb).astype(np.float32)
    regions = np.zeros((40, 1), np.int32)
    want = _run_encode(ref, x, cb, sq, regions, 1)
    got = _run_encode(k, x, cb, sq, regions, 1)
    assert got[0][0] == 5 and got[0][1] == 300
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_array_equal(got[1], want[1])


def test_encode_single_codeword(k):
    x = np.random.default_rng(0).standard_normal((50, 8)).astype(np.float32)
    cb = np.ones((1, 8), np.float32)
    regions = np.zeros((50, 1), np.int32)
    labels, hist = _run_encode(k, x, cb, np.array([8], np.float32), regions, 1)
    np.testing.assert_array_equal(labels, 0)
    np.testing.assert_array_equal(hist, [[50]])


# -- χ² distances ---------------------------------------------------------------------------------
def _run_chi2(k, a, b):
    out = np.full((a.shape[0], b.shape[0]), np.nan)
    k.chi2(a, b, out)
    return out


@SETTINGS
@given(seed=st.integers(0, 2**16), na=st.integers(0, 6), nb=st.integers(0, 6), dim=st.integers(0, 700),
       sparse=st.booleans())
def test_chi2_matches_reference_exactly(k, ref, seed, na, nb, dim, sparse):
    """Float32 terms summed in float64 in one order: every backend gives the reference's bits."""
    rng = np.random.default_rng(seed)
    a = rng.random((na, dim), dtype=np.float32)
    b = rng.random((nb, dim), dtype=np.float32)
    if sparse:  # histograms are mostly zero: 0/0 terms must count 0
        a[a < 0.7] = 0
        b[b < 0.7] = 0
    np.testing.assert_array_equal(_run_chi2(k, *_readonly(a, b)), _run_chi2(ref, a, b))


def test_chi2_of_a_histogram_with_itself_is_zero_and_symmetric(k):
    h = np.random.default_rng(3).dirichlet(np.ones(50), 4).astype(np.float32)
    h[h < 0.01] = 0
    d = _run_chi2(k, h, h)
    np.testing.assert_array_equal(np.diag(d), 0)
    np.testing.assert_array_equal(d, d.T)


def test_chi2_values(k):
    a = np.array([[0.5, 0.5, 0.0, 0.0]], np.float32)
    b = np.array([[0.25, 0.25, 0.5, 0.0]], np.float32)
    assert _run_chi2(k, a, b)[0, 0] == pytest.approx(2 * 0.25**2 / 0.75 + 0.5, rel=1e-7)


# -- histogram-intersection kernel --------------------------------------------------------------


def _run_intersection(k, a, b):
    out = np.full((a.shape[0], b.shape[0]), np.nan)
    k.intersection(a, b, out)
    return out


@SETTINGS
@given(
    seed=st.integers(0, 2**32 - 1),
    na=st.integers(0, 5),
    nb=st.integers(0, 40),
    dim=st.integers(0, 1300),  # across the 8-lane tail and the 512-dimension blocks
    sparse=st.booleans(),
)
def test_intersection_matches_reference(k, ref, seed, na, nb, dim, sparse):
    rng = np.random.default_rng(seed)
    a = rng.random((na, dim), dtype=np.float32)
    b = rng.random((nb, dim), dtype=np.float32)
    if sparse:  # SPOF histograms: many empty bins
        a[rng.random(a.shape) < 0.7] = 0
        b[rng.random(b.shape) < 0.7] = 0
    want = _run_intersection(ref, a, b)
    got = _run_intersection(k, *_readonly(a, b))
    np.testing.assert_allclose(got, want, rtol=TOL, atol=TOL)


def test_intersection_is_exact_on_small_integers(k, ref):
    # integer counts below 2**24: every partial sum is exact in float32, so all agree bitwise
    rng = np.random.default_rng(1)
    a = rng.integers(0, 50, (3, 3361)).astype(np.float32)
    b = rng.integers(0, 50, (17, 3361)).astype(np.float32)
    want = np.minimum(a[:, None, :].astype(np.int64), b[None, :, :]).sum(-1).astype(np.float64)
    np.testing.assert_array_equal(_run_intersection(ref, a, b), want)
    np.testing.assert_array_equal(_run_intersection(k, a, b), want)


def test_intersection_of_a_histogram_with_itself_is_its_mass(k):
    h = np.random.default_rng(2).random((4, 1000), dtype=np.float32)
    out = _run_intersection(k, h, h)
    np.testing.assert_allclose(np.diag(out), h.sum(1, dtype=np.float64), rtol=TOL)
    np.testing.assert_allclose(out, out.T, rtol=0, atol=0)  # min is symmetric, order is the same


def test_intersection_zero_width_is_zero(k):
    out = _run_intersection(k, np.zeros((2, 0), np.float32), np.zeros((3, 0), np.float32))
    np.testing.assert_array_equal(out, 0)


# -- backend choice ------------------------------------------------------------------------------


def test_cython_backend_is_active(monkeypatch):
    monkeypatch.delenv("DLFERS_BACKEND", raising=False)
    if os.environ.get("DLFERS_REQUIRE_CYTHON", "") not in ("", "0"):
        assert _kernels.resolve("auto") == "cython", _kernels.status()
    elif _kernels.load("cython") is None:
        pytest.skip(f"Cython kernels not built: {_kernels.status()['cython']}")
    else:
        assert _kernels.resolve("auto") == "cython"


def test_env_variable_forces_numpy(monkeypatch, face):
    monkeypatch.setenv("DLFERS_BACKEND", "numpy")
    assert _kernels.resolve("auto") == "numpy"
    assert _kernels.get() is _kernels.load("numpy")
    _, d = dense_descriptors(face, "tipm", 8)
    assert d.shape == (15 * 15, 64)


def test_explicit_backend_wins_over_env(monkeypatch, backend):
    monkeypatch.setenv("DLFERS_BACKEND", "numpy")
    assert _kernels.resolve(backend) == backend


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_unknown_backend_lists_available(monkeypatch, face, how):
    if how == "environment":
        monkeypatch.setenv("DLFERS_BACKEND", "fortran")
        kwargs = {}
    else:
        kwargs = {"backend": "fortran"}
    with pytest.raises(ValueError, match="cython, numba, numpy"):
        dense_descriptors(face, "tisf", 4, **kwargs)


# -- threads -------------------------------------------------------------------------------------


def test_kernels_run_concurrently_in_threads(backend, k):
    """Kernels release the GIL; two threads on a large image give the serial results."""
    rng = np.random.default_rng(11)
    imgs = [rng.integers(0, 256, (600, 700)).astype(np.uint8) for _ in range(4)]
    serial = [dense_descriptors(im, "tisf", 2, backend=backend)[1] for im in imgs]
    x = serial[0][:3000]
    cb = serial[1][:300].copy()
    sq = np.einsum("ij,ij->i", cb, cb).astype(np.float32)
    regions = np.zeros((x.shape[0], 1), np.int32)
    enc_serial = _run_encode(k, x, cb, sq, regions, 1)
    barrier = threading.Barrier(2)

    def work(i):
        barrier.wait()
        d = dense_descriptors(imgs[i], "tisf", 2, backend=backend)[1]
        return d, _run_encode(k, x, cb, sq, regions, 1)

    for _ in range(2):
        with ThreadPoolExecutor(2) as pool:
            results = list(pool.map(work, [0, 1]))
        for i, (d, enc) in enumerate(results):
            np.testing.assert_array_equal(d, serial[i])
            np.testing.assert_array_equal(enc[0], enc_serial[0])
            np.testing.assert_array_equal(enc[1], enc_serial[1])


# -- CPU variants of the cython kernels (runtime dispatch) -----------------------------------------


def _avx2_runs_here() -> bool:
    return _kernels.AVX2_NEEDS <= _kernels.cpu_features()[0]


@SETTINGS
@given(img=images, sigma=st.floats(0.2, 3.0), nbins=st.integers(1, 12), signed=st.booleans(),
       block=st.integers(1, 8))
def test_variants_agree_bitwise_on_gradients(variants, img, sigma, nbins, signed, block):
    x = _image(*img)
    taps = gaussian_taps(sigma)
    out = []
    for k in variants:
        sm = np.full_like(x, np.nan)
        k.smooth(*_readonly(x.copy(), taps.copy()), sm)
        ob = np.full((x.shape[0] // block, x.shape[1] // block, nbins), np.nan, np.float32)
        k.orientation_blocks(sm, nbins, signed, block, ob)
        out.append((sm, ob))
    np.testing.assert_array_equal(out[0][0], out[1][0])
    np.testing.assert_array_equal(out[0][1], out[1][1])


@SETTINGS
@given(grid=block_grids(), clip=st.floats(0.05, 1.0))
def test_variants_agree_bitwise_on_assembly(variants, grid, clip):
    blocks, cb, sb = grid
    bh, bw, nbins = blocks.shape
    n = ((bh - 4 * cb) // sb + 1) * ((bw - 4 * cb) // sb + 1)
    got = []
    for k in variants:
        d = np.full((n, 16 * nbins), np.nan, np.float32)
        k.assemble_descriptors(blocks, cb, sb, clip, d)
        got.append(d)
    np.testing.assert_array_equal(got[0], got[1])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 700), dim=st.integers(1, 140),
       ncode=st.integers(1, 300), nreg=st.integers(1, 6))
def test_variants_agree_exactly_on_encode(variants, seed, n, dim, ncode, nreg):
    x, cb, sq, regions = _encode_inputs(seed, n, dim, ncode, 2, nreg, False)
    base, avx2 = (_run_encode(k, x, cb, sq, regions, nreg) for k in variants)
    np.testing.assert_array_equal(base[0], avx2[0])
    np.testing.assert_array_equal(base[1], avx2[1])


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 700), dim=st.integers(1, 140),
       ncode=st.integers(1, 300), soft=st.integers(1, 8), integer=st.booleans())
def test_variants_agree_exactly_on_encode_soft(variants, seed, n, dim, ncode, soft, integer):
    x, cb, sq, regions = _encode_inputs(seed, n, dim, ncode, 2, 5, integer)
    base, avx2 = (_run_encode_soft(k, x, cb, sq, regions, 5, min(soft, ncode)) for k in variants)
    for a, b in zip(base, avx2):
        np.testing.assert_array_equal(a, b)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), na=st.integers(0, 5), nb=st.integers(0, 40), dim=st.integers(0, 1300))
def test_variants_agree_on_intersection(variants, seed, na, nb, dim):
    rng = np.random.default_rng(seed)
    a = rng.random((na, dim), dtype=np.float32)
    b = rng.random((nb, dim), dtype=np.float32)
    a[rng.random(a.shape) < 0.7] = 0
    base, avx2 = (_run_intersection(k, a, b) for k in variants)
    np.testing.assert_array_equal(base, avx2)


@pytest.mark.parametrize("kind", ["tisf", "tipm"])
@pytest.mark.parametrize("step", [2, 4])
def test_variants_agree_bitwise_on_a_face(variants, face, kind, step):
    from dlfers.features.descriptors import _check_spec, as_image, compute

    spec = _check_spec(kind, step, 4, 1.0, 0.2)  # the defaults of dense_descriptors
    img = as_image(face, min_size=spec.support)
    base, avx2 = (compute(img, spec, k)[1] for k in variants)
    np.testing.assert_array_equal(base, avx2)


_NO_AVX2 = frozenset({"x86"})
_FULL = frozenset({"x86", "avx", "fma", "avx2", "os_ymm"})


@pytest.mark.parametrize(
    "features, built, force, want",
    [
        (_FULL, True, "", "_avx2"),
        (_FULL, True, "0", "_avx2"),
        (_FULL, True, "1", ""),  # forced
        (_FULL, False, "", ""),  # arm64 / a build without the variant
        (_NO_AVX2, True, "", ""),  # a baseline x86-64 CPU (SSE2 only)
        (_FULL - {"avx2"}, True, "", ""),  # Sandy/Ivy Bridge: AVX without AVX2
        (_FULL - {"fma"}, True, "", ""),
        (_FULL - {"os_ymm"}, True, "", ""),  # the OS does not save the YMM registers
        (frozenset(), True, "", ""),  # features unknown
    ],
)
def test_variant_selection_never_picks_avx2_without_the_features(features, built, force, want):
    suffix, reason = _kernels.select_variant(features, built, force, machine="x86_64")
    assert suffix == want, reason
    assert reason.startswith("avx2+fma" if want else "baseline sse2")
    if force not in ("", "0"):
        assert _kernels.BASELINE_ENV in reason
    for missing in ("avx2", "fma", "os_ymm"):
        if built and not force and missing not in features:
            assert missing in reason


def test_baseline_names_per_machine():
    assert _kernels.baseline_name("x86_64") == "baseline sse2"
    assert _kernels.baseline_name("AMD64") == "baseline sse2"
    assert _kernels.baseline_name("aarch64") == "baseline neon"
    assert _kernels.baseline_name("arm64") == "baseline neon"


def test_no_avx2_cpu_never_imports_the_avx2_modules(monkeypatch):
    """With a faked CPU without AVX2, loading the cython backend imports only the baseline."""
    import sys

    if _kernels.load("cython") is None:
        pytest.skip(f"Cython kernels not built: {_kernels.status()['cython']}")
    monkeypatch.setattr(_kernels, "cpu_features", lambda: (_NO_AVX2, "test"))
    monkeypatch.delenv(_kernels.BASELINE_ENV, raising=False)
    avx2_names = [f"dlfers._kernels.{m}{_kernels.AVX2_SUFFIX}" for m in _kernels._CYTHON_MODULES]
    for name in avx2_names:
        monkeypatch.delitem(sys.modules, name, raising=False)
    saved = dict(_kernels._variant)
    try:
        ns = _kernels._load_cython()
        assert not [n for n in avx2_names if n in sys.modules]
        assert _kernels.variant()["name"] == _kernels.baseline_name()
        assert ns.smooth.__module__ == "dlfers._kernels._gradients"
    finally:
        _kernels._variant.clear()
        _kernels._variant.update(saved)


def _config_in_subprocess(env_extra: dict[str, str]) -> dict:
    import json
    import subprocess
    import sys

    env = {**os.environ, **env_extra}
    env.pop("DLFERS_BACKEND", None)
    code = ("import json, sys, dlfers, io; i = dlfers.show_config(io.StringIO()); "
            "from dlfers import _kernels; k = _kernels.get('cython'); "
            "i['module'] = k.smooth.__module__; print(json.dumps(i, default=str))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout)


def test_environment_variable_forces_the_baseline():
    if _kernels.load("cython") is None:
        pytest.skip(f"Cython kernels not built: {_kernels.status()['cython']}")
    forced = _config_in_subprocess({_kernels.BASELINE_ENV: "1"})
    assert forced["cpu_variant"] == _kernels.baseline_name()
    assert _kernels.BASELINE_ENV in forced["cpu_variant_reason"]
    assert forced["module"] == "dlfers._kernels._gradients"
    auto = _config_in_subprocess({_kernels.BASELINE_ENV: "0"})
    if _avx2_runs_here() and "AVX2 variant" not in auto["cpu_variant_reason"] and _kernels._avx2_built():
        assert auto["cpu_variant"] == "avx2+fma"
        assert auto["module"] == "dlfers._kernels._gradients_avx2"
    else:
        assert auto["cpu_variant"] == _kernels.baseline_name()


def test_show_config_names_the_variant():
    import io

    import dlfers

    if _kernels.load("cython") is None:
        pytest.skip(f"Cython kernels not built: {_kernels.status()['cython']}")
    buf = io.StringIO()
    info = dlfers.show_config(buf)
    if info["backend"] == "cython":
        assert f"cython ({info['cpu_variant']})" in buf.getvalue()
    assert info["cpu_variant"] in ("avx2+fma", _kernels.baseline_name())
    assert info["cpu_variant_reason"]


def test_baseline_modules_contain_no_avx_instructions():
    """The wheel must run on any x86-64 CPU: no ymm/zmm register in the baseline builds."""
    import platform
    import re
    import shutil
    import subprocess

    if platform.machine().lower() not in ("x86_64", "amd64"):
        pytest.skip(f"AVX is x86-64 only; this machine is {platform.machine()}")
    objdump = shutil.which("objdump")
    if objdump is None:
        pytest.skip("objdump not found (binutils): cannot disassemble the extensions")
    import importlib.util

    checked = 0
    for name in (*_kernels._CYTHON_MODULES, "_cpuid"):
        spec = importlib.util.find_spec(f"dlfers._kernels.{name}")
        if spec is None or spec.origin is None or not spec.origin.endswith((".so", ".pyd")):
            continue
        asm = subprocess.run([objdump, "-d", "--no-show-raw-insn", spec.origin], capture_output=True, text=True,
                             check=True).stdout
        bad = re.findall(r"^.*%[yz]mm\d+.*$", asm, re.M)
        assert not bad, f"{spec.origin} uses AVX registers: {bad[:3]}"
        checked += 1
    if not checked:
        pytest.skip("no compiled extension found")
    avx2 = importlib.util.find_spec(f"dlfers._kernels._gradients{_kernels.AVX2_SUFFIX}")
    if avx2 is not None and avx2.origin:  # and the scan does see them where they are
        asm = subprocess.run([objdump, "-d", avx2.origin], capture_output=True, text=True, check=True).stdout
        assert "%ymm" in asm
def test_the_backend_asked_for_is_active():
    """CI runs the kernel and pipeline tests with DLFERS_BACKEND=numba and =numpy: they must use it."""
    env = os.environ.get("DLFERS_BACKEND", "").strip().lower()
    if env in ("", "auto"):
        pytest.skip("DLFERS_BACKEND is not set")
    assert _kernels.resolve("auto") == env
