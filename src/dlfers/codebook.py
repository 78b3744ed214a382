"""SPOF embedding (paper Sec. 3.3): k-means codebooks and nearest-codeword histograms.

The paper clusters the descriptors of each expression separately ("figures extracted
from all images of a particular emotion are initially grouped"), giving D words per
class; ``per_class=False`` learns one global codebook of D words instead.  Encoding
assigns each descriptor its nearest word and counts words per region.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from . import _kernels
from ._threads import single_threaded_blas

__all__ = ["fit_codebook", "encode_histograms", "normalise_histograms"]


def _sample(arrays: Sequence[np.ndarray], n: int, rng: np.random.Generator) -> np.ndarray:
    """About ``n`` rows drawn evenly from each array, without replacement."""
    total = sum(a.shape[0] for a in arrays)
    if total <= n:
        return np.concatenate(arrays)
    per = max(1, n // len(arrays))
    parts = []
    for a in arrays:
        k = min(per, a.shape[0])
        parts.append(a[rng.choice(a.shape[0], k, replace=False)])
    return np.concatenate(parts)


def fit_codebook(
    descriptors: Sequence[np.ndarray],
    labels: np.ndarray | None,
    n_words: int,
    per_class: bool = True,
    max_samples: int = 20000,
    random_state: int = 0,
) -> np.ndarray:
    """Learn a k-means codebook from per-image descriptor arrays.

    Parameters
    ----------
    descriptors : one (N_i, dim) float32 array per training image.
    labels : (n_images,) class labels (needed when ``per_class``).
    n_words : D, words per class (``per_class``) or in all.
    max_samples : descriptors sampled per k-means run (per class when ``per_class``).

    Returns
    -------
    (K, dim) float32 codebook, K = D x n_classes or D; classes in sorted order.
    """
    from sklearn.cluster import KMeans
    from threadpoolctl import threadpool_limits

    if n_words < 1:
        raise ValueError(f"n_words must be >= 1, got {n_words}")
    rng = np.random.default_rng(random_state)
    if per_class:
        if labels is None:
            raise ValueError("per_class codebooks need the training labels")
        labels = np.asarray(labels)
        groups = [[d for d, lab in zip(descriptors, labels) if lab == c] for c in np.unique(labels)]
    else:
        groups = [list(descriptors)]
    words = []
    for g in groups:
        x = _sample(g, max_samples, rng).astype(np.float32, copy=False)
        k = min(n_words, x.shape[0])
        km = KMeans(n_clusters=k, n_init=1, max_iter=100, random_state=int(rng.integers(2**31 - 1)))
        # a few thousand samples: one thread is as fast, and OpenMP threads spin badly
        # when other processes (parallel folds) hold the other cores
        with threadpool_limits(1):
            km.fit(x)
        words.append(km.cluster_centers_.astype(np.float32))
    return np.ascontiguousarray(np.concatenate(words), dtype=np.float32)


def _all_finite(a: np.ndarray) -> bool:
    """No NaN or ±inf in ``a``, without an ``a``-sized temporary (min and max propagate NaN)."""
    return a.size == 0 or bool(np.isfinite(a.min()) and np.isfinite(a.max()))


def encode_histograms(
    descriptors: np.ndarray,
    regions: np.ndarray,
    n_regions: int,
    codebook: np.ndarray,
    code_sqnorm: np.ndarray | None = None,
    backend: str | None = "auto",
    check_finite: bool = True,
    soft: int = 1,
    beta: float = 10.0,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest codeword(s) of every descriptor and word counts (or weights) per region.

    Parameters
    ----------
    descriptors : (N, dim) float32.
    regions : (N, L) int32 region ids in [-1, n_regions).
    codebook : (K, dim) float32.
    check_finite : check that descriptors and codebook hold no NaN or inf (skip only for
        arrays known to be finite, such as the kernels' own descriptors of a validated image).
    soft : 1 for hard assignment (one count for the nearest word); s > 1 for localised
        soft assignment: the s nearest words share one unit of weight, w ∝ exp(−β d²)
        relative to the nearest (Liu et al., ICCV 2011; see ``_reference.encode_soft``).
    beta : the soft weights' sharpness β (for unit-norm descriptors).

    Returns
    -------
    labels : (N,) int32 nearest word (ties to the lowest index).
    hist : (n_regions, K) float32 word counts (hard) or summed weights (soft).

    Raises
    ------
    ValueError
        Mismatched shapes, dtypes or region ids out of range.
    """
    x = np.require(descriptors, np.float32, "C")
    c = np.require(codebook, np.float32, "C")
    r = np.require(regions, np.int32, "C")
    if x.ndim != 2 or c.ndim != 2 or x.shape[1] != c.shape[1]:
        raise ValueError(f"descriptors {x.shape} and codebook {c.shape} must be 2-D with equal widths")
    if c.shape[0] < 1:
        raise ValueError("codebook has no words")
    if r.ndim != 2 or r.shape[0] != x.shape[0]:
        raise ValueError(f"regions must be (N, L) with N={x.shape[0]}, got {r.shape}")
    if r.size and (r.min() < -1 or r.max() >= n_regions):
        raise ValueError(f"region ids must lie in [-1, {n_regions}), got [{r.min()}, {r.max()}]")
    if check_finite and not (_all_finite(x) and _all_finite(c)):
        raise ValueError("descriptors and codebook must be finite")
    if code_sqnorm is None:
        code_sqnorm = np.einsum("ij,ij->i", c, c).astype(np.float32)
    if not 1 <= int(soft) <= c.shape[0]:
        raise ValueError(f"soft must lie in [1, {c.shape[0]}] (the number of words), got {soft}")
    hist = np.zeros((n_regions, c.shape[0]), np.float32)
    k = _kernels.get(backend)  # loads the kernels (and their BLAS) before the limit below
    sqn = np.require(code_sqnorm, np.float32, "C")
    if int(soft) == 1:
        labels = np.empty(x.shape[0], np.int32)
        with single_threaded_blas():
            k.encode(x, c, sqn, r, labels, hist)
        return labels, hist
    idx = np.empty((x.shape[0], int(soft)), np.int32)
    w = np.empty((x.shape[0], int(soft)), np.float32)
    with single_threaded_blas():
        k.encode_soft(x, c, sqn, r, float(beta), idx, w, hist)
    return np.ascontiguousarray(idx[:, 0]), hist


def normalise_histograms(hist: np.ndarray, power: float = 0.5) -> np.ndarray:
    """Per-region L1 normalisation, then a power law (0.5: Hellinger), flattened.

    Parameters
    ----------
    hist : (R, K) counts.

    Returns
    -------
    (R·K,) float32; each region's block sums to 1 before the power (an empty region is 0).
    """
    s = hist.sum(axis=1, keepdims=True)
    h: np.ndarray = np.divide(hist, s, out=np.zeros_like(hist, dtype=np.float32), where=s > 0)
    if power != 1.0:
        h = np.power(h, power, dtype=np.float32)
    return h.reshape(-1).astype(np.float32)
