"""The fit of ``classifier="linear"``: codebooks and linear SVMs from features streamed in chunks.

Memory stays bounded by a chunk's descriptors plus the training histograms (sparse, float32):
the descriptors of 30,000 faces (gigabytes) are never held at once.  Two passes over the
chunks:

1. each face (and its mirror image, with ``mirror``) gives a fixed number of randomly chosen
   descriptors per kind (``max_samples`` per k-means run spread evenly over the faces of
   each class, at least one per face; the choice is seeded by the face's index, so it does
   not depend on the chunking), and the codebooks are fitted on them
   (:func:`dlfers.model.codebook.fit_codebook`);
2. each face's SPOF histograms and texture channels are encoded and kept as CSR rows; then
   the texture channels' weights are learned, and one :class:`~dlfers.model.linear.LinearMapSVC`
   per SVM input of the fusion rule is trained.

:meth:`DLFERS.fit <dlfers.DLFERS.fit>` streams frames through it; :meth:`DLFERS.fit_features`
gives it precomputed features as one chunk, with the same result.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

import numpy as np

from .. import _kernels
from .._util.progress import progress_counter
from ..features.base import Features
from ..features.texture import fit_scales
from . import stages
from .classify import fusion_inputs
from .codebook import fit_codebook
from .linear import LinearMapSVC, additive_map, map_width

__all__ = ["CHUNK", "fit_linear", "sample_quota"]

#: faces per chunk of :meth:`DLFERS.fit` with ``classifier="linear"``
CHUNK = 512

Chunks = Callable[[], Iterable[tuple[int, Sequence[Features]]]]


def sample_quota(labels: np.ndarray, per_class: bool, max_samples: int) -> np.ndarray:
    """Descriptors drawn from each face for its k-means run: (n,) int64, at least 1.

    Parameters
    ----------
    labels : ndarray of shape (n,)
        The training labels (mirror images included).
    per_class : bool
        One k-means run per class (quota by the class's count) or one in all.
    max_samples : int
        Descriptors per k-means run.

    Returns
    -------
    ndarray of shape (n,), int64
    """
    labels = np.asarray(labels)
    if per_class:
        _, inv, counts = np.unique(labels, return_inverse=True, return_counts=True)
        per = counts[inv]
    else:
        per = np.full(len(labels), len(labels))
    quota: np.ndarray = np.maximum(1, int(max_samples) // np.maximum(per, 1)).astype(np.int64)
    return quota


def _rows(desc: np.ndarray, k: int, seed: tuple[int, ...]) -> np.ndarray:
    if desc.shape[0] <= k:
        return desc
    rng = np.random.default_rng(seed)
    return desc[np.sort(rng.choice(desc.shape[0], k, replace=False))]


def _with_flips(model: Any, feats: Sequence[Features], start: int, n: int) -> list[tuple[int, Features]]:
    """(global index, features) of a chunk's faces and, with ``mirror``, of their flips (index n + i)."""
    out = [(start + j, f) for j, f in enumerate(feats)]
    if model.mirror:
        both, _ = stages.mirrored(feats, np.zeros(len(feats)), model.spec())
        out += [(n + start + j, f) for j, f in enumerate(both[len(feats):])]
    return out


def fit_linear(model: Any, chunks: Chunks, y: np.ndarray, progress: bool = False) -> Any:
    """Fit ``model``'s codebooks and linear SVMs (``classifier="linear"``) from streamed features.

    Parameters
    ----------
    model : DLFERS
        The estimator being fitted (its parameters are read, its fitted attributes set).
    chunks : callable
        Returns an iterable of ``(start, features)`` that covers the training faces in order
        (``start``: the index of the chunk's first face); it is called twice.
    y : ndarray of shape (n,)
        The training labels.
    progress : bool, default=False
        Show a progress bar per pass.

    Returns
    -------
    DLFERS
        ``model``, fitted.
    """
    import scipy.sparse as sp

    spec = model.spec()
    y = np.asarray(y)
    n = len(y)
    model.classes_ = np.unique(y)
    if len(model.classes_) < 2:
        raise ValueError(f"need at least 2 classes to fit, got {len(model.classes_)}")
    labels = np.concatenate([y, y]) if model.mirror else y
    total = len(labels)
    quota = sample_quota(labels, bool(model.per_class), int(model.max_samples))
    seed = int(model.random_state)
    samples: dict[str, list[Any]] = {kind: [None] * total for kind in spec.kinds}
    seen = np.zeros(total, bool)
    bar = progress_counter(n, desc="descriptors for the codebooks", disable=not progress)
    for start, feats in chunks():
        for idx, f in _with_flips(model, feats, start, n):
            for i, kind in enumerate(spec.kinds):
                samples[kind][idx] = _rows(f.descriptors[kind], int(quota[idx]), (seed, i, idx))
            seen[idx] = True
        bar.update(len(feats))
        del feats  # before the next chunk is described
    bar.close()
    if not seen.all():
        raise ValueError(f"the feature chunks gave {int(seen.sum())} of {total} faces")
    model.codebooks_ = {kind: fit_codebook(samples[kind], labels, int(model.n_words), bool(model.per_class),
                                           int(model.max_samples), seed + i)
                        for i, kind in enumerate(spec.kinds)}
    del samples
    model.texture_scales_ = {}
    # the SVM inputs of the fusion rule: every channel in one SVM, or one SVM per channel
    groups = [name.split("+") for name in fusion_inputs({ch: np.zeros((0, 1)) for ch in spec.channels},
                                                        str(model.fusion))]
    kernel = str(model.kernel)
    raw: list[Any] = [None] * len(groups)  # (total, width) float32, or CSR chunks (originals, flips)
    widths: dict[str, int] = {}
    sums = {ch: np.zeros(total) for ch in spec.channels}  # row sums: the texture channels' weights
    bar = progress_counter(n, desc="histograms", disable=not progress)
    for start, feats in chunks():
        m = len(feats)
        rows = np.arange(start, start + m)
        rows = np.concatenate([rows, rows + n]) if model.mirror else rows
        enc = model.encodings([f for _, f in _with_flips(model, feats, start, n)])
        for ch, x in enc.items():
            sums[ch][rows] = x.sum(axis=1, dtype=np.float64)
            widths[ch] = x.shape[1]
        for g, chans in enumerate(groups):
            x = np.hstack([enc[ch] for ch in chans]) if len(chans) > 1 else enc[chans[0]]
            if raw[g] is None:  # soft assignment fills most bins: a dense array costs less than CSR
                dense = np.count_nonzero(x) >= 0.3 * x.size
                raw[g] = np.zeros((total, x.shape[1]), np.float32) if dense else ([], [])
            if isinstance(raw[g], np.ndarray):
                raw[g][rows] = x
            else:
                raw[g][0].append(sp.csr_matrix(x[:m]))
                raw[g][1].append(sp.csr_matrix(x[m:]))
        bar.update(m)
        del feats, enc
    bar.close()
    # texture weights from the training rows' sums (all fit_scales reads), applied before the map
    model.texture_scales_ = fit_scales({ch: v[:, None] for ch, v in sums.items()}, spec.kinds, spec.textures,
                                       model.texture_weight)
    solver = "liblinear" if _kernels.resolve(model.backend) == "numpy" else "numba"
    model.svms_ = {}
    for g, chans in enumerate(groups):
        x = raw[g]
        raw[g] = None
        if not isinstance(x, np.ndarray):
            x = sp.vstack(x[0] + x[1], format="csr", dtype=np.float32)
        width = sum(widths[ch] for ch in chans)
        factor = np.concatenate([np.full(widths[ch], model.texture_scales_.get(ch, 1.0), np.float32) for ch in chans])
        if (factor != 1).any():
            if isinstance(x, np.ndarray):
                x *= factor
            else:
                x = (x @ sp.diags(factor)).tocsr().astype(np.float32)
        if kernel != "linear":  # the map, a block of rows at a time (the identity map needs no copy)
            x = _mapped(x, kernel)
        svm = LinearMapSVC(kernel, float(model.C), True, seed, solver=solver)
        if progress:  # the solver reports nothing while it runs: say what it does and how long it took
            import sys
            import time

            print(f"linear SVM ({'+'.join(chans)}): {x.shape[0]:,} faces x {x.shape[1]:,} values, one-vs-rest "
                  f"{len(model.classes_)} classes, C={model.C} (temperature on a held-out fifth, then all)...",
                  file=sys.stderr, flush=True)
            t0 = time.perf_counter()
        model.svms_["+".join(chans)] = svm.fit_mapped(x, labels, width)
        if progress:
            print(f"linear SVM: {time.perf_counter() - t0:.0f} s, {int(svm.n_epochs_.max())} passes at most",
                  file=sys.stderr, flush=True)
        del x
    model.n_features_in_ = int(model.face_size) ** 2
    return model


def _mapped(x: Any, kernel: str, block: int = 2048) -> Any:
    """:func:`dlfers.model.linear.additive_map` of every row of ``x`` (dense or CSR), a block of rows at a
    time into one array, so the map's float64 temporaries stay small."""
    import scipy.sparse as sp

    if sp.issparse(x):
        return sp.vstack([additive_map(x[a : a + block], kernel) for a in range(0, x.shape[0], block)],
                         format="csr", dtype=np.float32)
    out = np.empty((x.shape[0], map_width(x.shape[1], kernel)), np.float32)
    for a in range(0, x.shape[0], block):
        out[a : a + block] = additive_map(x[a : a + block], kernel)
    return out
