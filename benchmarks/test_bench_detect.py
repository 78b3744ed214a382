"""Face detection on whole frames: the coarse-to-fine default against the paper's single pass
and the usual full-frame OpenCV call.

Two frames: a 256x256 JAFFE image (``FACE_FILE``) and a synthetic 640x480 frame (a JAFFE
image scaled so that its face is 35 % of the frame's height, pasted into a textured,
noisy canvas by ``tests/_detection_set.py``).  Contenders, one thread each:

* ``cascade+coarse2fine``: :func:`dlfers.detect_faces` with the default settings
  (``DLFERS()`` and the ``realtime`` preset);
* ``coarse2fine``: its fallback alone;
* ``cascade``: the paper preset's single pass (160, 0.2, 1.1);
* ``opencv_full``: ``CascadeClassifier.detectMultiScale`` of the frontal-face default
  cascade on the full frame, scaleFactor 1.1, minNeighbors 5 (the reference: what most
  tutorials and ``fer`` do first).

Each test stores p50 and p99 (milliseconds) in ``extra_info``; ``benchmarks/report.py``
prints them side by side with the ``predict frame`` rows of ``test_bench_predict.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import FACE_FILE

sys.path.append(str(Path(__file__).resolve().parents[1] / "tests"))  # after benchmarks/: its conftest wins
from _detection_set import paste_face, texture  # noqa: E402

ROUNDS = 100
#: face box height over frame height in the synthetic VGA frame
VGA_FACE = 0.35


def bench_frames(jaffe_dir: Path) -> dict[str, np.ndarray]:
    """``{"256x256": JAFFE frame, "640x480": synthetic frame}`` (uint8 gray), the same every run."""
    from dlfers import detect_faces, read_image

    img = read_image(jaffe_dir / FACE_FILE)
    box = detect_faces(img, detector="cascade")[0].as_tuple()
    rng = np.random.default_rng(12)
    vga, _ = paste_face(texture((480, 640), rng), img, box, VGA_FACE, 0.0, rng)
    return {"256x256": img, "640x480": vga}


@pytest.fixture(scope="session")
def frames(jaffe_dir) -> dict[str, np.ndarray]:
    return bench_frames(jaffe_dir)


def _percentiles(benchmark) -> None:
    data = getattr(getattr(getattr(benchmark, "stats", None), "stats", None), "data", None)
    if data:  # None under --benchmark-disable
        benchmark.extra_info["p50_ms"] = float(np.percentile(data, 50) * 1e3)
        benchmark.extra_info["p99_ms"] = float(np.percentile(data, 99) * 1e3)


@pytest.mark.parametrize("size", ["256x256", "640x480"])
@pytest.mark.parametrize("how", ["cascade+coarse2fine", "coarse2fine", "cascade", "opencv_full"])
def test_detect(benchmark, frames, size, how):
    import cv2

    from dlfers import detect_faces

    frame = frames[size]
    benchmark.group = f"detect {size}"
    benchmark.extra_info.update(frame=size, detector=how)
    if how == "opencv_full":
        cascade = cv2.CascadeClassifier(cv2.data.haarcascades + "haarcascade_frontalface_default.xml")

        def run() -> list:
            return list(cascade.detectMultiScale(frame, scaleFactor=1.1, minNeighbors=5))
    else:
        def run() -> list:
            return detect_faces(frame, detector=how)
    run()  # warm up: load the cascades
    found = benchmark.pedantic(run, rounds=ROUNDS if how != "opencv_full" else 20, iterations=1, warmup_rounds=2)
    assert len(found) >= 1
    _percentiles(benchmark)


#: the cascade calls compared engine against engine: the default detector's single pass (the frame
#: scaled to longest side 160, minNeighbors 4, faces from 15 % of the shorter side) and OpenCV's
#: full-frame reference call (scaleFactor 1.1, minNeighbors 5)
CASCADE_CALLS = ("single pass", "full frame")


@pytest.mark.parametrize("size", ["256x256", "640x480"])
@pytest.mark.parametrize("call", CASCADE_CALLS)
@pytest.mark.parametrize("engine", ["dlfers", "opencv"])
def test_cascade_engine(benchmark, frames, size, call, engine):
    """One ``detectMultiScale`` call of the frontal-face default cascade: dlfers' ``haar_scan`` kernel
    (``dlfers.face.haar.HaarCascade``) against OpenCV's ``CascadeClassifier`` (one thread), the same boxes."""
    import cv2

    from dlfers import _kernels
    from dlfers.face.haar import HaarCascade

    if engine == "dlfers" and _kernels.load("cython") is None:
        pytest.skip(f"cython backend unavailable: {_kernels.status()['cython']}")
    cv2.setNumThreads(1)
    path = cv2.data.haarcascades + "haarcascade_frontalface_default.xml"
    frame = frames[size]
    if call == "single pass":
        s = 160 / max(frame.shape)
        frame = cv2.resize(frame, (round(frame.shape[1] * s), round(frame.shape[0] * s)), interpolation=cv2.INTER_AREA)
        m = max(12, int(0.15 * min(frame.shape)))
        kw = dict(scaleFactor=1.1, minNeighbors=4, minSize=(m, m))
    else:
        kw = dict(scaleFactor=1.1, minNeighbors=5)
    cascade = HaarCascade(path, backend="cython") if engine == "dlfers" else cv2.CascadeClassifier(path)
    other = cv2.CascadeClassifier(path) if engine == "dlfers" else HaarCascade(path)
    found = sorted(map(tuple, np.asarray(cascade.detectMultiScale(frame, **kw)).reshape(-1, 4).tolist()))
    assert found == sorted(map(tuple, np.asarray(other.detectMultiScale(frame, **kw)).reshape(-1, 4).tolist()))
    benchmark.group = f"cascade {call} {size}"
    path_name = __import__(_kernels.load("cython").haar_scan.__module__, fromlist=["haar_path"]).haar_path() \
        if engine == "dlfers" else "opencv"
    benchmark.extra_info.update(frame=size, call=call, engine=engine, path=path_name, boxes=len(found))
    rounds = 10 if (call == "full frame" and engine == "opencv") else 50
    benchmark.pedantic(lambda: cascade.detectMultiScale(frame, **kw), rounds=rounds, iterations=1, warmup_rounds=1)
    _percentiles(benchmark)
