"""Benchmark setup: one thread everywhere, and the 128x128 face every benchmark uses."""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS"):
    os.environ[_var] = "1"

from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402
import pytest  # noqa: E402

from dlfers import _kernels  # noqa: E402

FACE_FILE = "KA.HA1.29.tiff"


def data_dir() -> Path:
    """``$DLFERS_DATA``, else ``<repo>/../shared/data``."""
    env = os.environ.get("DLFERS_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session", autouse=True)
def single_thread():
    """Limit BLAS/OpenMP pools and OpenCV to one thread for the whole session."""
    from threadpoolctl import threadpool_limits

    try:
        import cv2

        cv2.setNumThreads(1)
    except ImportError:
        pass
    with threadpool_limits(1):
        yield


@pytest.fixture(scope="session")
def jaffe_dir() -> Path:
    """``data_dir() / "jaffe"``; the benchmark is skipped, saying where it looked, without it."""
    path = data_dir() / "jaffe"
    if not path.is_dir():
        pytest.skip(f"JAFFE not found at {path}")
    return path


@pytest.fixture(scope="session")
def face() -> np.ndarray:
    """A 128x128 uint8 face: JAFFE KA.HA1.29 cropped by slicing, or a synthetic face."""
    path = data_dir() / "jaffe" / FACE_FILE
    if path.exists():
        import cv2

        img = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
        if img is not None:
            return np.ascontiguousarray(img[60:188, 64:192])
    yy, xx = np.mgrid[0:128, 0:128].astype(np.float32)
    img = 130 + 40 * np.cos(xx / 9.0) * np.sin(yy / 13.0)
    for cx, cy, r in ((44, 50, 9), (84, 50, 9), (64, 100, 12)):  # eyes and mouth
        img[(xx - cx) ** 2 + ((yy - cy) * 1.6) ** 2 < r * r] -= 90
    rng = np.random.default_rng(0)
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


@pytest.fixture(params=_kernels.BACKENDS)
def backend(request) -> str:
    """Each kernel backend by name; unavailable ones are skipped with the reason."""
    if _kernels.load(request.param) is None:
        pytest.skip(f"{request.param} unavailable: {_kernels.status()[request.param]}")
    return request.param
