"""The int8 word assignment (``encode_soft_q8``): one answer from every backend and CPU path.

Keys are exact integers, so the selected words must be identical everywhere (ties to the
lowest index); the weights come from the same integer differences.
"""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlfers import _kernels
from dlfers.model.codebook import encode_histograms, quantise_codebook

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
COMPILED = ("numba", "cython")


@pytest.fixture(scope="module")
def ref():
    return _kernels.get("numpy")


def _inputs(seed: int, n: int, dim: int, ncode: int, nlev: int, nreg: int, mode: str):
    """Descriptors and codewords in [0, 1] (``unit``: unit-norm like the real ones; ``grid``:
    multiples of 1/127, so exact ties and duplicate words; ``wild``: out-of-range values and NaN)."""
    rng = np.random.default_rng(seed)
    x = rng.random((n, dim), dtype=np.float32) ** 3
    c = rng.random((ncode, dim), dtype=np.float32) ** 3
    if mode == "unit":
        x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-6)
        c /= np.maximum(np.linalg.norm(c, axis=1, keepdims=True), 1e-6)
    elif mode == "grid":
        x = (rng.integers(0, 4, (n, dim)) / np.float32(127)).astype(np.float32)
        c = (rng.integers(0, 4, (ncode, dim)) / np.float32(127)).astype(np.float32)
        if ncode > 1:
            c[-1] = c[0]  # a duplicate word: always the lower index
    else:
        x = rng.uniform(-0.5, 1.5, (n, dim)).astype(np.float32)
        x[rng.random(x.shape) < 0.01] = np.nan
    regions = rng.integers(-1, nreg, (n, nlev)).astype(np.int32)
    cq, csq = quantise_codebook(c)
    return x, cq, csq, regions


def _run(k, x, cq, csq, regions, nreg, soft, beta=10.0):
    idx = np.full((x.shape[0], soft), -7, np.int32)
    w = np.full((x.shape[0], soft), np.nan, np.float32)
    hist = np.zeros((nreg, cq.shape[0]), np.float32)
    for a in (x, cq, csq, regions):
        a.setflags(write=False)
    k.encode_soft_q8(x, cq, csq, regions, beta, idx, w, hist)
    return idx, w, hist


CASES = dict(seed=st.integers(0, 2**32 - 1), n=st.integers(0, 600), dim=st.integers(1, 140),
             ncode=st.integers(1, 300), nlev=st.integers(0, 3), nreg=st.integers(1, 6),
             mode=st.sampled_from(["unit", "grid", "wild"]), soft=st.integers(1, 9),
             beta=st.sampled_from([0.5, 10.0, 40.0]))


