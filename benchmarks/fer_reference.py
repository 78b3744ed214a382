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
    from fer import FER

    tf.config.threading.set_intra_op_parallelism_threads(1)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    frames = {name: np.load(path) for name, path in json.loads(sys.argv[1]).items()}
    det = FER()
    face = frames.pop("face48").astype(np.float32) / 255.0
    batch = face.reshape(1, 48, 48, 1) * 2.0 - 1.0
    model = det._FER__emotion_classifier if hasattr(det, "_FER__emotion_classifier") else det.emotion_model
    out = {"face48": p50(lambda: model(batch, training=False) if callable(model) else model.predict(batch))}
    for name, frame in frames.items():
        out[name] = p50(lambda f=frame: det.detect_emotions(f))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
