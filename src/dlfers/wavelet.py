"""Wavelet reduction: keep the low-low (LL) subband (paper Sec. 3.1)."""

from __future__ import annotations

import numpy as np

__all__ = ["ll_subband"]


def ll_subband(img: np.ndarray, wavelet: str = "haar", level: int = 1) -> np.ndarray:
    """LL subband of ``level`` DWT levels, rescaled to the input's intensity range.

    Parameters
    ----------
    img : (H, W) float32 or uint8; H and W divisible by 2**level keep the size exact.
    wavelet : any PyWavelets discrete wavelet name ("haar", "db2", ...).
    level : number of decomposition levels (0 returns the image as float32).

    Returns
    -------
    (H / 2**level, W / 2**level) float32 (periodised transform).
    """
    out = np.asarray(img, dtype=np.float32)
    if level <= 0:
        return np.ascontiguousarray(out)
    import pywt

    w = pywt.Wavelet(wavelet)
    gain = float(np.sum(w.dec_lo))  # sqrt(2) for orthonormal wavelets
    for _ in range(level):
        out, _ = pywt.dwt2(out, w, mode="periodization")
        out = out / (gain * gain)
    return np.ascontiguousarray(out, dtype=np.float32)
