"""dlfers' Haar cascade (``dlfers.face.haar``, kernel ``haar_scan``) gives OpenCV's boxes, exactly.

Three checks: every implementation of the kernel (NumPy reference, Numba, Cython in its plain C,
and AVX2 paths and both CPU builds) gives the same verdicts and integral images on random
cascades and images; ``HaarCascade.detectMultiScale`` gives the boxes of
``cv2.CascadeClassifier.detectMultiScale`` on the synthetic detection set, for the settings the
detectors use; and files the kernel cannot evaluate are refused with their path named.
"""

from __future__ import annotations

import functools
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from dlfers import _kernels
from dlfers.face.haar import Cascade, HaarCascade, cascade_path, detect_multiscale, load_cascade

cv2 = pytest.importorskip("cv2")
# dlfers' own copies (OpenCV 5's cv2/data is empty)
DEFAULT = cascade_path("haarcascade_frontalface_default.xml")
ALT2 = cascade_path("haarcascade_frontalface_alt2.xml")  # two-node trees, 20x20
EYE = cascade_path("haarcascade_eye.xml")  # stumps, 20x20 (eye alignment)
#: the tests that compare with OpenCV's own classifier (OpenCV 5 has none)
needs_opencv_classifier = pytest.mark.skipif(not hasattr(cv2, "CascadeClassifier"),
                                             reason="this OpenCV has no CascadeClassifier to compare with")


def _random_cascade(rng: np.random.Generator, n_stages: int, per_stage: int, trees: bool, window: int = 24) -> Cascade:
    """Random rectangles inside the window, stumps (and alt2's two-node trees), thresholds spread so that
    windows fail at every stage."""
    n_weak = n_stages * per_stage
    shapes = rng.integers(0, 3, n_weak).astype(np.uint8) if trees else np.zeros(n_weak, np.uint8)
    n = int(np.where(shapes == 0, 1, 2).sum())
    rects = np.zeros((n, 3, 4), np.int32)
    weights = np.zeros((n, 3), np.float32)
    for s in range(n):
        for j in range(int(rng.integers(1, 4))):
            x, y = rng.integers(0, window - 1, 2)
            w, h = rng.integers(1, window - x + 1), rng.integers(1, window - y + 1)
            rects[s, j] = (x, y, w, h)
            weights[s, j] = rng.choice([-1.0, 2.0, 3.0, -0.5])
    thresholds = rng.normal(0, 0.02, n).astype(np.float32)
    leaves = rng.normal(0, 1, (n_weak, 3)).astype(np.float32)
    sizes = np.full(n_stages, per_stage, np.int32)
    stage_thr = rng.normal(-0.3, 0.5, n_stages).astype(np.float32)
    return Cascade((window, window), rects, weights, thresholds, shapes, leaves, sizes, stage_thr)


def _scan(kern, img, cas: Cascade, ystep: int, stride: int):
    h, w = img.shape
    nx, ny = -(-(w + 1 - cas.window[0]) // ystep), -(-(h + 1 - cas.window[1]) // ystep)
    sums = np.full((h + 1, stride), 7, np.int32)
    squares = np.full((h + 1, stride), 7, np.uint32)
    out = np.full((ny, nx), 9, np.uint8)
    kern.haar_scan(img, cas.window[0], cas.window[1], ystep, cas.offsets(stride)[ystep - 1], cas.weights,
                   cas.thresholds, cas.shapes, cas.leaves, cas.stage_sizes, cas.stage_thresholds, sums, squares, out)
    return out, sums, squares


def _implementations():
    """(name, kernel namespace) of every implementation that can run here."""
    impls = [("numpy", _kernels.load("numpy"))]
    for name in ("numba", "cython"):
        ns = _kernels.load(name)
        if ns is not None:
            impls.append((name, ns))
    try:
        impls.append(("cython baseline build", _kernels.cython_variant("")))
        if _kernels.AVX2_NEEDS <= _kernels.cpu_features()[0]:
            impls.append(("cython avx2 build", _kernels.cython_variant(_kernels.AVX2_SUFFIX)))
    except ImportError:
        pass
    return impls


@settings(max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), h=st.integers(24, 70), w=st.integers(24, 90), ystep=st.sampled_from([1, 2]),
       pad=st.sampled_from([1, 9, 64, 80]), flat=st.booleans(), stages=st.integers(1, 4), per=st.integers(1, 6),
       trees=st.booleans())
