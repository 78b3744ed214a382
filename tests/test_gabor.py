"""The Gabor texture channel: its filter bank, energies and SVM inputs, and the model's use of them
(the kernel ``gabor_energy`` in every backend: ``test_gabor_kernel.py``)."""

from __future__ import annotations

import numpy as np
import pytest
from _striped_faces import SMALL, striped_faces

from dlfers import DLFERS, _kernels
from dlfers.features import gabor as G
from dlfers.features.texture import DEFAULT_WEIGHTS, fit_scale, parse_textures


def test_the_bank_is_one_octave_half_octave_apart_sampled_once_per_sigma():
    assert G.WAVELENGTHS[0] == 4 and G.WAVELENGTHS[-1] == 16
    np.testing.assert_allclose(np.diff(np.log2(G.WAVELENGTHS)), 0.5)
    # σ/λ of a one-octave half-amplitude bandwidth: (1/π)·sqrt(ln 2/2)·3
    assert G.SIGMA_RATIO == pytest.approx(0.5622, abs=1e-4)
    for w, s in zip(G.WAVELENGTHS, G.STRIDES):
        assert s <= G.SIGMA_RATIO * w < 2 * s and G.CELL % s == 0
    for w in G.WAVELENGTHS:
        taps = G.gabor_taps(w)
        r = int(np.ceil(G.REACH * G.SIGMA_RATIO * w))
        assert taps.shape == (8, 4, 2 * r + 1) and taps.dtype == np.float32 and not taps.flags.writeable
        ty, tx = taps[:, 0] + 1j * taps[:, 1], taps[:, 2] + 1j * taps[:, 3]
        np.testing.assert_allclose(np.abs(ty[:, r]), 1.0)  # unit peak, Hermitian taps
        np.testing.assert_allclose(ty[:, ::-1], np.conj(ty), atol=1e-7)
        np.testing.assert_allclose(tx[0].imag, np.sin(2 * np.pi * np.arange(-r, r + 1) / w)
                                   * np.abs(tx[0]), atol=1e-6)  # θ = 0: the x taps carry the carrier


def test_energies_of_a_face():
    k = _kernels.get("numpy")
    rng = np.random.default_rng(0)
    face = rng.uniform(0, 255, (128, 128)).astype(np.float32)
    e = G.gabor_energies(face, k)
    assert e.shape == (G.N_FILTERS, G.N_CELLS) == (40, 64) and e.dtype == np.float32 and (e > 0).all()
    # a 128-pixel face is resampled to 64: the same energies as its 2x2 means
    small = face.reshape(64, 2, 64, 2).mean(axis=(1, 3))
    np.testing.assert_allclose(G.gabor_energies(small, k), e, rtol=1e-4, atol=1e-6)
    # contrast and brightness do not change them (the face is normalised)
    np.testing.assert_allclose(G.gabor_energies(3 * face + 40, k), e, rtol=1e-4, atol=1e-6)
    assert not G.gabor_energies(np.full((64, 64), 7, np.float32), k).any()  # a flat face: zeros
    # vertical stripes excite the θ = 0 filters (carrier along x) most at the matching wavelength
    xx = np.tile(np.arange(64, dtype=np.float32), (64, 1))
    stripes = G.gabor_energies(np.sin(2 * np.pi * xx / 8).astype(np.float32), k).sum(axis=1).reshape(5, 8)
    assert np.unravel_index(np.argmax(stripes), stripes.shape) == (G.WAVELENGTHS.index(8.0), 0)


