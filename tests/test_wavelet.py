"""The wavelet LL subband: the Haar fast path agrees with PyWavelets."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfers.features.wavelet import ll_subband


def _pywt_ll(img: np.ndarray, wavelet: str, level: int) -> np.ndarray:
    pywt = pytest.importorskip("pywt")
    out = img.astype(np.float32)
    for _ in range(level):
        out = pywt.dwt2(out, wavelet, mode="periodization")[0] / 2.0
    return out


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), level=st.integers(1, 3), hb=st.integers(1, 12), wb=st.integers(1, 12),
       wavelet=st.sampled_from(["haar", "db1"]), uint8=st.booleans())
def test_haar_fast_path_matches_pywavelets(seed, level, hb, wb, wavelet, uint8):
    rng = np.random.default_rng(seed)
    shape = (hb * 2**level, wb * 2**level)
    img = rng.integers(0, 256, shape).astype(np.uint8) if uint8 else rng.random(shape, dtype=np.float32) * 255
    got = ll_subband(img, wavelet, level)
    assert got.dtype == np.float32 and got.shape == (hb, wb) and got.flags.c_contiguous
    np.testing.assert_allclose(got, _pywt_ll(img, "haar", level), rtol=0, atol=1e-4)


@pytest.mark.parametrize("shape, wavelet", [((33, 40), "haar"), ((32, 32), "db2"), ((30, 18), "sym3")])
def test_other_shapes_and_wavelets_use_pywavelets(shape, wavelet):
    img = np.random.default_rng(0).random(shape, dtype=np.float32) * 255
    np.testing.assert_allclose(ll_subband(img, wavelet, 1), _pywt_ll(img, wavelet, 1), rtol=1e-6, atol=1e-4)


def test_level_zero_is_the_image():
    img = np.arange(12, dtype=np.uint8).reshape(3, 4)
    out = ll_subband(img, "haar", 0)
    assert out.dtype == np.float32
    np.testing.assert_array_equal(out, img)