def test_every_implementation_gives_the_same_verdicts(seed, h, w, ystep, pad, flat, stages, per, trees):
    rng = np.random.default_rng(seed)
    cas = _random_cascade(rng, stages, per, trees)
    img = rng.integers(0, 256, (h, w)).astype(np.uint8)
    if flat:  # flat patches: windows the normalisation rejects
        img[: h // 2] = 100 + rng.integers(0, 3, (h // 2, w)).astype(np.uint8)
    stride = w + 1 + pad
    stride += stride & 1 if ystep == 2 else 0  # the ystep-2 layout halves an even stride
    want = None
    for name, kern in _implementations():  # pad >= 64: the AVX2 path, else plain C
        got = _scan(kern, img, cas, ystep, stride)
        if want is None:
            want = got
            continue
        for a, b, what in zip(want, got, ("verdicts", "sums", "squares")):
            np.testing.assert_array_equal(a, b, err_msg=f"{name}: {what} differ from the NumPy reference")


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), n_layers=st.integers(1, 4), trees=st.booleans())
def test_layers_in_one_call_equal_layer_by_layer(seed, n_layers, trees):
    """``haar_scan_layers`` (the whole pyramid in one call) gives each layer's ``haar_scan`` verdicts, in every
    implementation; layers of either step, some whose rows stop short (OpenCV's stripes)."""
    rng = np.random.default_rng(seed)
    cas = _random_cascade(rng, 2, 3, trees)
    sizes = [(int(rng.integers(24, 60)), int(rng.integers(24, 60))) for _ in range(n_layers)]
    steps = [int(rng.integers(1, 3)) for _ in sizes]
    stride = max(w for _, w in sizes) + 64
    stride += stride & 1
    imgs = [rng.integers(0, 256, (h, w)).astype(np.uint8) for h, w in sizes]
    want, rows = [], []
    for img, ystep in zip(imgs, steps):
        full = _scan(_kernels.load("numpy"), img, cas, ystep, stride)[0]
        ny = int(rng.integers(0, full.shape[0] + 1))
        rows.append(ny)
        want.append(full[:ny])
    offsets = np.cumsum([0] + [h * w for h, w in sizes])
    outs = np.cumsum([0] + [w.size for w in want])
    layers = np.array([[offsets[i], w, h, steps[i], outs[i], rows[i]] for i, (h, w) in enumerate(sizes)], np.int32)
    pyramid = np.concatenate([i.ravel() for i in imgs])
    hmax = max(h for h, _ in sizes) + 1
    for name, kern in _implementations():
        out = np.full(int(outs[-1]), 9, np.uint8)
        kern.haar_scan_layers(pyramid, layers, 24, 24, cas.offsets(stride), cas.weights, cas.thresholds, cas.shapes,
                              cas.leaves, cas.stage_sizes, cas.stage_thresholds, np.empty((hmax, stride), np.int32),
                              np.empty((hmax, stride), np.uint32), out)
        np.testing.assert_array_equal(out, np.concatenate([w.ravel() for w in want]), err_msg=name)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), sh=st.integers(3, 160), sw=st.integers(3, 160), dh=st.integers(1, 200),
       dw=st.integers(1, 200), smooth=st.booleans())
