"""The LBP texture channel: its kernel in every backend, its region counts, and the model's use of it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from _striped_faces import SMALL, striped_faces
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dlfers import DLFERS, _kernels
from dlfers._kernels._reference_lbp import LBP_BINS, LBP_UNIFORM, lbp_codes
from dlfers.features.regions import fused_image, parse_layout
from dlfers.features.texture import fit_scale, lbp_counts, pixel_cells, texture_counts

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
LAYOUT = "whole+halves+grid4+fused+fused4"


def _image(seed: int, h: int, w: int, mode: str) -> np.ndarray:
    rng = np.random.default_rng(seed)
    if mode == "constant":
        return np.full((h, w), 7.0, np.float32)
    if mode == "levels":  # many ties between neighbours
        return rng.integers(0, 3, (h, w)).astype(np.float32)
    return rng.uniform(0, 255, (h, w)).astype(np.float32)


def test_uniform_table():
    uniform = LBP_UNIFORM < 58
    assert uniform.sum() == 58 and LBP_BINS == 59
    assert list(LBP_UNIFORM[uniform]) == list(range(58))  # bins in increasing pattern order
    for p in (0, 255, 0b00000001, 0b10000001, 0b00111100, 0b11100000):
        assert uniform[p], p
    for p in (0b00000101, 0b01010101, 0b10010010):
        assert not uniform[p], p


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(3, 60), w=st.integers(3, 60),
       mode=st.sampled_from(["uniform", "levels", "constant"]))
def test_patterns_are_scikit_images(seed, h, w, mode):
    """The definition is scikit-image's LBP_{8,1}, bit for bit (diagonal neighbours interpolated)."""
    feature = pytest.importorskip("skimage.feature")
    img = _image(seed, h, w, mode)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-image's note on floating-point images
        want = feature.local_binary_pattern(img.astype(np.float64), 8, 1, "default")[1:-1, 1:-1]
    np.testing.assert_array_equal(lbp_codes(img), want.astype(np.int32))


@pytest.mark.parametrize("backend", ["numpy", "numba", "cython"])
def test_cardinal_neighbours_set_their_bits(backend):
    k = _kernels.load(backend)
    if k is None:
        pytest.skip(f"{backend} backend unavailable")
    for bits in (0b00000001, 0b00000100, 0b01010000, 0b01000101):
        img = np.full((3, 3), 100.0, np.float32)  # diagonal neighbours below the centre: bits 1, 3, 5, 7 clear
        img[1, 1] = 50.0 + 40.0  # ... because the corners pull them down
        img[0, 0] = img[0, 2] = img[2, 0] = img[2, 2] = 0.0
        for b, (dy, dx) in enumerate([(0, 1), (-1, 0), (0, -1), (1, 0)]):
            img[1 + dy, 1 + dx] = 95.0 if bits >> (2 * b) & 1 else 10.0
        out = np.zeros((1, LBP_BINS), np.float32)
        k.lbp_histograms(img, np.zeros(1, np.int32), out)
        assert lbp_codes(img)[0, 0] == bits
        want = np.zeros(LBP_BINS, np.float32)
        want[LBP_UNIFORM[bits]] = 1
        np.testing.assert_array_equal(out[0], want)


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 40), w=st.integers(1, 40),
       mode=st.sampled_from(["uniform", "levels", "constant"]), n_cells=st.integers(1, 6))
def test_lbp_kernels_match_reference(k, seed, h, w, mode, n_cells):
    img = _image(seed, h, w, mode)
    n = max(h - 2, 0) * max(w - 2, 0)
    cells = np.random.default_rng(seed).integers(-1, n_cells, n).astype(np.int32)
    want = np.full((n_cells, LBP_BINS), 3.0, np.float32)  # the kernels add to what is there
    got = want.copy()
    _kernels.get("numpy").lbp_histograms(img, cells, want)
    k.lbp_histograms(img, cells, got)
    np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape", [(128, 128), (64, 64), (37, 50)])