@SETTINGS
@given(**CASES)
def test_backends_select_the_same_words(k, ref, seed, n, dim, ncode, nlev, nreg, mode, soft, beta):
    soft = min(soft, ncode)
    x, cq, csq, regions = _inputs(seed, n, dim, ncode, nlev, nreg, mode)
    want = _run(ref, x, cq, csq, regions, nreg, soft, beta)
    got = _run(k, x.copy(), cq.copy(), csq.copy(), regions.copy(), nreg, soft, beta)
    np.testing.assert_array_equal(got[0], want[0])
    np.testing.assert_allclose(got[1], want[1], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(got[2], want[2], rtol=1e-5, atol=1e-5)
    if n:
        np.testing.assert_allclose(got[1].sum(axis=1), 1.0, rtol=1e-5)


def test_quantisation_rounds_half_to_even_and_clamps():
    from dlfers._kernels._reference import quantise_q8

    v = np.array([0.0, 0.5 / 127, 1.5 / 127, 2.5 / 127, 1.0, 1.5, -0.2, np.nan, np.inf, -np.inf, 126.5 / 127],
                 np.float32)
    want = np.rint(np.clip(np.nan_to_num(v * np.float32(127), nan=0.0, posinf=127, neginf=0), 0, 127))
    np.testing.assert_array_equal(quantise_q8(v), want.astype(np.uint8))
    assert quantise_q8(np.array([np.nan], np.float32))[0] == 0


def test_one_word_is_the_integer_argmin(k, ref):
    x, cq, csq, regions = _inputs(3, 400, 128, 105, 2, 4, "grid")
    from dlfers._kernels._reference import quantise_q8

    keys = csq[None, :].astype(np.int64) - 2 * quantise_q8(x).astype(np.int64) @ cq[:, :128].T.astype(np.int64)
    for ns in (k, ref):
        idx, w, _ = _run(ns, x.copy(), cq.copy(), csq.copy(), regions.copy(), 4, 1)
        np.testing.assert_array_equal(idx[:, 0], np.argmin(keys, axis=1))  # first minimum: lowest index
        np.testing.assert_array_equal(w, 1.0)


@SETTINGS
@given(**CASES)
def test_cpu_paths_agree_bitwise(variants, monkeypatch, seed, n, dim, ncode, nlev, nreg, mode, soft, beta):
    # baseline (float32 sgemm of the integers), AVX2 (vpmaddubsw) and, where the CPU has it, AVX-512 VNNI
    soft = min(soft, ncode)
    x, cq, csq, regions = _inputs(seed, n, dim, ncode, nlev, nreg, mode)
    base, avx2 = variants
    runs = [_run(base, x.copy(), cq.copy(), csq.copy(), regions.copy(), nreg, soft, beta),
            _run(avx2, x.copy(), cq.copy(), csq.copy(), regions.copy(), nreg, soft, beta)]
    with monkeypatch.context() as m:
        m.setenv("DLFERS_NO_VNNI", "1")
        runs.append(_run(avx2, x.copy(), cq.copy(), csq.copy(), regions.copy(), nreg, soft, beta))
    for other in runs[1:]:
        for a, b in zip(runs[0], other):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("soft", range(1, 10))
def test_fused_selection_equals_keys_then_insertion(variants, monkeypatch, soft):
    # VNNI and AVX2 keep each block's k <= 8 best words in registers across all codewords (three
    # code tiles here, and duplicate words); the baseline build (and k = 9) computes the keys, then
    # inserts them
    base, avx2 = variants
    x, cq, csq, regions = _inputs(soft, 1000, 128, 600, 3, 5, "grid")
    want = _run(base, x, cq, csq, regions, 5, soft)
    runs = [_run(avx2, x, cq, csq, regions, 5, soft)]
    monkeypatch.setenv("DLFERS_NO_VNNI", "1")
    runs.append(_run(avx2, x, cq, csq, regions, 5, soft))
    for got in runs:
        for a, b in zip(want, got):
            np.testing.assert_array_equal(a, b)


def test_cpu_path_names(variants, monkeypatch):
    base, avx2 = variants
    enc = __import__(avx2.encode_soft_q8.__module__, fromlist=["q8_path"])
    assert __import__(base.encode_soft_q8.__module__, fromlist=["q8_path"]).q8_path() == "sgemm"
    monkeypatch.setenv("DLFERS_NO_VNNI", "1")
    assert enc.q8_path() == "avx2"
    monkeypatch.delenv("DLFERS_NO_VNNI")
    flags = open("/proc/cpuinfo").read() if os.path.exists("/proc/cpuinfo") else ""
    if "avx512_vnni" in flags and "avx512vl" in flags:
        assert enc.q8_path() == "avx512-vnni"


def test_int8_picks_the_float32_words_on_real_descriptors(face):
    # quantisation moves a distance by about 1/127: the nearest word changes only for near ties
    from dlfers.features.descriptors import DescriptorSpec, compute

    rng = np.random.default_rng(0)
    _, d = compute(face, DescriptorSpec("tisf", 2, 4, 1.0), _kernels.get("numpy"))
    cb = d[rng.choice(len(d), 105, replace=False)] * 0.98 + 0.02 * d[rng.choice(len(d), 105)]
    cb = cb.astype(np.float32)
    regions = np.zeros((len(d), 1), np.int32)
    lab_f, hist_f = encode_histograms(d, regions, 1, cb, soft=5)
    lab_q, hist_q = encode_histograms(d, regions, 1, cb, soft=5, precision="int8")
    assert np.mean(lab_f == lab_q) > 0.97
    assert np.abs(hist_f - hist_q).sum() / hist_f.sum() < 0.03


@pytest.fixture(scope="module")
def face() -> np.ndarray:
    from pathlib import Path

    env = os.environ.get("DLFERS_DATA")
    root = Path(env) if env else Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
    path = root / "jaffe" / "KA.HA1.29.tiff"
    cv2 = pytest.importorskip("cv2")
    img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) if path.exists() else None
    if img is None:  # a smooth synthetic face-like image without the data
        yy, xx = np.mgrid[0:128, 0:128]
        img = (128 + 60 * np.sin(xx / 9.0) * np.cos(yy / 13.0)).astype(np.uint8)
    return cv2.resize(img, (128, 128)).astype(np.float32)


def test_encode_histograms_checks_precision():
    x = np.full((4, 8), 0.25, np.float32)
    cb = np.eye(3, 8, dtype=np.float32)
    r = np.zeros((4, 1), np.int32)
    with pytest.raises(ValueError, match="precision must be one of"):
        encode_histograms(x, r, 1, cb, precision="int4")
    with pytest.raises(ValueError, match="at most 1024"):
        encode_histograms(np.zeros((2, 1100), np.float32), r[:2], 1, np.zeros((3, 1100), np.float32), precision="int8")
    cq, csq = quantise_codebook(np.full((2, 5), 0.5, np.float32))
    assert cq.shape == (2, 8) and cq.dtype == np.uint8 and not cq[:, 5:].any()
    np.testing.assert_array_equal(csq, [5 * 64 * 64, 5 * 64 * 64])  # rint(63.5) = 64 (half to even)


def test_default_is_int8_and_the_paper_preset_float32():
    from dlfers import DLFERS
    from dlfers.model.params import SAVED_PARAM_DEFAULTS

    assert DLFERS().precision == "int8"
    assert DLFERS.from_preset("paper").precision == "float32"
    assert SAVED_PARAM_DEFAULTS["precision"] == "float32"  # model files written before it was a parameter
    with pytest.raises(ValueError, match="precision must be one of"):
        DLFERS(precision="float16").spec()
