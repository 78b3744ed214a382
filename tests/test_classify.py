"""Histogram kernels and the precomputed-kernel LIBSVM classifier."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics.pairwise import additive_chi2_kernel

from dlfers.model.classify import KERNELS, KernelSVC, chi2_distances, kernel_matrix


def _hists(seed=0, n=60, k=3, f=40):
    proto = np.random.default_rng(100).dirichlet(np.ones(f), k)
    rng = np.random.default_rng(seed)
    y = np.arange(n) % k
    x = np.array([rng.dirichlet(200 * proto[c] + 0.1) for c in y], np.float32)
    x[x < 0.01] = 0
    return x, np.array([f"c{c}" for c in y])


@pytest.mark.parametrize("backend", ["auto", "numpy", "numba"])
def test_chi2_distances_match_scikit_learn(backend):
    x, _ = _hists()
    d = chi2_distances(x[:20], x, backend)
    np.testing.assert_allclose(d, -additive_chi2_kernel(x[:20].astype(np.float64), x.astype(np.float64)),
                               rtol=1e-5, atol=1e-6)
    assert np.all(np.diag(d[:, :20]) < 1e-6)


def test_kernel_values():
    a = np.array([[0.5, 0.5, 0.0]], np.float32)
    b = np.array([[0.25, 0.25, 0.5]], np.float32)
    chi = (0.25**2 / 0.75) * 2 + 0.5
    assert kernel_matrix(a, b, "chi2", 2.0)[0, 0] == pytest.approx(np.exp(-2 * chi), rel=1e-5)
    assert kernel_matrix(a, b, "intersection", 0)[0, 0] == pytest.approx(0.5)
    assert kernel_matrix(a, b, "linear", 0)[0, 0] == pytest.approx(0.25)
    assert kernel_matrix(a, b, "rbf", 1.0)[0, 0] == pytest.approx(np.exp(-(0.0625 * 2 + 0.25)))
    with pytest.raises(ValueError, match="unknown kernel"):
        kernel_matrix(a, b, "poly", 1.0)


@pytest.mark.parametrize("kernel", KERNELS)
def test_kernel_svc_separates_held_out_data(kernel):
    x, y = _hists(0, 90)
    xt, yt = _hists(1, 60)
    m = KernelSVC(kernel, C=10, probability=True).fit(x, y)
    assert np.mean(m.predict(xt) == yt) > 0.9
    p = m.predict_proba(xt)
    assert p.shape == (60, 3) and np.allclose(p.sum(1), 1)
    assert np.mean(m.classes_[p.argmax(1)] == yt) > 0.9
    d = m.decision_function(xt)
    assert d.shape == (60, 3)
    assert len(m.support_vectors_) <= 90


def test_binary_decision_function_has_two_columns():
    x, y = _hists(0, 60, k=2)
    m = KernelSVC("chi2", probability=True).fit(x, y)
    assert m.decision_function(x[:5]).shape == (5, 2)
    assert m.predict_proba(x[:5]).shape == (5, 2)


@pytest.mark.parametrize("kernel", ["chi2", "intersection"])
def test_kernel_matrix_honours_the_backend(kernel, monkeypatch):
    """The Gram matrix runs in the named backend's kernel (the same bits in every backend for χ²)."""
    from dlfers import _kernels

    x, _ = _hists(f=24)
    want = kernel_matrix(x[:7], x, kernel, 0.5, "numpy")
    calls = []
    real = _kernels.get

    def spy(backend="auto"):
        calls.append(backend)
        return real(backend)

    monkeypatch.setattr(_kernels, "get", spy)
    for backend in ("numpy", "numba", "cython"):
        if _kernels.load(backend) is None:
            continue
        calls.clear()
        got = kernel_matrix(x[:7], x, kernel, 0.5, backend)
        if kernel == "chi2":  # one summation order in every backend
            np.testing.assert_array_equal(got, want)
        np.testing.assert_allclose(got, want, rtol=1e-5)
        assert calls == [backend]
        svm = KernelSVC(kernel, 10.0, 0.5, backend=backend).fit(x, np.arange(len(x)) % 3)
        calls.clear()
        svm.decision_function(x[:3])
        assert calls == [backend]


def test_the_fusion_rule():
    """Feature fusion concatenates the kinds into one SVM; decision fusion keeps one SVM per kind."""
    from dlfers.model.classify import fit_fused, fusion_inputs

    a, b = np.ones((2, 3), np.float32), np.zeros((2, 4), np.float32)
    feat = fusion_inputs({"tisf": a, "tipm": b}, "feature")
    assert list(feat) == ["tisf+tipm"] and feat["tisf+tipm"].shape == (2, 7)
    assert list(fusion_inputs({"tisf": a, "tipm": b}, "decision")) == ["tisf", "tipm"]
    assert list(fusion_inputs({"tipm": b}, "decision")) == ["tipm"]
    with pytest.raises(ValueError, match="fusion must be one of"):
        fusion_inputs({"tisf": a}, "score")

    x, y = _hists(f=30)
    enc = {"tisf": x[:, :20], "tipm": x[:, 20:]}
    dec = fit_fused(enc, y, "intersection", 10.0, None, "decision", 0, probability=False)
    assert all(hasattr(s, "calib_coef_") for s in dec.svms.values())  # its labels need probabilities
    labels, proba = dec.predict_with_proba(enc)
    np.testing.assert_array_equal(labels, dec.classes[np.argmax(proba, axis=1)])
    np.testing.assert_array_equal(dec.predict(enc), labels)
    one = fit_fused(enc, y, "intersection", 10.0, None, "feature", 0, probability=False)
    assert list(one.svms) == ["tisf+tipm"] and not hasattr(one.svms["tisf+tipm"], "calib_coef_")
    np.testing.assert_array_equal(one.predict(enc), one.svms["tisf+tipm"].predict(np.hstack([x[:, :20], x[:, 20:]])))
