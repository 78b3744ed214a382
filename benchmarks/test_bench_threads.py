"""Thread scaling: one fitted model shared by 1, 2 and 8 threads calling ``predict_image``.

The default model is fitted once on all of JAFFE; each benchmark round predicts the same
:data:`N_FRAMES` JAFFE frames (256x256, detection included), serially or spread over a
thread pool of 2 or 8 threads.  OpenCV and BLAS run one thread each (benchmarks/conftest.py),
so one thread uses one core.  ``extra_info`` holds ``threads``, ``frames_per_s`` (from the
median round) and ``speedup`` (the throughput over the 1-thread run of the same session),
plus ``cpus`` and the 1-minute load average when the run began: on a machine shared with
other work the ratios, not the times, are what to read.  Targets (issue 12): at least 1.7x
with 2 threads on 2 cores, and 8 threads never slower than 1.  ``python benchmarks/report.py``
prints them as a table.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

N_FRAMES = 48
THREADS = (1, 2, 8)
ROUNDS = 5
_medians: dict[int, float] = {}


@pytest.fixture(scope="module")
def model_and_frames(jaffe_dir):
    from dlfers import DLFERS, load_jaffe

    data = load_jaffe(jaffe_dir)
    model = DLFERS().fit(data.images, data.labels)
    idx = np.linspace(0, len(data.images) - 1, N_FRAMES).astype(int)
    frames = [data.images[i] for i in idx]
    for f in frames[:4]:
        model.predict_image(f)  # warm up: detector, kernels, BLAS
    return model, frames


def _serial(model, frames):
    return [model.predict_image(f) for f in frames]


def _threaded(pool, model, frames):
    return list(pool.map(model.predict_image, frames))


@pytest.mark.parametrize("threads", THREADS)
def test_predict_image_threads(benchmark, model_and_frames, threads):
    model, frames = model_and_frames
    benchmark.group = "predict threads"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    if threads == 1:
        results = benchmark.pedantic(_serial, args=(model, frames), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    else:
        with ThreadPoolExecutor(threads) as pool:
            results = benchmark.pedantic(_threaded, args=(pool, model, frames), rounds=ROUNDS, iterations=1,
                                         warmup_rounds=1)
    assert len(results) == len(frames) and sum(r[0].found for r in results) >= len(frames) - 2
    _record(benchmark, _medians, threads, {"threads": threads, "frames": len(frames), "load_avg_1min": load})


def _record(benchmark, medians: dict[int, float], key: int, info: dict) -> None:
    """``info`` plus CPUs, frames per second (median round) and the speed-up over ``medians[1]``."""
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    data = getattr(stats, "data", None)
    info = {**info, "cpus": os.cpu_count()}
    if data:  # None under --benchmark-disable
        median = float(np.median(data))
        medians[key] = median
        info["frames_per_s"] = info["frames"] / median
        if 1 in medians:
            info["speedup"] = medians[1] / median
    benchmark.extra_info.update(info)


_batch_medians: dict[int, float] = {}


@pytest.mark.parametrize("n_jobs", (1, 2))
def test_predict_batch_n_jobs(benchmark, model_and_frames, n_jobs):
    """``model.set_params(n_jobs=N).predict(frames)``: one batch call on N threads (issue 12)."""
    model, frames = model_and_frames
    benchmark.group = "predict batch n_jobs"
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    model.set_params(n_jobs=n_jobs)
    try:
        labels = benchmark.pedantic(model.predict, args=(frames,), rounds=ROUNDS, iterations=1, warmup_rounds=1)
    finally:
        model.set_params(n_jobs=None)
    assert len(labels) == len(frames)
    _record(benchmark, _batch_medians, n_jobs, {"n_jobs": n_jobs, "frames": len(frames), "load_avg_1min": load})
