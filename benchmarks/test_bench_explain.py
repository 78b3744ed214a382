"""Explaining a face against predicting it, on one fitted model (issue 16: at most 2x).

The default preset is fitted once on all of JAFFE.  ``test_explain_face`` times
:meth:`DLFERS.explain_faces` on one pre-cropped 128x128 face with pytest-benchmark and,
in the same run, the medians of ``ROUNDS`` interleaved calls of ``explain_faces`` and
:meth:`DLFERS.predict_faces` on that face; their ratio is ``extra_info["explain_over_predict"]``
(interleaving makes the ratio robust to other load on a shared machine; the absolute
times are not).  ``test_region_sums`` times the per-region kernel of one face against
the model's support vectors beside the plain intersection rows it replaces.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

ROUNDS = 40
MAX_RATIO = 2.0


@pytest.fixture(scope="module")
def fitted(jaffe_dir):
    from dlfers import DLFERS, load_jaffe

    data = load_jaffe(jaffe_dir)
    return DLFERS.from_preset("default").fit(data.images, data.labels)


def test_explain_face(benchmark, fitted, face):
    benchmark.group = "explain face"
    fitted.explain_faces([face])  # warm up (compiled kernels)
    fitted.predict_faces([face])
    t_explain, t_predict = [], []
    for _ in range(ROUNDS):
        t0 = time.perf_counter()
        fitted.predict_faces([face])
        t1 = time.perf_counter()
        fitted.explain_faces([face])
        t2 = time.perf_counter()
        t_predict.append(t1 - t0)
        t_explain.append(t2 - t1)
    ratio = float(np.median(t_explain) / np.median(t_predict))
    benchmark.extra_info.update(predict_ms=float(np.median(t_predict) * 1e3),
                                explain_ms=float(np.median(t_explain) * 1e3), explain_over_predict=ratio,
                                n_regions=fitted.spec().n_regions,
                                n_support_vectors=int(sum(s.support_vectors_.shape[0] for s in fitted.svms_.values())))
    exps = benchmark(fitted.explain_faces, [face])
    assert exps[0].label == fitted.predict_faces([face])[0]
    assert ratio <= MAX_RATIO, f"explaining a face costs {ratio:.2f}x predicting it (limit {MAX_RATIO})"


@pytest.mark.parametrize("what", ["region_sums", "intersection"])
def test_region_sums(benchmark, fitted, face, what):
    from dlfers import _kernels

    benchmark.group = "explain: SVM rows of one face"
    k = _kernels.get(fitted.backend)
    x = fitted.transform_features(fitted.extract([face], progress=False)) if fitted.detect else None
    x = fitted.transform_features(fitted.face_batch([face])) if x is None else x
    svm = next(iter(fitted.svms_.values()))
    sv = svm.support_vectors_
    n_reg = fitted.spec().n_regions
    widths = [fitted.codebooks_[kd].shape[0] for kd in fitted.spec().kinds]
    bounds = np.concatenate([[0], np.cumsum([w for w in widths for _ in range(n_reg)])]).astype(np.int64)
    x = np.ascontiguousarray(x, np.float32)
    benchmark.extra_info.update(n_support_vectors=int(sv.shape[0]), features=int(sv.shape[1]))
    if what == "region_sums":
        out = np.empty((1, sv.shape[0], bounds.shape[0] - 1))
        benchmark(k.region_sums, x, sv, bounds, 0, out)
    else:
        out2 = np.empty((1, sv.shape[0]))
        benchmark(k.intersection, x, sv, out2)