def test_svm_inputs_are_normalised_per_filter_and_cell_major():
    rng = np.random.default_rng(1)
    e = [rng.random((40, 64)).astype(np.float32) for _ in range(3)]
    h = G.gabor_histograms(e, 1.0)
    assert h.shape == (3, 2560) and h.dtype == np.float32
    cells = h.reshape(3, 64, 40)  # a cell's 40 filters side by side
    np.testing.assert_allclose(cells.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_allclose(cells[0, 5, 7], e[0][7, 5] / e[0][7].sum(), rtol=1e-5)
    np.testing.assert_allclose(G.gabor_histograms(e, 0.5, 2.0), 2.0 * h ** 0.5, rtol=1e-5)
    assert G.gabor_histograms([], 0.5).shape == (0, 2560)
    flat = G.gabor_histograms([np.zeros((40, 64), np.float32)], 0.5)
    assert not flat.any() and np.isfinite(flat).all()


def test_the_gabor_channel_is_fused_and_weighted_in_fit():
    faces, y = striped_faces(12, 0), np.array(["a", "b", "c"] * 4)
    m = DLFERS(**SMALL, texture="gabor").fit(faces, y)
    assert list(m.svms_) == ["tisf+tipm+gabor"] and m.spec().textures == ("gabor",)
    feats = m.extract(faces)
    assert all(set(f.texture) == {"gabor"} and f.texture["gabor"].shape == (40, 64) for f in feats)
    enc = m.encodings(feats)
    kinds = np.mean([enc["tisf"].sum(1).mean(), enc["tipm"].sum(1).mean()])
    # the channel's mean mass is DEFAULT_WEIGHTS["gabor"] times a descriptor kind's, learned from the training faces
    assert enc["gabor"].sum(1).mean() == pytest.approx(DEFAULT_WEIGHTS["gabor"] * kinds, rel=1e-4)
    two = DLFERS(**SMALL, texture="gabor", texture_weight=2.0).fit(faces, y)
    assert two.texture_scales_["gabor"] == pytest.approx(m.texture_scales_["gabor"] * 2 / DEFAULT_WEIGHTS["gabor"])
    unit = G.gabor_histograms([f.texture["gabor"] for f in feats], float(m.power))
    assert m.texture_scales_["gabor"] == pytest.approx(
        DEFAULT_WEIGHTS["gabor"] * fit_scale(unit, [m.encodings(feats)[k] for k in ("tisf", "tipm")]), rel=1e-5)
    both = DLFERS(**SMALL, texture="gabor+lbp").fit(faces, y)  # order-free: channels in a fixed order
    assert list(both.svms_) == ["tisf+tipm+lbp+gabor"] and parse_textures("gabor+lbp") == ("lbp", "gabor")
    assert m.predict([]).shape == (0,) and m.predict_proba(striped_faces(3, 1)).shape == (3, 3)


def test_shards_of_another_channel_are_refused():
    faces, y = striped_faces(9, 0), np.array(["a", "b", "c"] * 3)
    lbp = DLFERS(**SMALL, texture="lbp")
    with pytest.raises(ValueError, match="texture 'gabor' needs its values of every face"):
        DLFERS(**SMALL, texture="gabor").fit_features(lbp.extract(faces), y)


def test_each_gabor_cell_explains_into_the_finest_face_region_that_holds_it():
    from dlfers.features.regions import parse_layout
    from dlfers.model.evidence import _gabor_cell_regions

    grid4 = _gabor_cell_regions(parse_layout("whole+halves+grid4+fused+fused4")).reshape(8, 8)
    assert grid4[0, 0] == 3 and grid4[7, 7] == 18 and grid4[2, 5] == 3 + 4 + 2  # grid4 r1c2
    # levels that cover part of the face (Table 2's upper4 and lower4): each cell in its own part
    parts = _gabor_cell_regions(parse_layout("upper4+lower4+fused")).reshape(8, 8)
    np.testing.assert_array_equal(parts[::2, ::4], [[0, 1], [2, 3], [4, 5], [6, 7]])
    # a finer level only where it covers the cell, a coarser one elsewhere
    mixed = _gabor_cell_regions(parse_layout("halves+upper4")).reshape(8, 8)
    assert (mixed[4:] == 1).all() and mixed[0, 0] == 2 and mixed[3, 7] == 5
    assert not _gabor_cell_regions(parse_layout("fused")).any()  # no face level: the first region