def test_pyramid_layers_equal_opencv_resize(seed, sh, sw, dh, dw, smooth):
    """The compiled copy of ``cv2.resize(..., INTER_LINEAR_EXACT)`` that makes the pyramid: the same bytes,
    shrinking and enlarging, in both CPU builds."""
    rng = np.random.default_rng(seed)
    img = rng.integers(0, 256, (sh, sw)).astype(np.uint8)
    if smooth:
        img = cv2.GaussianBlur(img, (5, 5), 2)
    want = cv2.resize(img, (dw, dh), interpolation=cv2.INTER_LINEAR_EXACT)
    builds = [("baseline", "")] + ([("avx2", _kernels.AVX2_SUFFIX)]
                                   if _kernels.AVX2_NEEDS <= _kernels.cpu_features()[0] else [])
    for name, suffix in builds:
        try:
            mod = __import__(f"dlfers._kernels._haar{suffix}", fromlist=["resize_layers"])
        except ImportError:
            pytest.skip("Cython kernels not built")
        out = np.zeros(3 + dw * dh, np.uint8)  # at an offset, as a layer of a pyramid
        mod.resize_layers(img, np.array([[3, dw, dh, 2, 0, 0]], np.int32), out)
        np.testing.assert_array_equal(out[3:].reshape(dh, dw), want, err_msg=name)


def test_both_paths_accept_faces(jaffe_file):
    """The default cascade accepts windows on a JAFFE face, in the plain C and the AVX2 path alike."""
    ns = _kernels.load("cython")
    if ns is None:
        pytest.skip(f"cython backend unavailable: {_kernels.status()['cython']}")
    cas = load_cascade(DEFAULT)
    img = cv2.resize(cv2.imread(str(jaffe_file), cv2.IMREAD_GRAYSCALE), (40, 40), interpolation=cv2.INTER_AREA)
    path = __import__(ns.haar_scan.__module__, fromlist=["haar_path"]).haar_path()
    narrow, wide = _scan(ns, img, cas, 2, 42)[0], _scan(ns, img, cas, 2, 42 + 64)[0]  # narrow: plain C
    assert narrow.sum() > 0, "the default cascade accepts no window on a face"
    np.testing.assert_array_equal(narrow, wide)
    assert path == ("avx2" if _kernels.variant().get("name") == "avx2+fma" else "c")


def _frames(jaffe_dir):
    from _detection_set import jaffe_sources, make_set

    images, names, boxes = jaffe_sources(jaffe_dir, every=9)
    return make_set(images, names, boxes, n_faces=5, n_empty=2, seed=11)


def _boxes(found) -> list[tuple[int, ...]]:
    return sorted(map(tuple, np.asarray(found, np.int64).reshape(-1, 4).tolist()))


@needs_opencv_classifier
@pytest.mark.parametrize("backend", ["cython", "numba"])
@pytest.mark.parametrize("path", [DEFAULT, ALT2, EYE], ids=["default", "alt2", "eye"])
def test_boxes_equal_opencv(jaffe_dir, backend, path):
    """The boxes of the calls the detectors make (a copy with longest side 160, minNeighbors 4, minSize),
    raw candidates (minNeighbors 0), a maxSize, and a whole VGA frame."""
    if _kernels.load(backend) is None:
        pytest.skip(f"{backend} backend unavailable: {_kernels.status()[backend]}")
    ours = HaarCascade(path, backend=backend)
    theirs = cv2.CascadeClassifier(path)
    checked = found = 0
    for k, fr in enumerate(_frames(jaffe_dir)):
        g = fr.image
        s = 160 / max(g.shape)
        small = cv2.resize(g, (round(g.shape[1] * s), round(g.shape[0] * s)), interpolation=cv2.INTER_AREA)
        m = max(12, int(0.15 * min(small.shape)))
        calls = [dict(scaleFactor=1.1, minNeighbors=4, minSize=(m, m)), dict(scaleFactor=1.1, minNeighbors=0),
                 dict(scaleFactor=1.25, minNeighbors=3, minSize=(30, 30), maxSize=(90, 90))]
        for kw in calls:
            want = _boxes(theirs.detectMultiScale(small, **kw))
            assert _boxes(ours.detectMultiScale(small, **kw)) == want, f"frame {k} {g.shape}, {kw}"
            checked += 1
            found += len(want) > 0
        if k == 0 and backend == "cython":  # the full-size frame, as the benchmarks' OpenCV reference call
            kw = dict(scaleFactor=1.1, minNeighbors=5)
            assert _boxes(ours.detectMultiScale(g, **kw)) == _boxes(theirs.detectMultiScale(g, **kw))
            view = g[7:, 5:-3]  # not contiguous, as the detectors' crops
            kw = dict(scaleFactor=1.2, minNeighbors=3, minSize=(30, 30))
            assert _boxes(ours.detectMultiScale(view, **kw)) == _boxes(theirs.detectMultiScale(view, **kw))
    assert found >= checked // 4, "too few frames with a detection to compare"


