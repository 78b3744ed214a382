"""Wavelet reduction: keep the low-low (LL) subband (paper Sec. 3.1)."""

from __future__ import annotations

import numpy as np

__all__ = ["ll_subband"]


def ll_subband(img: np.ndarray, wavelet: str = "haar", level: int = 1) -> np.ndarray:
    """LL subband of ``level`` DWT levels, rescaled to the input's intensity range.

    Parameters
    ----------
    img : ndarray
        (H, W) float32 or uint8; H and W divisible by 2**level keep the size exact.
    wavelet : str, default='haar'
        Any PyWavelets discrete wavelet name ("haar", "db2", ...).
    level : int, default=1
        Number of decomposition levels (0 returns the image as float32).

    Returns
    -------
    (H / 2**level, W / 2**level) float32 (periodised transform).
    """
    out = np.asarray(img, dtype=np.float32)
    if level <= 0:
        return np.ascontiguousarray(out)
    if wavelet in ("haar", "db1") and out.ndim == 2 and all(n % 2**level == 0 for n in out.shape):
        return _haar_ll(out, level)
    import pywt

    w = pywt.Wavelet(wavelet)
    gain = float(np.sum(w.dec_lo))  # sqrt(2) for orthonormal wavelets
    for _ in range(level):
        out, _ = pywt.dwt2(out, w, mode="periodization")
        out = out / (gain * gain)
    return np.ascontiguousarray(out, dtype=np.float32)


def _haar_ll(img: np.ndarray, level: int) -> np.ndarray:
    """The Haar LL subband, rescaled: the mean of each 2x2 block, ``level`` times.

    Equal to PyWavelets' ``dwt2(..., "haar", mode="periodization")[0] / 2`` up to float32
    rounding (within 1e-4 on a 0-255 image), about 40x faster: OpenCV's area resize by
    exactly one half averages each 2x2 block.
    """
    import cv2

    out = img
    for _ in range(level):
        h, w = out.shape
        out = cv2.resize(out, (w // 2, h // 2), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(out, dtype=np.float32)
