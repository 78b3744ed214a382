"""Time the `fer` package (its mini-Xception CNN; the reference a user would pick) on the frames and
face of benchmarks/test_bench_pretrained.py, in its own interpreter (fer needs TensorFlow).

    DLFERS_FER_PYTHON=/path/to/venv/bin/python pytest benchmarks/test_bench_pretrained.py

runs this file with that interpreter; it prints one JSON object: p50 milliseconds of fer's CNN on a
pre-cropped 48x48 face (``fer.FER.emotion_model`` ``predict``) and of ``FER().detect_emotions`` on each
frame (its OpenCV cascade and the CNN), one thread.
"""

from __future__ import annotations

import json
import os
import sys
import time

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "TF_NUM_INTRAOP_THREADS",
             "TF_NUM_INTEROP_THREADS"):
    os.environ[_var] = "1"
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"

import numpy as np  # noqa: E402


def p50(fn, rounds: int = 60) -> float:
    for _ in range(3):
        fn()
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return float(np.percentile(times, 50) * 1e3)


def main() -> None:
    import tensorflow as tf

    try:
        from fer import FER
    except ImportError:  # fer 25: the class lives in fer.fer
        from fer.fer import FER

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    import cv2

    frames = {name: np.load(path) for name, path in json.loads(sys.argv[1]).items()}
    det = FER()  # fer's defaults (its OpenCV cascade; fer 25 runs its CNN through TensorFlow Lite)
    h, w = det._FER__emotion_target_size
    face = cv2.resize(frames.pop("face48"), (w, h)).astype(np.float32) / 255.0
    batch = (face * 2.0 - 1.0)[None]  # fer's own preprocessing of a gray face (fer.utils.preprocess_input)
    out = {"face48": p50(lambda: det._classify_emotions(batch))}  # the CNN alone, on a pre-cropped face
    for name, frame in frames.items():
        bgr = cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR) if frame.ndim == 2 else frame
        out[name] = p50(lambda f=bgr: det.detect_emotions(f))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