def test_region_counts_are_the_pixels_of_each_region(shape):
    lay = parse_layout(LAYOUT)
    face = _image(1, *shape, "uniform")
    counts = lbp_counts([face, fused_image(face)], lay, _kernels.get("numpy"))
    assert counts.shape == (lay.n_regions, LBP_BINS)
    interior = (shape[0] - 2) * (shape[1] - 2)
    assert counts[0].sum() == interior  # "whole": every interior pixel once
    assert counts[1].sum() + counts[2].sum() == interior  # the two halves split them
    assert counts[3:19].sum() == interior  # so do the 16 grid cells
    cells, member = pixel_cells(lay, shape, "face")
    assert cells.shape == (interior,) and member.shape[0] == lay.n_regions and not cells.flags.writeable
    assert counts[19].sum() == interior  # the fused image's "fused" region


def test_backends_give_the_same_counts_on_a_face():
    face = _image(3, 128, 128, "uniform")
    face[40:60, 40:60] = 100.0  # flat skin: long runs of one pattern
    want = lbp_counts([face, fused_image(face)], LAYOUT, _kernels.get("numpy"))
    for name in ("numba", "cython"):
        k = _kernels.load(name)
        if k is not None:
            np.testing.assert_array_equal(lbp_counts([face, fused_image(face)], LAYOUT, k), want)


def test_fit_scale_equalises_mean_mass():
    rng = np.random.default_rng(0)
    tex, a, b = rng.random((20, 30)), rng.random((20, 50)), rng.random((20, 80))
    s = fit_scale(tex, [a, b])
    assert np.isclose((tex * s).sum(1).mean(), np.mean([a.sum(1).mean(), b.sum(1).mean()]))
    assert fit_scale(np.zeros((3, 4)), [a]) == 1.0


def test_features_without_counts_are_named():
    from dlfers.features.base import Features

    f = Features(descriptors={}, regions=np.zeros((0, 1), np.int32), found=True, box=None)
    with pytest.raises(ValueError, match="item 1 has none"):
        texture_counts([Features({}, f.regions, True, None, texture={"lbp": np.zeros((1, 59))}), f])
    with pytest.raises(ValueError, match="features of another layout"):
        texture_counts([Features({}, f.regions, True, None, texture={"lbp": np.zeros((1, 59))})], "lbp", 24)




def test_the_texture_channel_is_fused_and_its_weight_learned_in_fit():
    faces, y = striped_faces(12, 0), np.array(["a", "b", "c"] * 4)
    m = DLFERS(**SMALL, texture="lbp").fit(faces, y)
    assert list(m.svms_) == ["tisf+tipm+lbp"] and m.spec().channels == ("tisf", "tipm", "lbp")
    feats = m.extract(faces)
    assert all(set(f.texture) == {"lbp"} and f.texture["lbp"].shape == (24, LBP_BINS) for f in feats)
    enc = m.encodings(feats)
    # the weight is learned from the training histograms: the channel's mean mass equals the kinds'
    assert np.isclose(enc["lbp"].sum(1).mean(), np.mean([enc["tisf"].sum(1).mean(), enc["tipm"].sum(1).mean()]),
                      rtol=1e-4)
    scale = m.texture_scales_["lbp"]
    m.predict(striped_faces(5, 1))  # prediction does not refit it
    assert m.predict([]).shape == (0,) and m.predict_proba([]).shape == (0, 3)  # an empty batch
    assert m.texture_scales_["lbp"] == scale
    other = DLFERS(**SMALL, texture="lbp").fit(faces[:9], y[:9])
    assert other.texture_scales_["lbp"] != scale
    off = DLFERS(**SMALL, texture="none").fit(faces, y)  # the paper's descriptors only
    assert list(off.svms_) == ["tisf+tipm"] and off.extract(faces[:1])[0].texture == {}
    with pytest.raises(ValueError, match="item 0 has none"):  # features without counts are named
        m.predict_features(off.extract(faces[:1]))
    for bad in ("hog", "lbp+lbp", "", None):
        with pytest.raises(ValueError, match="texture must be 'none' or"):
            DLFERS(texture=bad).spec()
    for bad in (0, -1.0, float("nan"), True, "2"):
        with pytest.raises(ValueError, match="texture_weight must be"):
            DLFERS(texture="lbp", texture_weight=bad).spec()


