"""OpenCV's stump-based Haar cascades, evaluated by dlfers' kernels: the same windows, the same boxes.

:class:`HaarCascade` reads a cascade file of OpenCV's format (``cv2.data`` ships them) and
answers ``detectMultiScale`` exactly as ``cv2.CascadeClassifier`` does (OpenCV 4): the same
scales (float32 factors, ``cvRound`` sizes), the same pyramid (``cv2.resize`` with
``INTER_LINEAR_EXACT``), the same windows (rows and columns in steps of 2 below scale 2, a
window after a first-stage rejection skipped), the same arithmetic (float32 features,
float64 stage sums; the ``haar_scan`` kernel), then OpenCV's own ``groupRectangles`` and the
clip to the frame.  The tests compare its boxes with OpenCV's, frame by frame.

What makes it faster is the kernel: 8 windows of a row at a time with AVX2.
Only stump-based cascades without tilted features are supported (e.g.
``haarcascade_frontalface_default.xml``); :func:`load_cascade` refuses others (``alt2`` has
two-node trees), and callers keep ``cv2.CascadeClassifier`` for them.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from typing import Any

import numpy as np

from ._kernels import get as _get_kernels

__all__ = ["Cascade", "HaarCascade", "load_cascade", "detect_multiscale"]

#: OpenCV subtracts this from every stage threshold when it reads a cascade
_THRESHOLD_EPS = np.float32(1e-5)
#: OpenCV's groupRectangles eps in detectMultiScale
_GROUP_EPS = 0.2
#: padding of the integral images' rows (the vector paths read up to 16 windows past a row's end)
_PAD = 64


@dataclass(frozen=True, eq=False)
class Cascade:
    """A stump-based Haar cascade as flat arrays (S stumps in T stages).

    Attributes
    ----------
    window : (width, height) of the detection window, pixels.
    rects : (S, 3, 4) int32 rectangles (x, y, w, h) of each stump's feature (zeros: unused).
    weights : (S, 3) float32 rectangle weights.
    thresholds : (S,) float32 feature thresholds.
    leaves : (S, 2) float32 values added below / not below the threshold.
    stage_sizes : (T,) int32 stumps per stage.
    stage_thresholds : (T,) float32 stage thresholds (OpenCV's, minus 1e-5).
    """

    window: tuple[int, int]
    rects: np.ndarray
    weights: np.ndarray
    thresholds: np.ndarray
    leaves: np.ndarray
    stage_sizes: np.ndarray
    stage_thresholds: np.ndarray

    @functools.lru_cache(maxsize=32)  # noqa: B019 - one table per (row stride, step); the cascade lives forever
    def offsets(self, stride: int, ystep: int) -> np.ndarray:
        """(S, 12) int32 corner offsets of every stump's rectangles in the integral layout of ``ystep``."""
        r = self.rects.astype(np.int64)
        x, y, w, h = r[..., 0], r[..., 1], r[..., 2], r[..., 3]
        a, b = _column(x, ystep, stride), _column(x + w, ystep, stride)
        o = np.stack([a + stride * y, b + stride * y, a + stride * (y + h), b + stride * (y + h)], axis=-1)
        return np.ascontiguousarray(o.reshape(len(r), 12), dtype=np.int32)


def _column(c: Any, ystep: int, stride: int) -> Any:
    """Offset of integral column ``c``: with ystep 2, even columns first, then odd ones (see ``_haar.h``)."""
    return (c & 1) * (stride // 2) + (c >> 1) if ystep == 2 else c


def _numbers(node: ET.Element | None, path: str) -> list[str]:
    if node is None or node.text is None:
        raise ValueError(f"{path}: malformed cascade (missing values)")
    return node.text.split()


@functools.lru_cache(maxsize=8)
def load_cascade(path: str) -> Cascade:
    """Read an OpenCV cascade file (new format: ``opencv-cascade-classifier``), stump-based Haar only.

    Raises
    ------
    ValueError
        For another kind of cascade (LBP, trees, tilted features, the old format) or a malformed file.
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
    sizes, stage_thr, fidx, thr, leaves = [], [], [], [], []
    for st in c.iterfind("stages/_"):
        weak = st.findall("weakClassifiers/_")
        sizes.append(len(weak))
        stage_thr.append(np.float32(float(st.findtext("stageThreshold", "nan"))) - _THRESHOLD_EPS)
        for wc in weak:
            node, leaf = _numbers(wc.find("internalNodes"), path), _numbers(wc.find("leafValues"), path)
            if len(node) != 4 or len(leaf) != 2 or int(node[0]) != 0 or int(node[1]) != -1:
                raise ValueError(f"{path}: only stump-based cascades are supported")
            if not 0 <= int(node[2]) < len(features):
                raise ValueError(f"{path}: feature index {node[2]} out of range")
            fidx.append(int(node[2]))
            thr.append(float(node[3]))
            leaves.append((float(leaf[0]), float(leaf[1])))
    if not sizes or not fidx:
        raise ValueError(f"{path}: no stages")
    rects = np.zeros((len(fidx), 3, 4), np.int32)
    weights = np.zeros((len(fidx), 3), np.float32)
    for i, fi in enumerate(fidx):
        for j, (a, b, w, h, v) in enumerate(features[fi]):
            if a < 0 or b < 0 or w < 0 or h < 0 or a + w > window[0] or b + h > window[1]:
                raise ValueError(f"{path}: a rectangle leaves the {window} window")
            rects[i, j] = (a, b, w, h)
            weights[i, j] = v
    return Cascade(window, rects, weights, np.asarray(thr, np.float32), np.asarray(leaves, np.float32),
                   np.asarray(sizes, np.int32), np.asarray(stage_thr, np.float32))


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


def detect_multiscale(gray: np.ndarray, cascade: Cascade, scale_factor: float = 1.1, min_neighbors: int = 3,
                      min_size: tuple[int, int] = (0, 0), max_size: tuple[int, int] = (0, 0),
                      backend: str | None = None) -> np.ndarray:
    """``cv2.CascadeClassifier.detectMultiScale`` of a (H, W) uint8 frame: (n, 4) int32 boxes (x, y, w, h)."""
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
    scales = _scales((w, h), cascade.window, scale_factor, tuple(min_size), tuple(max_size))  # type: ignore[arg-type]
    if not len(scales):
        return empty
    kern = _get_kernels(backend)
    lw = np.rint(np.float32(w) / scales).astype(np.int64)
    lh = np.rint(np.float32(h) / scales).astype(np.int64)
    wins = np.rint(np.float32(win_w) * scales).astype(np.int64), np.rint(np.float32(win_h) * scales).astype(np.int64)
    stride = -(-(int(lw[0]) + _PAD) // 16) * 16
    sums = np.empty((int(lh[0]) + 1, stride), np.int32)
    squares = np.empty((int(lh[0]) + 1, stride), np.uint32)
    pyramid = np.empty(int(lh[0]) * int(lw[0]), np.uint8)
    found = []
    args = (cascade.weights, cascade.thresholds, cascade.leaves, cascade.stage_sizes, cascade.stage_thresholds)
    for i, sc in enumerate(scales):
        ystep = 1 if sc >= 2 else 2
        sw, sh = int(lw[i]), int(lh[i])
        layer = pyramid[: sw * sh].reshape(sh, sw)
        cv2.resize(gray, (sw, sh), dst=layer, interpolation=cv2.INTER_LINEAR_EXACT)
        nx, ny = -(-(sw + 1 - win_w) // ystep), -(-(sh + 1 - win_h) // ystep)
        if nx <= 0 or ny <= 0:
            continue
        out = np.empty((ny, nx), np.uint8)
        kern.haar_scan(layer, win_w, win_h, ystep, cascade.offsets(stride, ystep), *args,
                       sums[: sh + 1], squares[: sh + 1], out)
        iy, ix = np.nonzero(out)
        if len(iy):
            boxes = np.empty((len(iy), 4), np.int32)
            boxes[:, 0] = np.rint(np.float32(ystep) * ix.astype(np.float32) * sc)
            boxes[:, 1] = np.rint(np.float32(ystep) * iy.astype(np.float32) * sc)
            boxes[:, 2], boxes[:, 3] = wins[0][i], wins[1][i]
            found.append(boxes)
    if not found:
        return empty
    rects = np.concatenate(found)
    if min_neighbors > 0:
        grouped = cv2.groupRectangles(rects.tolist(), int(min_neighbors), _GROUP_EPS)[0]
        rects = np.asarray(grouped, np.int32).reshape(-1, 4)
    rects[:, 2] = np.minimum(rects[:, 2], w - rects[:, 0])  # OpenCV clips the grouped boxes to the frame
    rects[:, 3] = np.minimum(rects[:, 3], h - rects[:, 1])
    return rects


class HaarCascade:
    """A stump-based cascade file with ``cv2.CascadeClassifier``'s ``detectMultiScale`` (see the module).

    Safe to share between threads (it holds no per-call state).
    """

    def __init__(self, path: str, backend: str | None = None) -> None:
        self.path = str(path)
        self.cascade = load_cascade(self.path)
        self.backend = backend

    def empty(self) -> bool:
        return False

    def detectMultiScale(self, image: np.ndarray, scaleFactor: float = 1.1, minNeighbors: int = 3,  # noqa: N802,N803
                         flags: int = 0, minSize: tuple[int, int] = (0, 0),  # noqa: N803
                         maxSize: tuple[int, int] = (0, 0)) -> np.ndarray:  # noqa: N803
        """Boxes (n, 4) int32, as OpenCV's method of the same name (``flags`` is ignored there too)."""
        return detect_multiscale(image, self.cascade, scaleFactor, minNeighbors, minSize, maxSize, self.backend)