def _cascade_xml(cas: Cascade) -> str:
    """``cas`` as an OpenCV cascade file (every node its own feature), for OpenCV and dlfers to read alike."""
    f32 = lambda v: f"{float(v):.9g}"  # noqa: E731 - round-trips a float32
    stages, feats, n, c = [], [], 0, 0
    for t, size in enumerate(cas.stage_sizes):
        weak = []
        for _ in range(int(size)):
            nodes = 1 if cas.shapes[c] == 0 else 2
            for k in range(nodes):
                rects = "".join(f"<_>{' '.join(map(str, cas.rects[n + k, j]))} {f32(cas.weights[n + k, j])}</_>"
                                for j in range(3) if cas.weights[n + k, j] != 0)
                feats.append(f"<_><rects>{rects}</rects></_>")
            head = {0: "0 -1", 1: "0 1", 2: "1 0"}[int(cas.shapes[c])]
            nodes_txt = f"{head} {n} {f32(cas.thresholds[n])}"
            if nodes == 2:
                nodes_txt += f" -1 -2 {n + 1} {f32(cas.thresholds[n + 1])}"
            leaves = " ".join(f32(v) for v in cas.leaves[c, : nodes + 1])
            weak.append(f"<_><internalNodes>{nodes_txt}</internalNodes><leafValues>{leaves}</leafValues></_>")
            n, c = n + nodes, c + 1
        stages.append(f"<_><maxWeakCount>{size}</maxWeakCount><stageThreshold>{f32(cas.stage_thresholds[t])}"
                      f"</stageThreshold><weakClassifiers>{''.join(weak)}</weakClassifiers></_>")
    return ('<?xml version="1.0"?>\n<opencv_storage>\n<cascade type_id="opencv-cascade-classifier">'
            f"<stageType>BOOST</stageType><featureType>HAAR</featureType><height>{cas.window[1]}</height>"
            f"<width>{cas.window[0]}</width><stageParams><maxWeakCount>{max(cas.stage_sizes)}</maxWeakCount>"
            "</stageParams><featureParams><maxCatCount>0</maxCatCount></featureParams>"
            f"<stageNum>{len(cas.stage_sizes)}</stageNum><stages>{''.join(stages)}</stages>"
            f"<features>{''.join(feats)}</features></cascade>\n</opencv_storage>\n")


@needs_opencv_classifier
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**31 - 1), h=st.integers(20, 110), w=st.integers(20, 110), scale=st.floats(1.05, 1.6),
       window=st.sampled_from([20, 24]), stages=st.integers(1, 3), per=st.integers(1, 4), trees=st.booleans(),
       neighbours=st.sampled_from([0, 2]))
