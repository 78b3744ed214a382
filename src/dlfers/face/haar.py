"""OpenCV's Haar cascades, evaluated by dlfers' kernels: the same windows, the same boxes.

:class:`HaarCascade` reads a cascade file of OpenCV's format (dlfers ships the three it uses, :func:`cascade_path`) and
answers ``detectMultiScale`` exactly as ``cv2.CascadeClassifier`` does (OpenCV 4): the same
scales (float32 factors, ``cvRound`` sizes); the same pyramid (``cv2.resize`` with
``INTER_LINEAR_EXACT``, or, with the compiled kernels, a copy of it that gives the same
bytes); the same windows (rows and columns in steps of 2 below scale 2, a window after a
first-stage rejection skipped, the rows of OpenCV's stripes, which can miss a layer's last
row); the same arithmetic (float32 features, float64 stage sums; the ``haar_scan`` kernel);
then OpenCV's own ``groupRectangles`` and the clip to the frame.  The tests compare its
boxes with OpenCV's, frame by frame.

What makes it faster is the kernel: 8 windows of a row at a time with AVX2, and the whole
pyramid made and scanned in two calls without the GIL.
Supported: Haar cascades without tilted features whose weak classifiers are stumps (e.g.
``haarcascade_frontalface_default.xml``, ``haarcascade_eye.xml``) or the two-node trees of
``haarcascade_frontalface_alt2.xml``; :func:`load_cascade` refuses others (LBP, deeper trees,
tilted features), and callers keep ``cv2.CascadeClassifier`` for them.
"""

from __future__ import annotations

import functools
import importlib
import threading
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .._kernels import get as _get_kernels
from .._kernels import resolve
from .._kernels._reference import _haar_col

__all__ = ["CASCADE_DIR", "CASCADE_FILES", "Cascade", "HaarCascade", "cascade", "cascade_path", "detect_multiscale",
           "engine", "group_rectangles", "load_cascade"]

#: OpenCV subtracts this from every stage threshold when it reads a cascade
_THRESHOLD_EPS = np.float32(1e-5)
#: OpenCV's groupRectangles eps in detectMultiScale
_GROUP_EPS = 0.2
#: padding of the integral images' rows (the AVX2 path reads up to 8 windows past a row's end)
_PAD = 64


@dataclass(frozen=True, eq=False)
class Cascade:
    """A Haar cascade as flat arrays: C weak classifiers of N nodes in T stages.

    Attributes
    ----------
    window : (width, height) of the detection window, pixels.
    rects : (N, 3, 4) int32 rectangles (x, y, w, h) of each node's feature (zeros: unused).
    weights : (N, 3) float32 rectangle weights.
    thresholds : (N,) float32 node thresholds.
    shapes : (C,) uint8: 0 a stump (one node), 1 or 2 a two-node tree whose first node leads to leaf 0
        where its feature is below (1) or not below (2) its threshold, else to its second node.
    leaves : (C, 3) float32 leaf values (a stump: below, not below, unused).
    stage_sizes : (T,) int32 weak classifiers per stage.
    stage_thresholds : (T,) float32 stage thresholds (OpenCV's, minus 1e-5).
    """

    window: tuple[int, int]
    rects: np.ndarray
    weights: np.ndarray
    thresholds: np.ndarray
    shapes: np.ndarray
    leaves: np.ndarray
    stage_sizes: np.ndarray
    stage_thresholds: np.ndarray

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one table per row stride; the cascade lives forever
    def offsets(self, stride: int) -> np.ndarray:
        """(2, N, 12) int32 corner offsets of every node's rectangles in the integral layouts of ystep 1 and 2."""
        r = self.rects.astype(np.int64)
        x, y, w, h = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
        tables = []
        for ystep in (1, 2):
            a, b = _haar_col(x, ystep, stride), _haar_col(x + w, ystep, stride)
            o = np.stack([a + stride * y, b + stride * y, a + stride * (y + h), b + stride * (y + h)], axis=-1)
            tables.append(o.reshape(len(r), 12))
        return np.ascontiguousarray(np.stack(tables), dtype=np.int32)


def _numbers(node: ET.Element | None, path: str) -> list[str]:
    if node is None or node.text is None:
        raise ValueError(f"{path}: malformed cascade (missing values)")
    return node.text.split()


