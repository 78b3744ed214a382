"""Video analysis speed on a 640x480, 300-frame synthetic video (one JAFFE face moving on a cluttered canvas).

The model is a preset fitted on all of JAFFE; one thread everywhere (conftest).

* ``test_tracking_speedup``: frames per second of ``analyze_video`` with the full detector on
  every frame vs tracking with detection every 10 frames (target: ratio >= 2), for the default
  and the realtime preset.  Decoding and classifying every frame are the floor tracking cannot
  lower: the ratio is (decode + detect + classify) / (decode + region search + classify).
* ``test_per_frame_time_is_flat``: median per-frame time of the last 50 frames over the first
  50 of one run with tracking (target: within 1.2).
* ``test_jobs_throughput``: two such videos through ``dlfers video A B --jobs 2`` vs one after
  the other (``--jobs 1``) (target: >= 1.7x on two free cores).

Each stores its figures and ratio in ``extra_info``.  Run with
``python -m pytest benchmarks/test_bench_video.py --benchmark-only -s``.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from _clips import face_patch, frames, line, write_clip  # noqa: E402

N_FRAMES = 300


def _path(n: int):  # noqa: ANN202
    """Left to right and back, drifting down: about 3 pixels per frame."""
    there, back = line((20, 40), (460, 200), n // 2), line((460, 200), (40, 300), n - n // 2)
    return lambda i: there(i) if i < n // 2 else back(i - n // 2)


_MODELS: dict[str, object] = {}


def _fitted(preset: str, jaffe_dir: Path):  # noqa: ANN202
    from dlfers import DLFERS, load_jaffe

    if preset not in _MODELS:
        data = load_jaffe(jaffe_dir)
        _MODELS[preset] = DLFERS.from_preset(preset).fit(data.images, data.labels)
    return _MODELS[preset]


@pytest.fixture(scope="module")
def model(jaffe_dir):
    """The default preset fitted on all of JAFFE."""
    return _fitted("default", jaffe_dir)


@pytest.fixture(scope="module", params=["default", "realtime"])
def preset_model(request, jaffe_dir):
    """(preset, model): classification costs less with "realtime", so tracking saves a larger share."""
    return request.param, _fitted(request.param, jaffe_dir)


@pytest.fixture(scope="module")
def clip(jaffe_dir, tmp_path_factory) -> Path:
    from _detection_set import texture

    from dlfers import read_image

    face = face_patch(read_image(jaffe_dir / "KA.HA1.29.tiff"))
    # the cluttered background of the detection benchmark's 640x480 frame: on a flat canvas
    # the cascade rejects almost every window at once, and detection costs half as much
    background = texture((480, 640), np.random.default_rng(12))
    return write_clip(tmp_path_factory.mktemp("video") / "moving.avi",
                      frames([face], [_path(N_FRAMES)], N_FRAMES, background=background), fps=25)


def _run(model, src: Path, detect_every: int) -> float:
    """Seconds for the whole video (decoding included)."""
    from dlfers import analyze_video

    t = time.perf_counter()
    n = sum(1 for r in analyze_video(model, src, detect_every=detect_every) if r.faces)
    assert n >= 0.95 * N_FRAMES
    return time.perf_counter() - t


def test_tracking_speedup(benchmark, preset_model, clip):
    preset, model = preset_model
    benchmark.group = "video 640x480"
    benchmark.extra_info["preset"] = preset
    full = min(_run(model, clip, 1) for _ in range(2))
    tracked = benchmark.pedantic(_run, args=(model, clip, 10), rounds=2, iterations=1)
    tracked = min(getattr(getattr(benchmark.stats, "stats", None), "data", None) or [tracked])
    info = {"fps_detect_every_frame": N_FRAMES / full, "fps_detect_every_10": N_FRAMES / tracked,
            "ratio": full / tracked}
    benchmark.extra_info.update(info)
    print(f"\n{preset}: video fps: detector every frame {info['fps_detect_every_frame']:.1f}, every 10th frame "
          f"{info['fps_detect_every_10']:.1f}: ratio {info['ratio']:.2f} (target >= 2)")


def test_per_frame_time_is_flat(benchmark, model, clip):
    import cv2

    from dlfers import VideoAnalyzer

    benchmark.group = "video 640x480"
    cap = cv2.VideoCapture(str(clip))
    decoded = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        decoded.append(f)
    cap.release()

    def run() -> list[float]:
        analyzer = VideoAnalyzer(model, detect_every=10)
        times = []
        for i, f in enumerate(decoded):
            t = time.perf_counter()
            analyzer.update(f, i / 25)
            times.append(time.perf_counter() - t)
        return times

    times = benchmark.pedantic(run, rounds=1, iterations=1)
    first, last = np.median(times[:50]), np.median(times[-50:])
    benchmark.extra_info.update({"first50_ms": first * 1e3, "last50_ms": last * 1e3, "ratio": last / first})
    print(f"\nper-frame median: first 50 {first * 1e3:.2f} ms, last 50 {last * 1e3:.2f} ms: "
          f"ratio {last / first:.2f} (target within 1.2)")


def test_jobs_throughput(benchmark, model, clip, tmp_path):
    from dlfers.cli.main import main

    benchmark.group = "video 640x480"
    model_file = tmp_path / "m.dlfers"
    model.save(model_file)
    other = tmp_path / "other.avi"
    other.write_bytes(clip.read_bytes())
    common = [str(model_file), str(clip), str(other), "--detect-every", "10", "--quiet", "--overwrite"]

    def run(jobs: int) -> float:
        t = time.perf_counter()
        assert main(["video", *common, "--csv", str(tmp_path / f"{{stem}}-{jobs}.csv"), "--jobs", str(jobs)]) == 0
        return time.perf_counter() - t

    run(2)  # start the worker pool once
    serial = run(1)
    parallel = benchmark.pedantic(run, args=(2,), rounds=1, iterations=1)
    parallel = min(getattr(getattr(benchmark.stats, "stats", None), "data", None) or [parallel])
    benchmark.extra_info.update({"serial_s": serial, "jobs2_s": parallel, "ratio": serial / parallel})
    print(f"\ntwo videos: one after the other {serial:.2f} s, --jobs 2 {parallel:.2f} s: "
          f"ratio {serial / parallel:.2f} (target >= 1.7 on two free cores)")