def test_random_cascades_give_opencv_boxes(jaffe_file, seed, h, w, scale, window, stages, per, trees, neighbours):
    """A random cascade written to a file that OpenCV and dlfers both read, on a JAFFE image of any size
    with flat patches: the same windows (steps, skips, stripes, flat windows, trees) and the same boxes."""
    import tempfile

    if _kernels.load("cython") is None:
        pytest.skip("cython backend unavailable")
    rng = np.random.default_rng(seed)
    cas = _random_cascade(rng, stages, per, trees, window)
    img = cv2.resize(_jaffe_gray(str(jaffe_file)), (w, h), interpolation=cv2.INTER_AREA)
    img[: h // 4] = 90  # flat: windows there are rejected before any stage
    with tempfile.TemporaryDirectory() as tmp:
        path = f"{tmp}/random_cascade.xml"
        with open(path, "w") as f:
            f.write(_cascade_xml(cas))
        theirs = cv2.CascadeClassifier(path)
        assert not theirs.empty()
        kw = dict(scaleFactor=scale, minNeighbors=neighbours)
        want = _boxes(theirs.detectMultiScale(img, **kw))
        ours = HaarCascade(path, backend="cython")
        assert _boxes(ours.detectMultiScale(img, **kw)) == want
    load_cascade.cache_clear()  # its cache is keyed by path, and the next example reuses this one


@needs_opencv_classifier
@settings(max_examples=60, deadline=None)
@given(h=st.integers(20, 130), w=st.integers(20, 130), scale=st.floats(1.05, 1.6), which=st.sampled_from([0, 1, 2]),
       x0=st.integers(0, 80), y0=st.integers(0, 80), zoom=st.floats(0.3, 1.0))
def test_raw_candidates_equal_opencv_for_any_size(jaffe_file, h, w, scale, which, x0, y0, zoom):
    """Every window OpenCV accepts, and no other (minNeighbors 0), on crops of a JAFFE face of any size:
    odd sizes, any scale step, all three cascades (the rows OpenCV's stripes leave out included)."""
    if _kernels.load("cython") is None:
        pytest.skip("cython backend unavailable")
    path = (DEFAULT, ALT2, EYE)[which]
    g = _jaffe_gray(str(jaffe_file))
    side = int(256 * zoom)
    img = cv2.resize(g[y0 : y0 + side, x0 : x0 + side], (w, h), interpolation=cv2.INTER_AREA)
    want = _boxes(cv2.CascadeClassifier(path).detectMultiScale(img, scaleFactor=scale, minNeighbors=0))
    assert _boxes(HaarCascade(path, backend="cython").detectMultiScale(img, scaleFactor=scale, minNeighbors=0)) == want


@functools.lru_cache(maxsize=1)
def _jaffe_gray(path: str) -> np.ndarray:
    return cv2.imread(path, cv2.IMREAD_GRAYSCALE)


@needs_opencv_classifier
def test_numpy_reference_gives_opencv_boxes(jaffe_file):
    """The NumPy reference kernel, end to end, on one small copy of a JAFFE image."""
    g = cv2.resize(cv2.imread(str(jaffe_file), cv2.IMREAD_GRAYSCALE), (64, 64), interpolation=cv2.INTER_AREA)
    want = _boxes(cv2.CascadeClassifier(DEFAULT).detectMultiScale(g, scaleFactor=1.1, minNeighbors=2))
    assert want, "OpenCV finds no face in the 64x64 copy"
    assert _boxes(detect_multiscale(g, load_cascade(DEFAULT), 1.1, 2, backend="numpy")) == want


def test_threads_share_one_cascade(jaffe_dir):
    if _kernels.load("cython") is None:
        pytest.skip("cython backend unavailable")
    ours = HaarCascade(DEFAULT, backend="cython")
    frames = [fr.image for fr in _frames(jaffe_dir)]
    serial = [_boxes(ours.detectMultiScale(g, scaleFactor=1.2, minNeighbors=3, minSize=(40, 40))) for g in frames]
    barrier = threading.Barrier(4)

    def run(i: int) -> list[tuple[int, ...]]:
        if i < 4:
            barrier.wait()
        g = frames[i % len(frames)]
        return _boxes(ours.detectMultiScale(g, scaleFactor=1.2, minNeighbors=3, minSize=(40, 40)))

    with ThreadPoolExecutor(4) as pool:
        threaded = list(pool.map(run, range(3 * len(frames))))
    assert threaded == [serial[i % len(frames)] for i in range(3 * len(frames))]


def test_cascades_the_kernel_cannot_evaluate_are_refused(tmp_path):
    eyeglasses = Path(cv2.data.haarcascades, "haarcascade_eye_tree_eyeglasses.xml")
    if eyeglasses.is_file():  # not in OpenCV 5's empty cv2/data
        with pytest.raises(ValueError, match="tilted|trees"):  # three-node trees, tilted features: OpenCV evaluates it
            load_cascade(str(eyeglasses))
    bad = tmp_path / "not_a_cascade.xml"
    bad.write_text("this is not XML")
    with pytest.raises(ValueError, match="not_a_cascade.xml"):
        load_cascade(str(bad))
    truncated = tmp_path / "truncated.xml"
    truncated.write_text(open(DEFAULT).read()[:5000])
    with pytest.raises(ValueError, match="truncated.xml"):
        load_cascade(str(truncated))


def test_bad_images_are_refused():
    cas = load_cascade(DEFAULT)
    with pytest.raises(ValueError, match="uint8"):
        detect_multiscale(np.zeros((50, 50), np.float32), cas)
    with pytest.raises(ValueError, match="2-D"):
        detect_multiscale(np.zeros((50, 50, 3), np.uint8), cas)
    assert detect_multiscale(np.zeros((10, 50), np.uint8), cas).shape == (0, 4)  # smaller than the window


def test_the_face_detector_uses_the_kernel_where_cython_is_loaded():
    import dlfers
    from dlfers.face.detect import cascade_engine

    engine = cascade_engine()
    assert engine == ("dlfers" if _kernels.resolve() == "cython" else "opencv")
    shown = dlfers.show_config(file=open("/dev/null", "w"))["face_cascade"]
    assert shown.startswith(engine)
    assert cascade_engine("haarcascade_frontalface_alt2.xml") == engine
    assert cascade_engine("haarcascade_eye_tree_eyeglasses.xml") == "opencv"


@pytest.mark.skipif(not hasattr(cv2, "groupRectangles"), reason="this OpenCV has no groupRectangles to compare with")
def test_group_rectangles_is_opencvs():
    """dlfers' copy (for OpenCV 5, which has none) gives OpenCV 4's groups, boxes, weights and order."""
    from dlfers.face.haar import group_rectangles

    rng = np.random.default_rng(0)
    for _ in range(1500):
        n = int(rng.integers(0, 60))
        base = rng.integers(0, 200, (max(1, n // 6), 4))
        base[:, 2:] = rng.integers(10, 120, (len(base), 2))
        rects = [[int(v) for v in base[rng.integers(len(base))] + rng.integers(-6, 7, 4)] for _ in range(n)]
        rects = [[x, y, max(1, w), max(1, h)] for x, y, w, h in rects]
        threshold, eps = int(rng.integers(0, 6)), float(rng.choice([0.1, 0.2, 0.3]))
        want, weights = cv2.groupRectangles(rects, threshold, eps)
        got, got_weights = group_rectangles(rects, threshold, eps)
        assert [list(map(int, r)) for r in want] == got
        if threshold > 0:
            assert list(map(int, weights)) == got_weights


def test_the_cascades_work_without_opencvs_classifier_and_grouping(jaffe_dir, monkeypatch):
    """OpenCV 5 has neither CascadeClassifier nor groupRectangles: dlfers' kernels and grouping serve,
    also where the cython kernels are not loaded (engine "opencv")."""
    from dlfers import detect_faces, read_image
    from dlfers.face import haar

    img = read_image(jaffe_dir / "KA.HA1.29.tiff")
    want = detect_faces(img, detector="cascade")
    monkeypatch.delattr(cv2, "CascadeClassifier", raising=False)
    monkeypatch.delattr(cv2, "groupRectangles", raising=False)
    monkeypatch.setattr(haar, "_local", threading.local())
    assert detect_faces(img, detector="cascade") == want
    monkeypatch.setattr(haar, "resolve", lambda: "numpy")
    monkeypatch.setattr(haar, "_local", threading.local())
    assert haar.engine("haarcascade_frontalface_default.xml") == "opencv"
    assert detect_faces(img, detector="cascade") == want
