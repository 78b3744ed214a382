"""The LBP texture channel on one 128x128 face: dlfers' region counts vs scikit-image.

Group "lbp texture": ``test_lbp_counts`` (every backend) gives the uniform-LBP counts of the
24 SPOF regions of the face and of its fused eyes+mouth image (:func:`dlfers.features.texture.lbp_counts`);
``test_skimage_lbp`` is what a user would write instead: ``skimage.feature.local_binary_pattern``
(8 neighbours, radius 1, "nri_uniform": the same 59 bins) on both images, then one
``np.bincount`` per region level.  ``python benchmarks/report.py`` prints the ratio.
"""

from __future__ import annotations

import numpy as np
import pytest

from dlfers import _kernels
from dlfers.features.regions import fused_image, interior_pixel_ids, parse_layout
from dlfers.features.texture import LBP_BINS, lbp_counts

LAYOUT = parse_layout("whole+halves+grid4+fused+fused4")


@pytest.fixture
def images(face):
    f = face.astype(np.float32)
    return [f, fused_image(f)]


def test_lbp_counts(benchmark, images, backend):
    benchmark.group = "lbp texture"
    k = _kernels.get(backend)
    counts = benchmark(lbp_counts, images, LAYOUT, k)
    assert counts.shape == (LAYOUT.n_regions, LBP_BINS) and counts[0].sum() == 126 * 126


@pytest.mark.filterwarnings("ignore:Applying .local_binary_pattern. to floating-point")
def test_skimage_lbp(benchmark, images):
    feature = pytest.importorskip("skimage.feature")
    benchmark.group = "lbp texture"
    ids = [interior_pixel_ids(LAYOUT, img.shape, s) for img, s in zip(images, LAYOUT.sources)]

    def run() -> np.ndarray:
        out = np.zeros(LAYOUT.n_regions * LBP_BINS)
        for img, idx in zip(images, ids):
            codes = feature.local_binary_pattern(img, 8, 1, "nri_uniform")[1:-1, 1:-1].astype(np.int64).ravel()
            for level in idx.T:
                ok = level >= 0
                out += np.bincount(level[ok] * LBP_BINS + codes[ok], minlength=out.size)
        return out.reshape(LAYOUT.n_regions, LBP_BINS)

    counts = benchmark(run)
    assert counts[0].sum() == 126 * 126
