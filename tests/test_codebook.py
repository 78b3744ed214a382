"""Codebooks (per class and global) and nearest-codeword region histograms."""

from __future__ import annotations

import numpy as np
import pytest

from dlfers.features.base import normalise_histograms
from dlfers.model.codebook import encode_histograms, encode_words, fit_codebook, pool_words, spof_histograms


def _blobs(seed=0, n=200, dim=16):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (4, dim)).astype(np.float32)
    lab = rng.integers(0, 4, n)
    return (centres[lab] + rng.normal(0, 0.1, (n, dim))).astype(np.float32), lab, centres


def test_encode_counts_nearest_words_per_region():
    x, lab, centres = _blobs()
    regions = np.stack([np.zeros(len(x), np.int32), (np.arange(len(x)) % 3 == 0).astype(np.int32) + 1], 1)
    regions[::7, 1] = -1  # some points in no region of the second level
    labels, hist = encode_histograms(x, regions, 3, centres)
    np.testing.assert_array_equal(labels, lab)
    np.testing.assert_array_equal(hist[0], np.bincount(lab, minlength=4))
    for r in (1, 2):
        np.testing.assert_array_equal(hist[r], np.bincount(lab[regions[:, 1] == r], minlength=4))
    assert hist.sum() == len(x) + (regions[:, 1] >= 0).sum()


def test_encode_rejects_bad_input():
    x = np.zeros((5, 4), np.float32)
    cb = np.zeros((3, 4), np.float32)
    with pytest.raises(ValueError, match="equal widths"):
        encode_histograms(x, np.zeros((5, 1), np.int32), 1, np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError, match="region ids"):
        encode_histograms(x, np.full((5, 1), 2, np.int32), 2, cb)
    with pytest.raises(ValueError, match="regions must be"):
        encode_histograms(x, np.zeros((4, 1), np.int32), 1, cb)
    x[0, 0] = np.nan
    with pytest.raises(ValueError, match="finite"):
        encode_histograms(x, np.zeros((5, 1), np.int32), 1, cb)


def test_global_codebook_finds_the_clusters():
    x, _, centres = _blobs()
    cb = fit_codebook([x[:100], x[100:]], None, 4, per_class=False)
    assert cb.shape == (4, 16) and cb.dtype == np.float32
    d = np.linalg.norm(cb[:, None] - centres[None], axis=2).min(axis=0)
    assert d.max() < 0.1


def test_per_class_codebook_stacks_words_in_class_order():
    x, _, centres = _blobs()
    per_image = [x[i : i + 10] for i in range(0, 200, 10)]
    labels = np.array(["b", "a"] * 10)
    cb = fit_codebook(per_image, labels, 4, per_class=True)
    assert cb.shape == (8, 16)
    a = np.concatenate([d for d, lab in zip(per_image, labels) if lab == "a"])
    # the first four words come from class "a" (sorted order): each is near an "a" descriptor
    near = np.linalg.norm(cb[:4, None] - a[None], axis=2).min(axis=1)
    assert near.max() < 1.0
    assert np.array_equal(cb, fit_codebook(per_image, labels, 4, per_class=True))  # seeded


def test_codebook_needs_labels_and_words():
    x, _, _ = _blobs()
    with pytest.raises(ValueError, match="labels"):
        fit_codebook([x], None, 3, per_class=True)
    with pytest.raises(ValueError, match="n_words"):
        fit_codebook([x], None, 0, per_class=False)


def test_normalise_histograms():
    h = np.array([[1, 3, 0], [0, 0, 0]], np.float32)
    np.testing.assert_allclose(normalise_histograms(h, 1.0), [0.25, 0.75, 0, 0, 0, 0])
    np.testing.assert_allclose(normalise_histograms(h, 0.5), [0.5, np.sqrt(0.75), 0, 0, 0, 0], rtol=1e-6)


def _regions(n, seed=1):
    rng = np.random.default_rng(seed)
    r = np.stack([np.zeros(n, np.int32), rng.integers(-1, 5, n).astype(np.int32)], 1)
    return r


def test_pooling_cached_words_equals_the_encoders_histogram():
    """pool_words is the encoder's pooling, count for count: a cache of words loses nothing."""
    x, _, centres = _blobs(n=500)
    cb = np.vstack([centres, centres + 0.5]).astype(np.float32)
    regions = _regions(len(x))
    labels, hist = encode_histograms(x, regions, 5, cb)
    np.testing.assert_array_equal(encode_words(x, cb), labels)
    np.testing.assert_array_equal(pool_words(labels.astype(np.int16), regions, 5, cb.shape[0]), hist)
    with pytest.raises(ValueError, match="words must lie"):
        pool_words(labels + cb.shape[0], regions, 5, cb.shape[0])


def test_spof_histograms_from_words_equal_those_from_descriptors():
    x, _, centres = _blobs(n=300)
    parts = [x[:100], x[100:180], x[180:]]
    regions = [_regions(len(p), seed=i) for i, p in enumerate(parts)]
    direct = spof_histograms(parts, regions, 5, centres, 0.5)
    cached = spof_histograms(parts, regions, 5, centres, 0.5, words=[encode_words(p, centres) for p in parts])
    assert direct.shape == (3, 5 * 4) and direct.dtype == np.float32
    np.testing.assert_array_equal(direct, cached)
    want = normalise_histograms(encode_histograms(parts[1], regions[1], 5, centres)[1], 0.5)
    np.testing.assert_array_equal(direct[1], want)