#: internalNodes (left, right) pairs of the weak classifiers the kernel evaluates -> their shape
_SHAPES = {(("0", "-1"),): 0, (("0", "1"), ("-1", "-2")): 1, (("1", "0"), ("-1", "-2")): 2}


@functools.lru_cache(maxsize=8)
def load_cascade(path: str) -> Cascade:
    """Read an OpenCV cascade file (new format: ``opencv-cascade-classifier``) of Haar features.

    Raises
    ------
    ValueError
        For another kind of cascade (LBP, trees other than alt2's, tilted features, the old format)
        or a malformed file; the message names the file.
    """
    try:
        root = ET.parse(path).getroot()
    except (ET.ParseError, OSError) as exc:
        raise ValueError(f"{path}: cannot read the cascade ({exc})") from exc
    c = root.find("cascade")
    if c is None or c.findtext("stageType") != "BOOST" or c.findtext("featureType") != "HAAR":
        raise ValueError(f"{path}: not a boosted Haar cascade of OpenCV's new format")
    window = (int(c.findtext("width", "0")), int(c.findtext("height", "0")))
    if min(window) < 3:
        raise ValueError(f"{path}: window {window} too small")
    features = []
    for f in c.iterfind("features/_"):
        if int(f.findtext("tilted", "0")) != 0:
            raise ValueError(f"{path}: tilted features are not supported")
        rs = [_numbers(r, path) for r in f.iterfind("rects/_")]
        if not 1 <= len(rs) <= 3 or any(len(r) != 5 for r in rs):
            raise ValueError(f"{path}: a feature needs 1-3 rectangles of 5 values")
        features.append([(int(a), int(b), int(w), int(h), float(v)) for a, b, w, h, v in rs])
    sizes, stage_thr, shapes, leaves, nodes = [], [], [], [], []
    for st in c.iterfind("stages/_"):
        weak = st.findall("weakClassifiers/_")
        sizes.append(len(weak))
        stage_thr.append(np.float32(float(st.findtext("stageThreshold", "nan"))) - _THRESHOLD_EPS)
        for wc in weak:
            node, leaf = _numbers(wc.find("internalNodes"), path), _numbers(wc.find("leafValues"), path)
            tree = tuple((node[i], node[i + 1]) for i in range(0, len(node) - 3, 4))
            shape = _SHAPES.get(tree) if len(node) == 4 * len(tree) else None
            if shape is None or len(leaf) != len(tree) + 1:
                raise ValueError(f"{path}: only stumps and alt2's two-node trees are supported")
            for i in range(0, len(node), 4):
                if not 0 <= int(node[i + 2]) < len(features):
                    raise ValueError(f"{path}: feature index {node[i + 2]} out of range")
                nodes.append((int(node[i + 2]), float(node[i + 3])))
            shapes.append(shape)
            leaves.append([float(v) for v in leaf] + [0.0] * (3 - len(leaf)))
    if not sizes or not nodes:
        raise ValueError(f"{path}: no stages")
    rects = np.zeros((len(nodes), 3, 4), np.int32)
    weights = np.zeros((len(nodes), 3), np.float32)
    for i, (fi, _) in enumerate(nodes):
        for j, (a, b, w, h, v) in enumerate(features[fi]):
            if a < 0 or b < 0 or w < 0 or h < 0 or a + w > window[0] or b + h > window[1]:
                raise ValueError(f"{path}: a rectangle leaves the {window} window")
            rects[i, j] = (a, b, w, h)
            weights[i, j] = v
    return Cascade(window, rects, weights, np.asarray([t for _, t in nodes], np.float32),
                   np.asarray(shapes, np.uint8), np.asarray(leaves, np.float32), np.asarray(sizes, np.int32),
                   np.asarray(stage_thr, np.float32))


def _scales(size: tuple[int, int], window: tuple[int, int], scale_factor: float, min_size: tuple[int, int],
            max_size: tuple[int, int]) -> np.ndarray:
    """OpenCV's search scales (float32) for a (width, height) frame."""
    w, h = size
    mw, mh = max_size if max_size[0] > 0 and max_size[1] > 0 else size
    every = []
    f = 1.0
    while round(window[0] * f) <= w and round(window[1] * f) <= h:  # cvRound of doubles (half to even, as round)
        every.append(f)
        f *= scale_factor
    sc = np.asarray(every, np.float32)
    ww = np.rint(np.float32(window[0]) * sc)
    wh = np.rint(np.float32(window[1]) * sc)
    keep = []
    for i in range(len(sc)):
        if ww[i] > mw or wh[i] > mh:
            break
        if ww[i] >= min_size[0] and wh[i] >= min_size[1]:
            keep.append(i)
    if not keep and len(sc):  # OpenCV's fallback: the scale closest to min_size
        d = (min_size[0] - ww) ** 2 + (min_size[1] - wh) ** 2
        keep = [int(np.argmin(d))]
    return sc[keep]


