"""Encoder (nearest codeword + region histograms) vs the float32 matmul it is built on.

N = 3249 TISF descriptors (128x128 face, step 2) of 128 dims against D = 100 and 1000
codewords.  ``test_matmul_floor`` times a single-thread float32 product of the same
shapes: 2·N·D·dim FLOPs at the machine's matmul rate is the arithmetic floor that
``report.py`` compares the encoder with.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import _kernels

N, DIM = 3249, 128
SIZES = (100, 1000)


def _inputs(ncode: int):
    rng = np.random.default_rng(0)
    x = rng.random((N, DIM), dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    cb = x[rng.choice(N, ncode, replace=False)] + rng.normal(0, 0.01, (ncode, DIM)).astype(np.float32)
    sq = np.einsum("ij,ij->i", cb, cb).astype(np.float32)
    regions = rng.integers(-1, 21, (N, 3)).astype(np.int32)
    return x, cb, sq, regions


@pytest.mark.parametrize("ncode", SIZES)
def test_encode(benchmark, backend, ncode):
    if backend == "numpy" and ncode > 100:
        pytest.skip("the NumPy reference is only timed at D=100")
    benchmark.group = f"encode D={ncode}"
    k = _kernels.get(backend)
    x, cb, sq, regions = _inputs(ncode)
    labels = np.empty(N, np.int32)
    hist = np.zeros((21, ncode), np.float32)
    benchmark(k.encode, x, cb, sq, regions, labels, hist)
    benchmark.extra_info["flops"] = 2 * N * ncode * DIM
    assert 0 <= labels.min() and labels.max() < ncode


@pytest.mark.parametrize("ncode", SIZES)
def test_matmul_floor(benchmark, ncode):
    """The float32 matmul alone (one thread), written into a preallocated output."""
    benchmark.group = f"encode D={ncode}"
    x, cb, _, _ = _inputs(ncode)
    ct = np.ascontiguousarray(cb.T)
    out = np.empty((N, ncode), np.float32)
    benchmark(np.dot, x, ct, out)
    benchmark.extra_info["flops"] = 2 * N * ncode * DIM


def test_encode_soft(benchmark, backend):
    """Soft assignment to the 5 nearest words at D = 100 (the default model's encoder); beside
    ``test_encode`` (hard) of the same group, the cost of keeping 5 words and their weights."""
    if backend == "numpy":
        pytest.skip("the NumPy reference is only timed for hard assignment")
    ncode = 100
    benchmark.group = f"encode D={ncode}"
    k = _kernels.get(backend)
    x, cb, sq, regions = _inputs(ncode)
    hist = np.zeros((21, ncode), np.float32)
    idx, w = np.empty((N, 5), np.int32), np.empty((N, 5), np.float32)
    benchmark(k.encode_soft, x, cb, sq, regions, 10.0, idx, w, hist)
    benchmark.extra_info["flops"] = 2 * N * ncode * DIM
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-5)


def test_encode_soft_int8(benchmark, backend):
    """The default model's encoder: soft assignment to 5 words by exact 7-bit integer distances
    (``precision="int8"``), beside float32 ``test_encode_soft`` in the same group.  The CPU path
    (AVX-512 VNNI, AVX2 or float32 sgemm of the integers) is in ``extra_info``."""
    if backend == "numpy":
        pytest.skip("the NumPy reference is only timed for hard assignment")
    from dlfers.model.codebook import quantise_codebook

    ncode = 100
    benchmark.group = f"encode D={ncode}"
    k = _kernels.get(backend)
    x, cb, _, regions = _inputs(ncode)
    cq, csq = quantise_codebook(np.clip(cb, 0, 1))
    hist = np.zeros((21, ncode), np.float32)
    idx, w = np.empty((N, 5), np.int32), np.empty((N, 5), np.float32)
    benchmark(k.encode_soft_q8, x, cq, csq, regions, 10.0, idx, w, hist)
    benchmark.extra_info["flops"] = 2 * N * ncode * DIM
    benchmark.extra_info["int8_path"] = _kernels.q8_path() if backend == "cython" else "float32 np.dot of the integers"
    assert np.allclose(w.sum(axis=1), 1.0, atol=1e-5)
