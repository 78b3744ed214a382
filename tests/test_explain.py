"""Explanations: per-region evidence adds up exactly to the model's scores, agrees across backends,
lands where the classes differ, and the CLI writes PNG + JSON without overwriting anything."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
from conftest import FAST
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfers import DLFERS, _kernels
from dlfers.cli.main import main
from dlfers.explain.plots import draw_strongest_region, evidence_map
from dlfers.face.detect import FaceBox
from dlfers.features.regions import EYE_BLOCK, MOUTH_BLOCK
from dlfers.model.evidence import (
    EXPLAINABLE_KERNELS,
    explain_features,
    face_rects,
    region_boxes,
    region_names,
    svm_scores,
)

EXACT = 1e-9


# ----------------------------------------------------------------------------- JAFFE models
@pytest.fixture(scope="module")
def train_feats(jaffe_small):
    from _trained import _cache, fast_model

    fast_model(jaffe_small)  # fills the shared descriptor cache
    return _cache["feats"], jaffe_small[1]


@pytest.fixture(scope="module")
def heldout_feats(jaffe):
    """Descriptors of JAFFE images not in ``jaffe_small`` (every third image from the second)."""
    idx = np.arange(1, len(jaffe), 3)
    return DLFERS(**FAST).extract([jaffe.images[i] for i in idx], progress=False)


_models: dict[tuple[str, str, str], DLFERS] = {}


def _fitted(train_feats, kernel: str, fusion: str, backend: str = "numpy") -> DLFERS:
    key = (kernel, fusion, backend)
    if key not in _models:
        feats, y = train_feats
        _models[key] = DLFERS(**FAST, kernel=kernel, fusion=fusion, backend=backend).fit_features(feats, y)
    return _models[key]


@pytest.mark.parametrize("backend", ["numpy", "cython", "numba"])
@pytest.mark.parametrize("fusion", ["feature", "decision"])
@pytest.mark.parametrize("kernel", list(EXPLAINABLE_KERNELS))
def test_regions_plus_intercept_equal_the_decision_values(train_feats, heldout_feats, kernel, fusion, backend):
    # every backend's kernels add the SVM's terms in float64, so the model's own prediction
    # path and the per-region sums agree to rounding in the last bits
    from dlfers import _kernels

    if _kernels.load(backend) is None:
        pytest.skip(f"{backend} backend unavailable: {_kernels.status()[backend]}")
    model = _fitted(train_feats, kernel, fusion, backend)
    exps = explain_features(model, heldout_feats)
    assert len(exps) == len(heldout_feats)
    want = svm_scores(model, heldout_feats)  # the model's prediction path: ovo decisions summed per class
    labels, proba = model.predict_with_proba_features(heldout_feats)
    k = len(model.classes_)
    for e, w, lab, p in zip(exps, want, labels, proba):
        assert e.evidence.shape == (model.spec().n_regions, k) and e.evidence.dtype == np.float64
        np.testing.assert_allclose(e.evidence.sum(axis=0) + e.intercepts, w, rtol=0, atol=EXACT)
        np.testing.assert_allclose(e.decision_values, w, rtol=0, atol=EXACT)
        np.testing.assert_allclose(sum(e.evidence_by_kind.values()), e.evidence, rtol=0, atol=1e-12)
        assert set(e.evidence_by_kind) == set(model.spec().channels)
        assert e.label == lab
        np.testing.assert_allclose(e.probabilities, p, rtol=0, atol=1e-12)
    # the evidence is not trivially spread: the regions disagree
    assert np.ptp(exps[0].for_class()) > 1e-3


def test_the_score_is_the_summed_pairwise_decision_value(train_feats, heldout_feats):
    """For one SVM, score_c = Σ_p d_p·(+1 if c is the pair's first class, −1 if its second)."""
    model = _fitted(train_feats, "intersection", "feature")
    x = model.transform_features(heldout_feats[:5])
    svm = next(iter(model.svms_.values()))
    dec = svm.ovo_decision(x)
    k = len(model.classes_)
    want = np.zeros((5, k))
    p = 0
    for a in range(k):
        for b in range(a + 1, k):
            want[:, a] += dec[:, p]
            want[:, b] -= dec[:, p]
            p += 1
    got = np.array([e.decision_values for e in explain_features(model, heldout_feats[:5])])
    np.testing.assert_allclose(got, want, rtol=0, atol=EXACT)


def test_compiled_prediction_kernels_give_the_explained_labels(train_feats, heldout_feats):
    model = _fitted(train_feats, "intersection", "feature", backend="cython")
    exps = explain_features(model, heldout_feats)
    assert [e.label for e in exps] == model.predict_features(heldout_feats).tolist()


@pytest.mark.parametrize("kernel", ["intersection", "chi2"])
def test_the_arrays_are_the_same_under_the_three_backends(train_feats, heldout_feats, kernel):
    model = _fitted(train_feats, kernel, "feature")
    feats = heldout_feats[:8]
    base = explain_features(model, feats)
    for backend in ("numba", "cython"):
        if _kernels.load(backend) is None:
            pytest.skip(f"{backend} unavailable")
        other = copy.deepcopy(model).set_params(backend=backend)
        for a, b in zip(base, explain_features(other, feats)):
            assert a.label == b.label
            # the same histograms (up to the soft encoder's float32 exp) give the same sums
            np.testing.assert_allclose(b.evidence, a.evidence, rtol=1e-6, atol=1e-9)
            np.testing.assert_allclose(b.intercepts, a.intercepts, rtol=0, atol=1e-12)
            for kind in a.evidence_by_kind:
                np.testing.assert_allclose(b.evidence_by_kind[kind], a.evidence_by_kind[kind], rtol=1e-6, atol=1e-9)


def test_the_frame_and_face_entry_points(model, jaffe):
    img = jaffe.images[0]
    exps = model.explain(img)
    res = model.predict_image(img)
    assert len(exps) == len(res) == 1
    e = exps[0]
    assert e.box == res[0].box and e.label == res[0].label
    assert e.face is not None and e.face.shape == (model.face_size, model.face_size)
    crop = img[e.box.y : e.box.y + e.box.h, e.box.x : e.box.x + e.box.w]
    f = model.explain_faces([crop])[0]
    assert f.label == model.predict_faces([crop])[0]
    np.testing.assert_allclose(f.decision_values, f.evidence.sum(0) + f.intercepts, rtol=0, atol=EXACT)
    assert model.explain(np.zeros((200, 200), np.uint8)) == []  # no face: nothing to explain
    pro, con = e.top_regions(3)
    assert all(v > 0 for _, v in pro) and all(v < 0 for _, v in con)
    assert pro[0][0] == e.region_names[e.strongest_region()]
    d = json.loads(json.dumps(e.to_dict()))
    assert d["label"] == e.label and len(d["regions"]) == len(e.region_names)
    assert sum(r["evidence"][str(e.label)] for r in d["regions"]) + d["intercepts"][str(e.label)] == pytest.approx(
        d["decision_values"][str(e.label)], abs=EXACT)


def test_threads_explain_concurrently_with_the_same_results(model, jaffe):
    from concurrent.futures import ThreadPoolExecutor

    from dlfers.explain.plots import explanation_figure

    frames = [jaffe.images[i] for i in (0, 50, 100, 150)]
    want = [model.explain(f)[0] for f in frames]

    def work(i: int):
        e = model.explain(frames[i % 4])[0]
        explanation_figure(e)  # figures without pyplot's global state
        return e

    with ThreadPoolExecutor(4) as ex:
        got = list(ex.map(work, range(12)))
    for i, e in enumerate(got):
        np.testing.assert_array_equal(e.evidence, want[i % 4].evidence)


# ----------------------------------------------------------------------------- synthetic faces
def _synthetic_faces(n_per_class: int, seed: int) -> tuple[list[np.ndarray], np.ndarray]:
    """128x128 faces identical everywhere but in a box inside the mouth block: a smile or an open mouth."""
    import cv2

    rng = np.random.default_rng(0)  # the same face for every image and every call
    base = cv2.GaussianBlur(rng.uniform(60, 200, (128, 128)).astype(np.float32), (0, 0), 3)
    for cx in (40, 88):
        cv2.ellipse(base, (cx, 38), (12, 6), 0, 0, 360, 30, -1)  # eyes
    base = base.astype(np.uint8)
    r = np.random.default_rng(seed)
    images, labels = [], []
    for i in range(2 * n_per_class):
        img = base.copy()
        cx, cy = 64 + int(r.integers(-3, 4)), 112 + int(r.integers(-2, 3))
        w = int(r.integers(12, 17))
        if i % 2 == 0:  # a smile: a curve opening upwards
            cv2.ellipse(img, (cx, cy - 4), (w, 6), 0, 20, 160, 20, 2)
            labels.append("smile")
        else:  # an open mouth: a dark filled ellipse
            cv2.ellipse(img, (cx, cy + 2), (w - 4, int(r.integers(4, 7))), 0, 0, 360, 15, -1)
            labels.append("open")
        assert np.array_equal(img[:104], base[:104]) and np.array_equal(img[:, :40], base[:, :40])
        images.append(img)
    return images, np.array(labels)


def test_a_model_of_faces_differing_only_in_the_mouth_puts_its_evidence_there():
    layout = "whole+halves+grid4+eyes+mouth+fused2"
    # the descriptors alone: the Gabor channel normalises the whole face, so a change in the mouth
    # also moves every other cell's share a little (texture="none")
    params = dict(detect=False, face_size=64, layout=layout, step=4, n_words=4, max_samples=2000, backend="numpy",
                  texture="none")
    x, y = _synthetic_faces(15, seed=1)
    model = DLFERS(**params).fit(x, y)
    xt, yt = _synthetic_faces(6, seed=2)
    assert (model.predict(xt) == yt).mean() >= 0.9  # held-out faces: the mouth is learnt
    names, sources = region_names(layout)
    boxes = region_boxes(layout, 1)

    def overlaps_mouth(i: int) -> bool:
        mx0, my0, mx1, my1 = MOUTH_BLOCK
        return any(x0 < mx1 and mx0 < x1 and y0 < my1 and my0 < y1
                   for x0, y0, x1, y1 in face_rects(sources[i], tuple(boxes[i])))

    mouth = [i for i in range(len(names)) if overlaps_mouth(i)]
    elsewhere = [i for i in range(len(names)) if not overlaps_mouth(i)]
    assert {"mouth", "halves bottom", "fused2 bottom", "grid4 r3c1"} <= {names[i] for i in mouth}
    assert {"halves top", "eyes", "fused2 top", "grid4 r1c1"} <= {names[i] for i in elsewhere}
    exps = model.explain_faces(xt)
    want = svm_scores(model, model.face_batch(xt))  # two classes: scores (d, -d)
    np.testing.assert_allclose([e.decision_values for e in exps], want, rtol=0, atol=EXACT)
    np.testing.assert_allclose(want[:, 0], -want[:, 1], rtol=0, atol=1e-12)
    for e in exps:
        total = np.abs(e.evidence).sum()
        assert total > 0.1
        # identical histograms elsewhere: their kernel terms are one constant, and Σ dual coefficients = 0
        assert np.abs(e.evidence[elsewhere]).max() < 1e-9 * total
        assert e.strongest_region() in mouth
        assert e.for_class()[names.index("mouth")] != 0


def test_an_rbf_model_cannot_be_explained():
    x, y = _synthetic_faces(4, seed=3)
    model = DLFERS(detect=False, face_size=32, layout="whole", step=8, n_words=2, soft=1, kernel="rbf").fit(x, y)
    with pytest.raises(ValueError, match="rbf.*intersection, chi2, linear"):
        model.explain_faces(x[:1])
    with pytest.raises(ValueError, match="explainable kernels"):
        model.explain(x[0])


# ----------------------------------------------------------------------------- regions and pictures
def test_region_names_and_fused_regions_on_the_face():
    names, sources = region_names("whole+halves+grid4+fused+fused2")
    assert names[:4] == ("whole", "halves top", "halves bottom", "grid4 r0c0")
    assert names[3 + 16 :] == ("fused", "fused2 top", "fused2 bottom")
    assert sources.count("fused") == 3
    assert face_rects("fused", (0.0, 0.0, 1.0, 0.5)) == [EYE_BLOCK]
    bottom = face_rects("fused", (0.0, 0.5, 1.0, 1.0))
    np.testing.assert_allclose(bottom[0], MOUTH_BLOCK)
    assert len(face_rects("fused", (0.0, 0.0, 1.0, 1.0))) == 2


def test_evidence_map_adds_up_to_the_regions_evidence(model, jaffe):
    e = model.explain(jaffe.images[3])[0]
    for src in ("face", "fused"):
        m = evidence_map(e, src)
        want = sum(v for v, s in zip(e.for_class(), e.region_sources) if s == src)
        assert m.shape == (model.face_size, model.face_size)
        assert m.sum() == pytest.approx(want, rel=1e-9, abs=1e-12)


def test_draw_strongest_region_outlines_it_on_a_copy(model, jaffe):
    img = jaffe.images[5]
    e = model.explain(img)[0]
    frame = np.ascontiguousarray(np.stack([img] * 3, axis=-1))
    before = frame.copy()
    out = draw_strongest_region(frame, e.box, e)
    assert np.array_equal(frame, before)  # the input is not drawn on
    assert out.shape == frame.shape and out.dtype == np.uint8
    changed = np.any(out != frame, axis=-1)
    x0, y0, x1, y1 = e.face_rects(e.strongest_region())[0]
    px = int(round(e.box.x + x0 * e.box.w)), int(round(e.box.y + y0 * e.box.h))
    assert changed[px[1], px[0]]  # the outline's corner
    assert tuple(out[px[1], px[0]]) == (0, 0, 255)
    ys, xs = np.nonzero(changed)
    b = e.box
    assert xs.min() >= b.x - 2 and ys.min() >= b.y - 2 and xs.max() <= b.x + b.w + 2 and ys.max() <= b.y + b.h + 2
    gray = draw_strongest_region(img, FaceBox(*e.box.as_tuple()), e)
    assert gray.shape == img.shape + (3,)


# ----------------------------------------------------------------------------- the region-sum kernels
_SUMS = settings(max_examples=30, deadline=None)


@_SUMS
@given(seed=st.integers(0, 2**31 - 1), na=st.integers(0, 4), nb=st.integers(0, 5),
       sizes=st.lists(st.integers(0, 40), min_size=1, max_size=6), op=st.sampled_from([0, 1, 2]),
       sparse=st.booleans())
def test_region_sums_are_identical_under_the_three_backends(seed, na, nb, sizes, op, sparse):
    rng = np.random.default_rng(seed)
    dim = sum(sizes)
    a = rng.random((na, dim), dtype=np.float32)
    b = rng.random((nb, dim), dtype=np.float32)
    if sparse:
        a[a < 0.5] = 0
        b[b < 0.5] = 0
    for arr in (a, b):
        arr.setflags(write=False)
    bounds = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)
    ref = np.empty((na, nb, len(sizes)))
    _kernels.get("numpy").region_sums(a, b, bounds, op, ref)
    for backend in ("numba", "cython"):
        k = _kernels.load(backend)
        if k is None:
            continue
        out = np.full((na, nb, len(sizes)), np.nan)
        k.region_sums(a, b, bounds, op, out)
        np.testing.assert_array_equal(out, ref, err_msg=f"{backend} op {op}")
    # summed over regions: the whole kernel (float64 sums, reassociated)
    whole = np.empty((na, nb))
    if op == 0:
        whole = np.minimum(a[:, None, :], b[None]).astype(np.float64).sum(-1)
    elif op == 1:
        _kernels.get("numpy").chi2(a, b, whole)
    else:
        whole = a.astype(np.float64) @ b.astype(np.float64).T
    np.testing.assert_allclose(ref.sum(-1), whole, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- the command line
def test_cli_writes_png_and_json_refuses_to_overwrite_and_survives_a_bad_file(model_file, jaffe_file, tmp_path,
                                                                              capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not an image\n")
    out = tmp_path / "out"
    argv = ["explain", str(model_file), str(jaffe_file), str(bad), str(tmp_path / "missing.tiff"),
            "--out", str(out), "--json"]
    assert main(argv) == 0
    recs = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    by_file = {Path(r["file"]).name: r for r in recs}
    assert by_file[jaffe_file.name]["status"] == "ok"
    assert by_file["bad.png"]["status"] == "error" and "not a recognised image format" in by_file["bad.png"]["error"]
    assert by_file["missing.tiff"]["status"] == "error"
    png, js = out / f"{jaffe_file.stem}.face0.png", out / f"{jaffe_file.stem}.face0.json"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    d = json.loads(js.read_text())
    lab = d["label"]
    assert lab == by_file[jaffe_file.name]["label"]
    total = sum(r["evidence"][lab] for r in d["regions"]) + d["intercepts"][lab]
    assert total == pytest.approx(d["decision_values"][lab], abs=EXACT)
    assert sorted(p.name for p in out.iterdir()) == sorted([png.name, js.name])  # no temporary file left

    stamp = (png.stat().st_mtime_ns, js.read_bytes())
    assert main(argv[:-1]) == 1  # everything exists: nothing could be explained
    err = capsys.readouterr().err
    assert "would replace" in err and "--overwrite" in err  # said once, before any image is read
    assert (png.stat().st_mtime_ns, js.read_bytes()) == stamp
    assert main([*argv[:-1], "--overwrite"]) == 0
    capsys.readouterr()

    # two inputs with one stem do not write over each other
    other = tmp_path / "again"
    other.mkdir()
    (other / jaffe_file.name).symlink_to(jaffe_file)
    assert main(["explain", str(model_file), str(jaffe_file), str(other / jaffe_file.name), "--out",
                 str(tmp_path / "two")]) == 0
    assert (tmp_path / "two" / f"{jaffe_file.stem}-2.face0.json").exists()


def test_extract_stores_the_explanations_and_reads_them_back(model, model_file, jaffe_dir, tmp_path):
    from dlfers.store.extract import extract_dataset, load_features
    from dlfers.store.shards import load_explanations

    data = tmp_path / "data"
    data.mkdir()
    for f in sorted(jaffe_dir.glob("*.tiff"))[::40]:
        (data / f.name).symlink_to(f)
    out = tmp_path / "out"
    extract_dataset(data, out, model_file, batch_size=2, n_jobs=1, explain=True)
    got = load_explanations(out)
    feats = load_features(out)
    want = explain_features(model, feats.features)
    n = len(want)
    assert n == len(list(data.iterdir())) and got["evidence"].shape == (n, model.spec().n_regions, len(model.classes_))
    assert got["region_names"].tolist() == list(want[0].region_names)
    assert got["classes"].tolist() == [str(c) for c in model.classes_]
    assert got["predicted"].tolist() == [str(e.label) for e in want]
    np.testing.assert_array_equal(got["evidence"], np.array([e.evidence for e in want]))
    np.testing.assert_array_equal(got["evidence_tipm"], np.array([e.evidence_by_kind["tipm"] for e in want]))
    np.testing.assert_array_equal(got["decision_values"], np.array([e.decision_values for e in want]))
    np.testing.assert_allclose(got["evidence"].sum(1) + got["intercepts"], got["decision_values"], atol=EXACT)
    with pytest.raises(ValueError, match="fitted model"):
        extract_dataset(data, tmp_path / "o2", DLFERS(**FAST), n_jobs=1, explain=True)
    assert main(["extract", str(data), "--out", str(tmp_path / "o3"), "--model", str(model_file), "--explain",
                 "--jobs", "1"]) == 0
    np.testing.assert_array_equal(load_explanations(tmp_path / "o3")["evidence"], got["evidence"])


def test_cli_says_when_no_image_had_a_face(model_file, tmp_path, capsys):
    import cv2

    blank = tmp_path / "wall.png"
    cv2.imwrite(str(blank), np.full((240, 320), 128, np.uint8))
    assert main(["explain", str(model_file), str(blank), "--out", str(tmp_path / "out"), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert "no face" in captured.out and "no face found in any of the 1 image(s)" in captured.err
    assert not list((tmp_path / "out").glob("*.png"))
