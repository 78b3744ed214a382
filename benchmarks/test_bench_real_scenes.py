"""Faces in real scenes (issue 28): the detectors on the two clips of ``../shared/video``, a 640x480
frame through a fitted model, and tracking on the walking clip; one thread (conftest).

* ``test_detect_clip``: :func:`dlfers.detect_faces` on every frame of each clip (colour frames, as
  ``predict_image`` gives them); ``extra_info``: the frames with a face (``found``) and p50/p99 ms.
  Targets: YuNet finds a face in >= 90 % of the frames of both clips.
* ``test_predict_vga``: ``predict_image`` of one 640x480 frame of the walking clip (a frame where
  YuNet sees the face) by a model fitted on all of JAFFE with each detector.  Target: <= 7 ms p50
  with the default model.
* ``test_tracking_walking_clip``: ``analyze_video`` of the walking clip with detection every 10th
  frame (decoding included); ``extra_info``: fps and the frames with a face.  Target: >= 100 fps.

``benchmarks/detection_table.py`` prints the same find rates with the wide synthetic set.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np
import pytest

CLIPS = ("webcam_talking.mp4", "room_walking.mp4")
DETECTORS = ("cascade+coarse2fine", "yunet", "cascade+yunet")
_MODELS: dict[str, object] = {}


def _video_dir() -> Path:
    env = os.environ.get("DLFERS_DATA")
    return (Path(env).parent if env else Path(__file__).resolve().parents[2] / "shared") / "video"


def _clip(name: str) -> Path:
    path = _video_dir() / name
    if not path.is_file():
        pytest.skip(f"{name} not found in {path.parent}")
    return path


def _frames(path: Path) -> list[np.ndarray]:
    import cv2

    cap = cv2.VideoCapture(str(path))
    out = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        out.append(f)
    cap.release()
    return out


def _percentiles(benchmark) -> None:
    data = getattr(getattr(getattr(benchmark, "stats", None), "stats", None), "data", None)
    if data:  # None under --benchmark-disable
        benchmark.extra_info["p50_ms"] = float(np.percentile(data, 50) * 1e3)
        benchmark.extra_info["p99_ms"] = float(np.percentile(data, 99) * 1e3)


def _fitted(detector: str, jaffe_dir: Path):  # noqa: ANN202
    from dlfers import DLFERS, load_jaffe

    if detector not in _MODELS:
        data = load_jaffe(jaffe_dir)
        _MODELS[detector] = DLFERS(detector=detector).fit(data.images, data.labels)
    return _MODELS[detector]


@pytest.mark.parametrize("clip", CLIPS)
@pytest.mark.parametrize("detector", DETECTORS)
def test_detect_clip(benchmark, detector, clip):
    import cv2

    from dlfers import detect_faces

    frames = _frames(_clip(clip))
    grays = [cv2.cvtColor(f, cv2.COLOR_BGR2GRAY) for f in frames]
    found = sum(bool(detect_faces(g, detector=detector, color=f)) for g, f in zip(grays, frames))
    it = iter(range(10**9))

    def one() -> None:
        i = next(it) % len(frames)
        detect_faces(grays[i], detector=detector, color=frames[i])

    benchmark.group = f"detect {clip}"
    benchmark.pedantic(one, rounds=min(len(frames), 150), iterations=1, warmup_rounds=3)
    _percentiles(benchmark)
    benchmark.extra_info.update({"detector": detector, "found": found, "frames": len(frames),
                                 "find_rate": found / len(frames)})
    print(f"\n{detector} on {clip}: a face in {found}/{len(frames)} frames ({found / len(frames):.1%})")
    if detector == "yunet":
        assert found >= 0.9 * len(frames)


@pytest.mark.parametrize("detector", DETECTORS)
def test_predict_vga(benchmark, detector, jaffe_dir):
    from dlfers import detect_faces

    frames = _frames(_clip("room_walking.mp4"))
    frame = next(f for f in frames[len(frames) // 2:] if detect_faces(f[..., 0], detector="yunet", color=f))
    model = _fitted(detector, jaffe_dir)
    benchmark.group = "predict 640x480 walking-clip frame"
    result = benchmark.pedantic(model.predict_image, args=(frame,), rounds=60, iterations=1, warmup_rounds=3)
    _percentiles(benchmark)
    benchmark.extra_info.update({"detector": detector, "face_found": bool(result[0].found)})


@pytest.mark.parametrize("detector", ("yunet", "cascade+yunet"))
def test_tracking_walking_clip(benchmark, detector, jaffe_dir):
    from dlfers import analyze_video

    clip = _clip("room_walking.mp4")
    model = _fitted(detector, jaffe_dir)
    counts: list[tuple[int, int]] = []

    def run() -> float:
        t = time.perf_counter()
        results = list(analyze_video(model, clip, detect_every=10))
        counts.append((sum(bool(r.faces) for r in results), len(results)))
        return time.perf_counter() - t

    benchmark.group = "video room_walking, detect every 10th frame"
    benchmark.pedantic(run, rounds=2, iterations=1)
    data = getattr(getattr(benchmark.stats, "stats", None), "data", None) or [run()]
    found, n = counts[-1]
    fps = n / min(data)
    benchmark.extra_info.update({"detector": detector, "fps": fps, "frames_with_a_face": found, "frames": n})
    print(f"\n{detector}: tracking every 10th detection: {fps:.0f} frames/s, a face in {found}/{n} frames")
