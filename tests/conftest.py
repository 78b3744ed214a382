"""Shared fixtures: the data folder (``$DLFERS_DATA`` or ``../shared/data``), JAFFE, and the
CPU variants of the compiled kernels."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest


def data_dir() -> Path:
    env = os.environ.get("DLFERS_DATA")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "data"


@pytest.fixture(scope="session")
def jaffe_dir() -> Path:
    path = data_dir() / "jaffe"
    if not path.is_dir():
        pytest.skip(f"JAFFE not found at {path} (set DLFERS_DATA to the folder holding jaffe/)")
    return path


@pytest.fixture(scope="session")
def jaffe(jaffe_dir):
    from dlfers import load_jaffe

    return load_jaffe(jaffe_dir)


@pytest.fixture(scope="session")
def jaffe_file(jaffe_dir) -> Path:
    return jaffe_dir / "KA.HA1.29.tiff"


#: a small, fast configuration for tests that train models (not the paper's)
FAST = dict(face_size=64, layout="whole+halves+fused", descriptors="tisf+tipm", step=4, n_words=8,
            max_samples=2000)


@pytest.fixture(scope="session")
def jaffe_small(jaffe):
    """Every third JAFFE image (71 images, all subjects and classes)."""
    idx = np.arange(0, len(jaffe), 3)
    return [jaffe.images[i] for i in idx], jaffe.labels[idx], jaffe.subjects[idx]


@pytest.fixture(scope="session")
def model(jaffe_small):
    """A small model (``FAST``) fitted on ``jaffe_small``: shared, read-only (deepcopy to change it)."""
    from _trained import fast_model

    return fast_model(jaffe_small)


@pytest.fixture(scope="session")
def model_file(model, tmp_path_factory) -> Path:
    """``model`` saved to a file."""
    path = tmp_path_factory.mktemp("model") / "fast.dlfers"
    model.save(path)
    return path


@pytest.fixture(params=("numba", "cython"))
def k(request):
    """Each compiled backend's kernel namespace (numba, cython); skipped, saying why, where one is unavailable."""
    from dlfers import _kernels

    ns = _kernels.load(request.param)
    if ns is None:
        pytest.skip(f"{request.param} backend unavailable: {_kernels.status()[request.param]}")
    return ns


@pytest.fixture(scope="session")
def variants():
    """(baseline, avx2) Cython kernel namespaces (the CPU variants of runtime dispatch);
    skipped, saying why, where one cannot run."""
    from dlfers import _kernels

    try:
        base = _kernels.cython_variant("")
    except ImportError as exc:
        pytest.skip(f"Cython kernels not built: {exc}")
    if not _kernels.AVX2_NEEDS <= _kernels.cpu_features()[0]:
        pytest.skip(f"this CPU cannot run the AVX2 variant (features: {sorted(_kernels.cpu_features()[0])})")
    try:
        avx2 = _kernels.cython_variant(_kernels.AVX2_SUFFIX)
    except ImportError as exc:
        pytest.skip(f"no AVX2 variant in this build ({exc})")
    return base, avx2
