"""Prediction with a trained model: per-frame latency (p50, p99) and flat memory.

Each preset of :data:`dlfers.model.estimator.PRESETS` ("default", "paper", "realtime") is
fitted once on all of JAFFE.  ``test_predict_frame`` times :meth:`DLFERS.predict_image`
on one 256x256 JAFFE frame and on the synthetic 640x480 frame of ``test_bench_detect.py``
(face detection included), ``test_predict_face``
:meth:`DLFERS.predict_faces` on one pre-cropped 128x128 face (and
``test_predict_face_float32_words`` the default with float32 word assignment).  p50 and p99 of the
rounds are stored in ``extra_info`` (milliseconds).  ``test_svm_rows`` times the
histogram-intersection rows of one face against the fitted support vectors (the SVM's
memory-bound part) beside NumPy's reference and a plain read of the same bytes.
``test_memory_is_flat`` (marked slow) runs 10,000 predictions on pre-cropped faces and
checks that the resident set stays flat.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

ROUNDS = 200
N_PREDICTIONS = int(os.environ.get("DLFERS_MEM_PREDICTIONS", "10000"))
MAX_GROWTH_MB = 20.0


@pytest.fixture(scope="session")
def jaffe(jaffe_dir):
    from dlfers import load_jaffe

    return load_jaffe(jaffe_dir)


_FITTED: dict[str, object] = {}


def _fit(preset: str, jaffe) -> object:
    from dlfers import DLFERS

    if preset not in _FITTED:
        _FITTED[preset] = DLFERS.from_preset(preset).fit(jaffe.images, jaffe.labels)
    return _FITTED[preset]


@pytest.fixture(scope="session", params=["default", "paper", "realtime"])
def preset_model(request, jaffe):
    """(preset name, model of that preset fitted on all of JAFFE)."""
    return request.param, _fit(request.param, jaffe)


@pytest.fixture(scope="session")
def fitted(jaffe):
    """The default model."""
    return _fit("default", jaffe)


@pytest.fixture(scope="session", params=["256x256", "640x480"])
def frame(request, jaffe_dir) -> tuple[str, np.ndarray]:
    """(size, frame): the 256x256 JAFFE frame, or the synthetic 640x480 frame of test_bench_detect.py."""
    from test_bench_detect import bench_frames

    return request.param, bench_frames(jaffe_dir)[request.param]


def _percentiles(benchmark) -> None:
    stats = getattr(benchmark, "stats", None)
    data = getattr(getattr(stats, "stats", None), "data", None)
    if data:  # None under --benchmark-disable
        benchmark.extra_info["p50_ms"] = float(np.percentile(data, 50) * 1e3)
        benchmark.extra_info["p99_ms"] = float(np.percentile(data, 99) * 1e3)


def test_predict_frame(benchmark, preset_model, frame):
    preset, model = preset_model
    size, frame = frame
    benchmark.group = "predict frame"
    benchmark.extra_info["preset"] = preset
    benchmark.extra_info["frame"] = size
    model.predict_image(frame)  # warm up (detector, compiled kernels)
    results = benchmark.pedantic(model.predict_image, args=(frame,), rounds=ROUNDS, iterations=1, warmup_rounds=3)
    assert results[0].found
    _percentiles(benchmark)


def test_predict_face(benchmark, preset_model, face):
    preset, model = preset_model
    benchmark.group = "predict face"
    benchmark.extra_info["preset"] = preset
    model.predict_faces([face])
    labels = benchmark.pedantic(model.predict_faces, args=([face],), rounds=ROUNDS, iterations=1, warmup_rounds=3)
    assert labels[0] in model.classes_
    _percentiles(benchmark)


def test_predict_face_float32_words(benchmark, jaffe, face):
    """The default model with float32 word assignment (``precision="float32"``, the default before
    int8): beside ``test_predict_face``'s default, what the int8 words save on one face."""
    from dlfers import DLFERS

    if "float32" not in _FITTED:
        _FITTED["float32"] = DLFERS(precision="float32").fit(jaffe.images, jaffe.labels)
    model = _FITTED["float32"]
    benchmark.group = "predict face"
    benchmark.extra_info["preset"] = "default, float32 words"
    model.predict_faces([face])
    benchmark.pedantic(model.predict_faces, args=([face],), rounds=ROUNDS, iterations=1, warmup_rounds=3)
    _percentiles(benchmark)


@pytest.mark.parametrize("how", ["cython", "numba", "numpy", "read"])
def test_svm_rows(benchmark, fitted, face, how):
    """Intersection rows K(x, SV) of one face: the compiled kernels, NumPy's reference,
    and ``read``, a max over the support vectors (the same bytes, streamed once)."""
    from dlfers import _kernels

    (svm,) = fitted.svms_.values()
    sv = svm.support_vectors_
    x = np.ascontiguousarray(fitted.transform_features(fitted.face_batch([face])), np.float32)
    out = np.empty((1, sv.shape[0]))
    benchmark.group = f"svm rows {sv.shape[0]}x{sv.shape[1]}"
    benchmark.extra_info["bytes"] = int(sv.nbytes)
    if how == "read":
        benchmark(sv.max)
        return
    if _kernels.load(how) is None:
        pytest.skip(f"{how} backend unavailable: {_kernels.status()[how]}")
    k = _kernels.load(how)
    benchmark(k.intersection, x, sv, out)
    np.testing.assert_allclose(out[0], svm._kernel_rows(x)[0], rtol=1e-5)


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/statm").exists(), reason="needs /proc/self/statm (Linux)")
def test_memory_is_flat(fitted, face):
    """RSS after 10,000 pre-cropped predictions stays within MAX_GROWTH_MB of its value after warm-up."""
    warm = max(1, N_PREDICTIONS // 50)
    for _ in range(warm):
        fitted.predict_faces([face])
    base = _rss_mb()
    samples = []
    for i in range(N_PREDICTIONS):
        fitted.predict_faces([face])
        if (i + 1) % max(1, N_PREDICTIONS // 10) == 0:
            samples.append(_rss_mb() - base)
    print(f"RSS after warm-up {base:.1f} MB; growth every {N_PREDICTIONS // 10} predictions (MB): "
          + " ".join(f"{s:+.2f}" for s in samples))
    assert max(samples) < MAX_GROWTH_MB, samples