def _resizer(kern: Any) -> Any:
    """The cython module's ``resize_layers`` (OpenCV's ``INTER_LINEAR_EXACT`` resize, byte for byte, tested
    against it), or None for the other backends, which call ``cv2.resize``."""
    module = getattr(kern.haar_scan_layers, "__module__", None) or ""
    if not module.startswith("dlfers._kernels._haar"):
        return None
    return getattr(importlib.import_module(module), "resize_layers", None)


@dataclass(frozen=True, eq=False)
class _Plan:
    """The layers of one (frame size, window, scale settings): what :func:`detect_multiscale` scans."""

    scales: np.ndarray  # (L,) float32 search scales
    layers: np.ndarray  # (L, 6) int32 rows of haar_scan_layers
    nx: np.ndarray  # (L,) windows per row
    ystep: np.ndarray  # (L,) OpenCV's step between windows
    out_offsets: np.ndarray  # (L+1,) where each layer's verdicts start
    pyramid_size: int
    out_size: int
    stride: int  # row stride of the integral images
    rows: int  # rows of the integral images (the largest layer's height + 1)


@functools.lru_cache(maxsize=64)
def _plan(h: int, w: int, window: tuple[int, int], scale_factor: float, min_size: tuple[int, int],
          max_size: tuple[int, int]) -> _Plan | None:
    """OpenCV's layers for a (h, w) frame (None: no scale to search); cached, as a stream's frames share a size."""
    win_w, win_h = window
    scales = _scales((w, h), window, scale_factor, min_size, max_size)
    if not len(scales):
        return None
    lw = np.rint(np.float32(w) / scales).astype(np.int64)
    lh = np.rint(np.float32(h) / scales).astype(np.int64)
    ystep = np.where(scales >= 2, 1, 2)
    # OpenCV scans each layer in stripes of rows, as many as the first layer's working width has 32s;
    # a stripe's height is a whole number of steps, so the last row of a layer can fall outside them all
    nstripes = -(-(int(lw[0]) + 1 - win_w) // 32)
    rows = lh + 1 - win_h
    stripe = np.maximum((rows // ystep + nstripes - 1) // nstripes, 1) * ystep
    nx = -(-(lw + 1 - win_w) // ystep)
    ny = np.maximum(-(-np.minimum(nstripes * stripe, rows) // ystep), 0)
    offsets = np.concatenate([[0], np.cumsum(lw * lh)])
    out_offsets = np.concatenate([[0], np.cumsum(nx * ny)])
    layers = np.stack([offsets[:-1], lw, lh, ystep, out_offsets[:-1], ny], axis=1).astype(np.int32)
    for a in (scales, layers, nx, ystep, out_offsets):
        a.flags.writeable = False  # shared by every call with these settings
    return _Plan(scales, layers, nx, ystep, out_offsets, int(offsets[-1]), int(out_offsets[-1]),
                 -(-(int(lw[0]) + _PAD) // 16) * 16, int(lh[0]) + 1)


def detect_multiscale(gray: np.ndarray, cascade: Cascade, scale_factor: float = 1.1, min_neighbors: int = 3,
                      min_size: tuple[int, int] = (0, 0), max_size: tuple[int, int] = (0, 0),
                      backend: str | None = None) -> np.ndarray:
    """``cv2.CascadeClassifier.detectMultiScale`` of a (H, W) uint8 frame: (n, 4) int32 boxes (x, y, w, h).

    Parameters
    ----------
    gray : ndarray of shape (H, W), uint8
        The frame.
    cascade : Cascade
        The cascade (:func:`load_cascade`).
    scale_factor : float, default 1.1
        Step between the search scales (OpenCV's ``scaleFactor``), > 1.
    min_neighbors : int, default 3
        OpenCV's ``minNeighbors``: a group of more than this many accepted windows gives a box
        (:func:`group_rectangles`); 0 or less returns every accepted window, ungrouped.
    min_size : tuple of int, default (0, 0)
        (width, height) of the smallest window searched (OpenCV's ``minSize``; where no scale
        reaches it, OpenCV's fallback: the scale closest to it).
    max_size : tuple of int, default (0, 0)
        (width, height) of the largest window searched (OpenCV's ``maxSize``); (0, 0): the frame's size.
    backend : str or None, default None
        The kernel backend, "cython", "numba" or "numpy" (None or "auto": the first that loads,
        or ``DLFERS_BACKEND``'s).

    Returns
    -------
    ndarray of shape (n, 4), int32
        Boxes (x, y, w, h) in frame pixels, clipped to the frame; shape (0, 4) when none is found
        (or the frame is smaller than the cascade's window).

    Raises
    ------
    ValueError
        For an image that is not 2-D uint8, ``scale_factor`` <= 1, or an unknown backend.
    """
    import cv2

    if gray.ndim != 2 or gray.dtype != np.uint8:
        raise ValueError(f"detect_multiscale needs a 2-D uint8 image, got {gray.dtype} {gray.shape}")
    if not scale_factor > 1:
        raise ValueError(f"scale_factor must be > 1, got {scale_factor}")
    h, w = gray.shape
    win_w, win_h = cascade.window
    empty = np.zeros((0, 4), np.int32)
    if h < win_h or w < win_w:
        return empty
    plan = _plan(h, w, cascade.window, float(scale_factor), (int(min_size[0]), int(min_size[1])),
                 (int(max_size[0]), int(max_size[1])))
    if plan is None:
        return empty
    pyramid = np.empty(plan.pyramid_size, np.uint8)
    kern = _get_kernels(backend)
    resize_layers = _resizer(kern)
    if resize_layers is not None:  # the compiled copy of OpenCV's resize: every layer in one call, no GIL
        resize_layers(np.ascontiguousarray(gray), plan.layers, pyramid)
    else:
        for off, sw, sh, *_ in plan.layers.tolist():  # OpenCV resizes the frame for each layer
            cv2.resize(gray, (sw, sh), dst=pyramid[off : off + sw * sh].reshape(sh, sw),
                       interpolation=cv2.INTER_LINEAR_EXACT)
    out = np.zeros(plan.out_size, np.uint8)
    kern.haar_scan_layers(
        pyramid, plan.layers, win_w, win_h, cascade.offsets(plan.stride), cascade.weights, cascade.thresholds,
        cascade.shapes, cascade.leaves, cascade.stage_sizes, cascade.stage_thresholds,
        np.empty((plan.rows, plan.stride), np.int32), np.empty((plan.rows, plan.stride), np.uint32), out)
    scales, nx, ystep, out_offsets = plan.scales, plan.nx, plan.ystep, plan.out_offsets
    hits = np.flatnonzero(out)
    if not len(hits):
        return empty
    k = np.searchsorted(out_offsets, hits, side="right") - 1  # each accepted window's layer
    iy, ix = np.divmod(hits - out_offsets[k], nx[k])
    rects = np.empty((len(hits), 4), np.int32)
    step = ystep[k].astype(np.float32)
    rects[:, 0] = np.rint(step * ix.astype(np.float32) * scales[k])  # float32, as OpenCV's cvRound(x * scale)
    rects[:, 1] = np.rint(step * iy.astype(np.float32) * scales[k])
    rects[:, 2] = np.rint(np.float32(win_w) * scales[k])
    rects[:, 3] = np.rint(np.float32(win_h) * scales[k])
    if min_neighbors > 0:
        group = getattr(cv2, "groupRectangles", None) or group_rectangles  # OpenCV 5 has none
        grouped = group(rects.tolist(), int(min_neighbors), _GROUP_EPS)[0]
        rects = np.asarray(grouped, np.int32).reshape(-1, 4)
    rects[:, 2] = np.minimum(rects[:, 2], w - rects[:, 0])  # OpenCV clips the grouped boxes to the frame
    rects[:, 3] = np.minimum(rects[:, 3], h - rects[:, 1])
    return rects


def group_rectangles(rects: list[list[int]], threshold: int, eps: float = _GROUP_EPS) -> tuple[list[list[int]],
                                                                                          list[int]]:
    """OpenCV 4's ``cv2.groupRectangles``, for an OpenCV without it (5.x): the same groups, boxes and order.

    Rectangles are partitioned into classes of similar ones (corners within ``eps`` times the
    mean of the smaller sides, transitively), numbered by their first member; each class of more
    than ``threshold`` members gives its mean rectangle (rounded half to even, as ``cvRound``),
    except one that lies inside a class with more members (> max(3, n)), or when n < 3.

    Parameters
    ----------
    rects : list of [x, y, w, h] int
        The rectangles to group, e.g. a cascade's accepted windows.
    threshold : int
        OpenCV's ``groupThreshold`` (minNeighbors); <= 0 returns the input unchanged.
    eps : float, default 0.2
        OpenCV's relative difference between the sides of rectangles merged into one group
        (0.2, as ``detectMultiScale``).

    Returns
    -------
    rectangles : list of [x, y, w, h] int
        The grouped rectangles (the input's copies when ``threshold`` <= 0).
    weights : list of int
        Each one's member count (all 1 when ``threshold`` <= 0).
    """
    n = len(rects)
    if threshold <= 0 or n == 0:
        return [list(r) for r in rects], [1] * n
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i in range(n):
        x1, y1, w1, h1 = rects[i]
        for j in range(i):
            x2, y2, w2, h2 = rects[j]
            delta = eps * (min(w1, w2) + min(h1, h2)) * 0.5
            if (abs(x1 - x2) <= delta and abs(y1 - y2) <= delta and abs(x1 + w1 - x2 - w2) <= delta
                    and abs(y1 + h1 - y2 - h2) <= delta):
                ri, rj = root(i), root(j)
                if ri != rj:
                    parent[max(ri, rj)] = min(ri, rj)
    label: dict[int, int] = {}
    labels = []
    for i in range(n):
        labels.append(label.setdefault(root(i), len(label)))
    k = len(label)
    sums = np.zeros((k, 4), np.int64)
    counts = np.zeros(k, np.int64)
    for r, c in zip(rects, labels):
        sums[c] += r
        counts[c] += 1
    mean = np.rint(sums.astype(np.float32) * (np.float32(1.0) / counts.astype(np.float32))[:, None]).astype(np.int64)
    out: list[list[int]] = []
    weights: list[int] = []
    for i in range(k):
        n1 = int(counts[i])
        if n1 <= threshold:
            continue
        x1, y1, w1, h1 = (int(v) for v in mean[i])
        inside = False
        for j in range(k):
            n2 = int(counts[j])
            if j == i or n2 <= threshold:
                continue
            x2, y2, w2, h2 = (int(v) for v in mean[j])
            dx, dy = int(np.rint(np.float32(w2 * eps))), int(np.rint(np.float32(h2 * eps)))
            if (x1 >= x2 - dx and y1 >= y2 - dy and x1 + w1 <= x2 + w2 + dx and y1 + h1 <= y2 + h2 + dy
                    and (n2 > max(3, n1) or n1 < 3)):
                inside = True
                break
        if not inside:
            out.append([x1, y1, w1, h1])
            weights.append(n1)
    return out, weights


class HaarCascade:
    """A Haar cascade file with ``cv2.CascadeClassifier``'s ``detectMultiScale`` (see the module).

    Safe to share between threads (it holds no per-call state).

    Parameters
    ----------
    path : str
        An OpenCV cascade file of Haar features (:func:`load_cascade`, which raises ValueError for
        a cascade it does not support or a malformed file).
    backend : str or None, default None
        The kernel backend ``detectMultiScale`` uses (see :func:`detect_multiscale`).

    Attributes
    ----------
    path : str
        The cascade file.
    cascade : Cascade
        Its arrays.
    backend : str or None
        The kernel backend.
    """

    def __init__(self, path: str, backend: str | None = None) -> None:
        self.path = str(path)
        self.cascade = load_cascade(self.path)
        self.backend = backend

    def detectMultiScale(self, image: np.ndarray, scaleFactor: float = 1.1, minNeighbors: int = 3,  # noqa: N802,N803
                         flags: int = 0, minSize: tuple[int, int] = (0, 0),  # noqa: N803
                         maxSize: tuple[int, int] = (0, 0)) -> np.ndarray:  # noqa: N803
        """Boxes (n, 4) int32, as OpenCV's method of the same name (``flags`` is ignored there too).

        Parameters
        ----------
        image : ndarray of shape (H, W), uint8
            The frame.
        scaleFactor : float, default 1.1
            Step between the search scales, > 1.
        minNeighbors : int, default 3
            A group of more than this many accepted windows gives a box (0: no grouping).
        flags : int, default 0
            Ignored.
        minSize : tuple of int, default (0, 0)
            (width, height) of the smallest window searched.
        maxSize : tuple of int, default (0, 0)
            (width, height) of the largest window searched ((0, 0): the frame's size).

        Returns
        -------
        ndarray of shape (n, 4), int32
            Boxes (x, y, w, h) in frame pixels (see :func:`detect_multiscale`).
        """
        return detect_multiscale(image, self.cascade, scaleFactor, minNeighbors, minSize, maxSize, self.backend)


#: dlfers' own copies of the cascade files it uses (with OpenCV's licence, ``LICENSE-OPENCV``), so
#: that an OpenCV whose ``cv2/data`` is empty (opencv-python 5.0.0.93) still finds them
CASCADE_DIR = Path(__file__).resolve().parent / "models"
#: the cascade files in :data:`CASCADE_DIR`
CASCADE_FILES = ("haarcascade_frontalface_default.xml", "haarcascade_frontalface_alt2.xml", "haarcascade_eye.xml")


def cascade_path(name: str, folder: str | Path | None = None) -> str:
    """The path of OpenCV's cascade file ``name``: dlfers' own copy, else ``cv2.data``'s.

    Parameters
    ----------
    name : str
        A file name such as ``"haarcascade_frontalface_default.xml"``.
    folder : str or Path or None, default None
        Where dlfers' copies are (None: :data:`CASCADE_DIR`, inside the package).

    Returns
    -------
    str
        ``folder / name`` if it is a file, else ``cv2.data.haarcascades + name`` if that is.

    Raises
    ------
    RuntimeError
        Neither exists; the message names both places.
    """
    own = Path(CASCADE_DIR if folder is None else folder) / name
    if own.is_file():
        return str(own)
    import cv2

    data = getattr(getattr(cv2, "data", None), "haarcascades", None)
    if data and Path(data, name).is_file():
        return str(Path(data, name))
    raise RuntimeError(f"the OpenCV cascade file {name} is in neither {own.parent} (dlfers' copy; a broken "
                       f"install?) nor cv2.data ({data or 'absent'}); reinstall dlfers")


def engine(name: str) -> str:
    """Who evaluates OpenCV's cascade file ``name`` here: "dlfers" (the compiled ``haar_scan`` kernel,
    boxes identical to OpenCV's) where the cython backend is loaded and the kernel supports the cascade
    (both frontal-face cascades the detectors use), else "opencv".

    Parameters
    ----------
    name : str
        A cascade file name such as ``"haarcascade_frontalface_default.xml"`` (:func:`cascade_path`).

    Returns
    -------
    str
        "dlfers" or "opencv" (also when the file is found nowhere or cannot be read).
    """

    try:
        if resolve() != "cython":
            return "opencv"
        load_cascade(cascade_path(name))
    except (ValueError, RuntimeError):
        return "opencv"
    return "dlfers"


_local = threading.local()


def cascade(name: str) -> Any:
    """OpenCV's cascade ``name`` (:func:`cascade_path`) with a ``detectMultiScale`` method: a :class:`HaarCascade` where
    :func:`engine` says "dlfers" or where OpenCV has no ``CascadeClassifier`` (OpenCV 5), else a
    ``cv2.CascadeClassifier`` (one per thread: OpenCV's are not safe to share between threads).

    Parameters
    ----------
    name : str
        A cascade file name such as ``"haarcascade_frontalface_default.xml"`` (:func:`cascade_path`).

    Returns
    -------
    HaarCascade or cv2.CascadeClassifier
        The cascade, loaded once per thread and name and then reused.

    Raises
    ------
    RuntimeError
        If the file is found nowhere or OpenCV cannot load it.
    """
    cache: dict[str, Any] | None = getattr(_local, "cascades", None)
    if cache is None:
        cache = _local.cascades = {}
    c = cache.get(name)
    if c is None:
        import cv2

        path = cascade_path(name)
        if engine(name) == "dlfers":
            c = HaarCascade(path, backend="cython")
        elif not hasattr(cv2, "CascadeClassifier"):  # OpenCV 5 moved it out of the main modules
            c = HaarCascade(path)  # the numba or numpy kernels: the same boxes, slower
        else:
            c = cv2.CascadeClassifier(path)
            if c.empty():
                raise RuntimeError(f"cannot load the OpenCV face cascade {path}")
        cache[name] = c
    return c
