"""Dense descriptors on one 128x128 face: dlfers TISF/TIPM vs OpenCV SIFT and skimage HOG.

Each group ("descriptors step 2", "descriptors step 4") holds the contenders side by
side; ``python benchmarks/report.py`` prints the ratios.  OpenCV computes SIFT at
keypoints on the same grid with size 16/6, so that its 4x4 cells of 4 px span the same
16 px support as TISF; HOG uses 9 orientations, 8x8-pixel cells and 2x2-cell blocks.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import _kernels
from dlfers.features.descriptors import _check_spec, as_image, compute, dense_descriptors

STEPS = (2, 4)


@pytest.mark.parametrize("step", STEPS)
def test_tisf(benchmark, face, backend, step):
    benchmark.group = f"descriptors step {step}"
    points, desc = benchmark(dense_descriptors, face, "tisf", step, backend=backend)
    benchmark.extra_info["descriptors"] = int(desc.shape[0])
    assert desc.shape == (((128 - 16) // step + 1) ** 2, 128)


@pytest.mark.parametrize("step", STEPS)
def test_tipm(benchmark, face, step):
    benchmark.group = f"descriptors step {step}"
    points, desc = benchmark(dense_descriptors, face, "tipm", step)
    assert desc.shape == (((128 - 16) // step + 1) ** 2, 64)


VARIANTS = {"baseline": "", "avx2": _kernels.AVX2_SUFFIX}


@pytest.fixture(params=sorted(VARIANTS))
def variant(request):
    """(name, kernel namespace) of each CPU build of the cython kernels that runs here."""
    suffix = VARIANTS[request.param]
    if suffix and not _kernels.AVX2_NEEDS <= _kernels.cpu_features()[0]:
        pytest.skip("this CPU cannot run the AVX2 variant")
    try:
        return request.param, _kernels.cython_variant(suffix)
    except ImportError as exc:
        pytest.skip(f"{request.param} variant not built: {exc}")


def _descriptors_with(face, kind, step, k):
    """dense_descriptors(face, kind, step) on kernel namespace ``k`` (same validation and work)."""
    spec = _check_spec(kind, step, 4, 1.0, 0.2)
    return compute(as_image(face, min_size=spec.support), spec, k)


@pytest.mark.parametrize("kind", ["tisf", "tipm"])
@pytest.mark.parametrize("step", STEPS)
def test_variant(benchmark, face, variant, kind, step):
    name, k = variant
    benchmark.group = f"descriptors step {step}"
    benchmark.name = f"test_{kind}_variant[{name}]"
    benchmark.extra_info.update(kind=kind, variant=name, step=step)
    points, desc = benchmark(_descriptors_with, face, kind, step, k)
    benchmark.extra_info["descriptors"] = int(desc.shape[0])
    np.testing.assert_array_equal(desc, dense_descriptors(face, kind, step, backend="cython")[1])


@pytest.mark.parametrize("step", STEPS)
def test_opencv_sift(benchmark, face, step):
    cv2 = pytest.importorskip("cv2")
    benchmark.group = f"descriptors step {step}"
    points, _ = dense_descriptors(face, "tisf", step)
    keypoints = [cv2.KeyPoint(float(x), float(y), 16 / 6) for x, y in points]
    sift = cv2.SIFT_create()
    kps, desc = benchmark(sift.compute, face, keypoints)
    benchmark.extra_info["descriptors"] = int(desc.shape[0])
    assert desc.shape == (len(points), 128)


@pytest.mark.parametrize("step", STEPS)
def test_skimage_hog(benchmark, face, step):
    feature = pytest.importorskip("skimage.feature")
    benchmark.group = f"descriptors step {step}"
    img = face.astype(np.float32)
    h = benchmark(
        feature.hog, img, orientations=9, pixels_per_cell=(8, 8), cells_per_block=(2, 2), feature_vector=True
    )
    assert h.shape == (15 * 15 * 2 * 2 * 9,)
