"""The Gabor texture channel: Gabor energies of the face pooled over a grid of cells.

The face is resampled to 64×64 and normalised (zero mean, unit variance); a bank of complex
Gabor filters, 8 orientations × 5 wavelengths from 4 to 16 pixels in half-octave steps, each
with a circular Gaussian envelope one octave wide (σ = 0.56 λ) truncated at 3σ, is applied with
the borders reflected, and the magnitude of each response, read every 2, 4 or 8 pixels (at least
once per σ), is averaged over 8×8-pixel cells: (40, 64) energies per face.  Each filter's 64 cells
are normalised to sum 1 and raised to the model's ``power``, and the SVM sees the 2560 values
beside the descriptors' histograms.

Gabor energies are the classic representation of facial expressions (Lyons et al., FG 1998, who
built JAFFE for them; Bartlett et al., CVPR 2005, 8 orientations × half-octave wavelengths with an
SVM on Cohn-Kanade).  Nothing here is learned; the channel's weight is (:func:`dlfers.features.texture.fit_scale`).
"""

from __future__ import annotations

import functools
from typing import Any

import numpy as np

__all__ = ["KIND", "SIZE", "WAVELENGTHS", "ORIENTATIONS", "SIGMA_RATIO", "STRIDES", "CELL", "N_FILTERS", "N_CELLS",
           "gabor_taps", "gabor_energies", "gabor_histograms"]

#: the channel's name among the SVM inputs
KIND = "gabor"
#: side of the resampled face the filters run on, pixels
SIZE = 64
#: wavelengths (pixels per cycle at SIZE) and orientations (θ = oπ/8) of the bank
WAVELENGTHS = tuple(float(4 * 2 ** (s / 2)) for s in range(5))
ORIENTATIONS = 8
#: σ / λ of a one-octave bandwidth: (1/π)·sqrt(ln 2 / 2)·(2 + 1)/(2 - 1)
SIGMA_RATIO = float(np.sqrt(np.log(2) / 2) * 3 / np.pi)
#: taps reach 3σ; each wavelength's response magnitudes are read every STRIDES pixels (the largest
#: power of 2 not above σ: the envelope is sampled at least once per σ) and averaged over CELL×CELL pixels
REACH = 3.0
STRIDES = tuple(int(2 ** np.floor(np.log2(SIGMA_RATIO * w))) for w in WAVELENGTHS)
CELL = 8
N_FILTERS = ORIENTATIONS * len(WAVELENGTHS)
N_CELLS = (SIZE // CELL) ** 2


@functools.cache
def gabor_taps(wavelength: float) -> np.ndarray:
    """(8, 4, 2r+1) float32 separable taps of one wavelength's filters (the kernel's ``taps``).

    The complex Gabor exp(-(x² + y²)/2σ²)·exp(2πi(x cos θ + y sin θ)/λ) is the outer product of a
    y filter and an x filter, read-only.
    """
    sigma = SIGMA_RATIO * wavelength
    r = int(np.ceil(REACH * sigma))
    t = np.arange(-r, r + 1, dtype=np.float64)
    env = np.exp(-t * t / (2 * sigma * sigma))
    taps = np.empty((ORIENTATIONS, 4, t.size), np.float32)
    for o in range(ORIENTATIONS):
        theta = np.pi * o / ORIENTATIONS
        ty = env * np.exp(2j * np.pi * np.sin(theta) * t / wavelength)
        tx = env * np.exp(2j * np.pi * np.cos(theta) * t / wavelength)
        taps[o] = (ty.real, ty.imag, tx.real, tx.imag)
    taps.setflags(write=False)
    return taps


def gabor_energies(face: np.ndarray, k: Any) -> np.ndarray:
    """Gabor energies (40, 64) float32 of a validated (H, W) float32 face: filter (wavelength-major,
    then orientation) × 8×8-pixel cell (row-major) of the 64×64 resampled face; ``k``: a kernel
    backend (:func:`dlfers._kernels.get`).  A flat face gives zeros.

    Parameters
    ----------
    face : ndarray of shape (H, W), dtype float32
        A validated face.
    k : kernel namespace
        A kernel backend's functions (:func:`dlfers._kernels.get`).

    Returns
    -------
    ndarray of shape (40, 64), dtype float32
        Energy per filter and cell.
    """
    import cv2

    x = face if face.shape == (SIZE, SIZE) else cv2.resize(face, (SIZE, SIZE), interpolation=cv2.INTER_AREA)
    mean, sd = (float(v[0, 0]) for v in cv2.meanStdDev(x))  # in float64
    z = np.zeros((SIZE, SIZE), np.float32)
    if sd > 1e-6:
        np.multiply(np.subtract(x, np.float32(mean), out=z), np.float32(1 / sd), out=z)
    out = np.empty((N_FILTERS, N_CELLS), np.float32)
    for s, (wavelength, stride) in enumerate(zip(WAVELENGTHS, STRIDES)):
        k.gabor_energy(z, gabor_taps(wavelength), stride, CELL, out[s * ORIENTATIONS : (s + 1) * ORIENTATIONS])
    return out


def gabor_histograms(energies: list[np.ndarray], power: float, scale: float = 1.0) -> np.ndarray:
    """SVM inputs (n, 2560) float32 of :func:`gabor_energies` arrays: each filter's cells normalised
    to sum 1, raised to ``power``, times ``scale``, cell-major (a cell's 40 values side by side, as the
    explanations group them); no faces give (0, 2560).

    Parameters
    ----------
    energies : list of ndarray of shape (40, 64)
        One :func:`gabor_energies` array per face.
    power : float
        Power normalisation exponent.
    scale : float, default=1.0
        The channel's weight.

    Returns
    -------
    ndarray of shape (n, 2560), dtype float32
        SVM inputs.
    """
    if not energies:
        return np.zeros((0, N_FILTERS * N_CELLS), np.float32)
    e = np.stack(energies).astype(np.float32)
    total = e.sum(axis=2, keepdims=True)
    e = np.divide(e, total, out=np.zeros_like(e), where=total > 0)
    if power != 1.0:
        e **= np.float32(power)
    h = np.ascontiguousarray(e.transpose(0, 2, 1)).reshape(len(energies), -1)
    if scale != 1.0:
        h *= np.float32(scale)
    return h
