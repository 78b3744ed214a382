"""SPOF embedding (paper Sec. 3.3): k-means codebooks and nearest-codeword histograms.

The paper clusters the descriptors of each expression separately ("figures extracted
from all images of a particular emotion are initially grouped"), giving D words per
class; ``per_class=False`` learns one global codebook of D words instead.  Encoding
assigns each descriptor its nearest word and counts words per region.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .. import _kernels
from .._kernels._reference import quantise_q8
from .._util.threads import one_thread_per_pool, single_threaded_blas
from ..features.base import normalise_histograms

__all__ = ["fit_codebook", "encode_histograms", "encode_words", "pool_words",
           "spof_histograms", "codeword_sqnorms", "quantise_codebook", "PRECISIONS"]

#: the word assignment's arithmetic: "float32" (the paper's) or "int8" (descriptors and words
#: quantised to 7 bits, exact integer distances; see ``_kernels._reference.encode_soft_q8``)
PRECISIONS = ("float32", "int8")
#: the widest descriptor the int8 assignment takes (its products stay exact integers below 2^24 in float32)
_Q8_MAX_DIM = 1024


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
    max_samples : int, default=20000
        Descriptors sampled per k-means run (per class when ``per_class``).
    per_class : bool, default=True
        One k-means per class (the paper), or one over all descriptors.
    random_state : int, default=0
        Seed of the sampling and of k-means.

    Returns
    -------
    (K, dim) float32 codebook, K = D x n_classes or D; classes in sorted order.
    """
    from sklearn.cluster import KMeans

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
        with one_thread_per_pool():
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
    precision: str = "float32",
    code_q8: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Nearest codeword(s) of every descriptor and word counts (or weights) per region.

    Parameters
    ----------
    descriptors : (N, dim) float32.
    regions : (N, L) int32 region ids in [-1, n_regions).
    codebook : (K, dim) float32.
    check_finite : bool, default=True
        Check that descriptors and codebook hold no NaN or inf (skip only for
        arrays known to be finite, such as the kernels' own descriptors of a validated image).
    soft : int, default=1
        1 for hard assignment (one count for the nearest word); s > 1 for localised
        soft assignment: the s nearest words share one unit of weight, w ∝ exp(−β d²)
        relative to the nearest (Liu et al., ICCV 2011; see ``_reference.encode_soft``).
    beta : float, default=10.0
        The soft weights' sharpness β (for unit-norm descriptors).
    precision : {'float32', 'int8'}, default='float32'
        "float32", or "int8": descriptors and words (values in [0, 1]) quantised to
        round(127 v) and compared by exact integer distances (the word of a descriptor that
        float32 puts within about 1/127 of another may differ; about 1.6x faster with AVX-512
        VNNI, 1.3x with AVX2).
    code_q8 : tuple of (ndarray, ndarray) or None, default=None
        :func:`quantise_codebook` of ``codebook``, if the caller keeps it (int8 only).
    n_regions : int
        Number of regions R.
    code_sqnorm : ndarray of shape (K,) or None, default=None
        :func:`codeword_sqnorms` of ``codebook``, if the caller keeps it.
    backend : str or None, default='auto'
        Kernel backend (:mod:`dlfers._kernels`; "auto" or None: the first available).

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
    if not 1 <= int(soft) <= c.shape[0]:
        raise ValueError(f"soft must lie in [1, {c.shape[0]}] (the number of words), got {soft}")
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    hist = np.zeros((n_regions, c.shape[0]), np.float32)
    k = _kernels.get(backend)  # loads the kernels (and their BLAS) before the limit below
    if precision == "int8":
        if x.shape[1] > _Q8_MAX_DIM:
            raise ValueError(f"int8 word assignment takes descriptors of at most {_Q8_MAX_DIM} values, "
                             f"got {x.shape[1]}")
        cq, csq = quantise_codebook(c) if code_q8 is None else code_q8
        idx = np.empty((x.shape[0], int(soft)), np.int32)
        w = np.empty((x.shape[0], int(soft)), np.float32)
        with single_threaded_blas():
            k.encode_soft_q8(x, cq, csq, r, float(beta), idx, w, hist)
        return np.ascontiguousarray(idx[:, 0]), hist
    sqn = np.require(codeword_sqnorms(c) if code_sqnorm is None else code_sqnorm, np.float32, "C")
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


def codeword_sqnorms(codebook: np.ndarray) -> np.ndarray:
    """‖c‖² of every word of a (K, dim) float32 codebook: (K,) float32 (the encoder's constant term).

    Parameters
    ----------
    codebook : ndarray of shape (K, dim), dtype float32
        The codebook.

    Returns
    -------
    ndarray of shape (K,), dtype float32
        Squared norms of its words.
    """
    sq: np.ndarray = np.einsum("ij,ij->i", codebook, codebook).astype(np.float32)
    return sq


def quantise_codebook(codebook: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (K, dim) float32 codebook for the int8 word assignment.

    Parameters
    ----------
    codebook : ndarray of shape (K, dim), dtype float32
        Words with values in [0, 1].

    Returns
    -------
    cq : (K, 4·⌈dim/4⌉) uint8, round(127 c) clamped to [0, 127], zero-padded.
    csq : (K,) int32 squared norms of the rows of ``cq``.
    """
    c = np.asarray(codebook, np.float32)
    cq = np.zeros((c.shape[0], 4 * ((c.shape[1] + 3) // 4)), np.uint8)

    cq[:, : c.shape[1]] = quantise_q8(c)
    csq = (cq.astype(np.int32) ** 2).sum(axis=1, dtype=np.int32)
    return cq, csq


def encode_words(
    descriptors: np.ndarray, codebook: np.ndarray, code_sqnorm: np.ndarray | None = None, backend: str | None = "auto"
) -> np.ndarray:
    """Nearest codeword (N,) int32 of every descriptor (N, dim), as :func:`encode_histograms` assigns it.

    With :func:`pool_words`, the two halves of :func:`encode_histograms`: a caller that pools
    one image's words into several layouts encodes once and pools each time.

    Parameters
    ----------
    descriptors : ndarray of shape (N, dim), dtype float32
        Descriptors.
    codebook : ndarray of shape (K, dim), dtype float32
        The codebook.
    code_sqnorm : ndarray of shape (K,) or None, default=None
        :func:`codeword_sqnorms` of ``codebook``, if the caller keeps it.
    backend : str or None, default='auto'
        Kernel backend (:mod:`dlfers._kernels`; "auto" or None: the first available).

    Returns
    -------
    ndarray of shape (N,), dtype int32
        Nearest word of each descriptor (ties to the lowest index).
    """
    d = np.require(descriptors, np.float32, "C")
    labels, _ = encode_histograms(d, np.empty((d.shape[0], 0), np.int32), 1, codebook, code_sqnorm, backend)
    return labels


def pool_words(labels: np.ndarray, regions: np.ndarray, n_regions: int, n_words: int) -> np.ndarray:
    """Word counts per region, (n_regions, n_words) float32, of words ``labels`` (N,) at points ``regions`` (N, L).

    Equal, count for count, to the histogram :func:`encode_histograms` returns for the same
    words (a point counts once in each level's region; -1 is no region).

    Parameters
    ----------
    labels : ndarray of shape (N,)
        Word of each point.
    regions : ndarray of shape (N, L), dtype int32
        Region ids of each point per level (-1: none).
    n_regions : int
        Number of regions.
    n_words : int
        Codebook size K.

    Returns
    -------
    ndarray of shape (n_regions, n_words), dtype float32
        Word counts per region.

    Raises
    ------
    ValueError
        Mismatched lengths, or words or region ids out of range.
    """
    lab = np.asarray(labels).astype(np.int64, copy=False)
    r = np.asarray(regions)
    if lab.ndim != 1 or r.ndim != 2 or r.shape[0] != lab.shape[0]:
        raise ValueError(f"expected (N,) words and (N, L) regions, got {lab.shape} and {r.shape}")
    if lab.size and (lab.min() < 0 or lab.max() >= n_words):
        raise ValueError(f"words must lie in [0, {n_words}), got [{lab.min()}, {lab.max()}]")
    if r.size and (r.min() < -1 or r.max() >= n_regions):
        raise ValueError(f"region ids must lie in [-1, {n_regions}), got [{r.min()}, {r.max()}]")
    flat = (r.astype(np.int64) * n_words + lab[:, None])[r >= 0]
    counts = np.bincount(flat, minlength=n_regions * n_words).astype(np.float32)
    return counts.reshape(n_regions, n_words)


def spof_histograms(
    descriptors: Sequence[np.ndarray],
    regions: Sequence[np.ndarray],
    n_regions: int,
    codebook: np.ndarray,
    power: float,
    backend: str | None = "auto",
    code_sqnorm: np.ndarray | None = None,
    words: Sequence[np.ndarray] | None = None,
    check_finite: bool = True,
    soft: int = 1,
    beta: float = 10.0,
    precision: str = "float32",
    code_q8: tuple[np.ndarray, np.ndarray] | None = None,
) -> np.ndarray:
    """The SPOF encoding stage: each image's normalised region histograms, one row per image.

    Parameters
    ----------
    descriptors : sequence of ndarray
        Per image, (N_i, dim) float32 descriptors of one kind.
    regions : sequence of ndarray
        Per image, (N_i, L) int32 region ids (see :func:`dlfers.features.regions.region_ids`).
    n_regions : int
        The layout's region count R.
    codebook : (K, dim) float32.
    power : float
        Power normalisation (see :func:`normalise_histograms`).
    code_sqnorm : ndarray of shape (K,) or None, default=None
        :func:`codeword_sqnorms` of ``codebook``, if the caller keeps it.
    words : sequence of ndarray or None, default=None
        Per image, (N_i,) nearest words already found with :func:`encode_words` on this
        codebook (a cache); they are pooled instead of encoding again (the same counts).
    check_finite, soft, beta, precision, code_q8 : optional
        As :func:`encode_histograms` takes them, with its defaults (``words``
        is for float32 hard assignment only: soft assignment needs the distances).
    backend : str or None, default='auto'
        Kernel backend (:mod:`dlfers._kernels`; "auto" or None: the first available).

    Returns
    -------
    (n_images, R·K) float32.
    """
    if words is not None and (int(soft) != 1 or precision != "float32"):
        raise ValueError("cached nearest words can only be pooled for float32 hard assignment (soft=1)")
    k = codebook.shape[0]
    # each precision's constant term of the codebook, once for every image
    if precision == "int8":
        sq = code_sqnorm
        code_q8 = quantise_codebook(codebook) if code_q8 is None else code_q8
    else:
        sq = codeword_sqnorms(codebook) if code_sqnorm is None else code_sqnorm
    out = np.empty((len(regions), n_regions * k), np.float32)
    with single_threaded_blas():  # entered once here, not once per image
        for i, r in enumerate(regions):
            if words is not None:
                hist = pool_words(words[i], r, n_regions, k)
            else:
                _, hist = encode_histograms(descriptors[i], r, n_regions, codebook, sq, backend,
                                            check_finite=check_finite, soft=soft, beta=beta, precision=precision,
                                            code_q8=code_q8)
            out[i] = normalise_histograms(hist, power)
    return out