@pytest.mark.parametrize("texture", ["lbp", "gabor", "lbp+gabor"])
def test_saved_model_keeps_the_texture_weight(tmp_path, texture):
    from dlfers.model.loading import load

    faces, y = striped_faces(12, 0), np.array(["a", "b", "c"] * 4)
    m = DLFERS(**SMALL, texture=texture).fit(faces, y)
    m.save(tmp_path / "m.dlfers")
    m2 = load(tmp_path / "m.dlfers")
    assert m2.texture_scales_ == m.texture_scales_ and set(m.texture_scales_) == set(texture.split("+"))
    test = striped_faces(4, 2)
    np.testing.assert_array_equal(m2.predict_proba(test), m.predict_proba(test))


@pytest.mark.parametrize("fusion", ["feature", "decision"])
@pytest.mark.parametrize("texture", ["lbp", "gabor", "lbp+gabor"])
def test_explanations_cover_the_texture_channel_exactly(fusion, texture):
    from dlfers.model.evidence import explain_features, svm_scores

    faces, y = striped_faces(15, 0), np.array(["a", "b", "c"] * 5)
    m = DLFERS(**SMALL, texture=texture, fusion=fusion).fit(faces, y)
    feats = m.extract(striped_faces(4, 3))
    want = svm_scores(m, feats)
    for e, w in zip(explain_features(m, feats), want):
        assert set(e.evidence_by_kind) == {"tisf", "tipm", *texture.split("+")}
        np.testing.assert_allclose(e.evidence.sum(axis=0) + e.intercepts, w, rtol=0, atol=1e-9)
        for kind in texture.split("+"):
            assert np.abs(e.evidence_by_kind[kind]).max() > 0


def test_extracted_shards_keep_the_texture_counts(jaffe_dir, tmp_path):
    from dlfers.store.extract import extract_dataset, load_features

    data = tmp_path / "data"
    data.mkdir()
    for f in sorted(jaffe_dir.glob("*.tiff"))[::20][:8]:
        (data / f.name).symlink_to(f)
    model = DLFERS(face_size=64, n_words=3, max_samples=500, texture="lbp+gabor")
    extract_dataset(data, tmp_path / "out", model, batch_size=3, n_jobs=1)
    got = load_features(tmp_path / "out")
    from dlfers.data.folders import load_dataset

    want = model.extract(load_dataset(data).images)
    assert len(got.features) == len(want) == 8
    for g, w in zip(got.features, want, strict=True):
        assert set(g.texture) == set(w.texture) == {"lbp", "gabor"}
        for kind in ("lbp", "gabor"):
            np.testing.assert_array_equal(g.texture[kind], w.texture[kind])
    fitted = model.fit_features(got.features, got.labels)  # a texture model trains from the shards
    assert list(fitted.svms_) == ["tisf+tipm+lbp+gabor"]


@SETTINGS
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(3, 70), w=st.integers(3, 70),
       mode=st.sampled_from(["uniform", "levels", "constant"]))
def test_cpu_variants_agree_bitwise(variants, seed, h, w, mode):
    """The baseline (SSE2) and AVX2 builds of the vectorised row loop count the same patterns."""
    img = _image(seed, h, w, mode)
    cells = np.random.default_rng(seed).integers(-1, 4, (h - 2) * (w - 2)).astype(np.int32)
    outs = []
    for ns in variants:
        out = np.zeros((4, LBP_BINS), np.float32)
        ns.lbp_histograms(img, cells, out)
        outs.append(out)
    np.testing.assert_array_equal(outs[0], outs[1])
    want = np.zeros((4, LBP_BINS), np.float32)
    _kernels.get("numpy").lbp_histograms(img, cells, want)
    np.testing.assert_array_equal(outs[0], want)
