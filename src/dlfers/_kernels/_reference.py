"""NumPy reference kernels: the definition of every kernel, readable and slow.

Every backend (``_numba.py``, the Cython ``.pyx`` files) implements these functions
with the same names, argument order and in-place outputs, so tests can loop over
backends and compare.  Kernels trust their inputs: the Python wrappers in
``dlfers.features.descriptors`` and ``dlfers.model.codebook`` validate shapes, dtypes and ranges.
"""

from __future__ import annotations

import numpy as np

from ._reference_gabor import gabor_energy
from ._reference_lbp import LBP_BINS, LBP_UNIFORM, lbp_codes, lbp_histograms

__all__ = ["smooth", "orientation_blocks", "assemble_descriptors", "encode", "encode_soft", "intersection", "chi2",
           "region_sums", "haar_scan", "haar_scan_layers", "lbp_histograms", "lbp_codes", "LBP_BINS", "LBP_UNIFORM",
           "gabor_energy"]


def smooth(img: np.ndarray, taps: np.ndarray, out: np.ndarray) -> None:
    """Separable Gaussian smoothing (Eq. 5-6) with edge replication.

    Parameters
    ----------
    img : (H, W) float32, C-contiguous.
    taps : (2r+1,) float32, a normalised 1-D kernel.
    out : (H, W) float32, written in place.
    """
    r = taps.shape[0] // 2
    h, w = img.shape
    tmp = np.zeros((h, w), np.float32)
    pad = np.pad(img, ((0, 0), (r, r)), mode="edge")
    for k in range(taps.shape[0]):
        tmp += taps[k] * pad[:, k : k + w]
    pad = np.pad(tmp, ((r, r), (0, 0)), mode="edge")
    acc = np.zeros((h, w), np.float32)
    for k in range(taps.shape[0]):
        acc += taps[k] * pad[k : k + h, :]
    out[...] = acc


def orientation_blocks(img: np.ndarray, nbins: int, signed: bool, block: int, out: np.ndarray) -> None:
    """Gradient field (Eq. 7-8) binned by orientation into ``block``x``block`` pixel blocks.

    Gradients are central pixel differences with edge replication
    (dx = I[y, x+1] - I[y, x-1], dy = I[y+1, x] - I[y-1, x]); the magnitude
    sqrt(dx² + dy²) is split linearly between the two orientation bins nearest to
    atan2(dy, dx) (bin k is centred on k·w, w = 2π/nbins if ``signed`` else π/nbins).
    Each pixel is added to exactly one block: block (y // block, x // block).

    Parameters
    ----------
    img : (H, W) float32; pixels past the last whole block are ignored.
    out : (H // block, W // block, nbins) float32, overwritten.
    """
    h, w = img.shape
    p = np.pad(img, 1, mode="edge")
    dx = p[1:-1, 2:] - p[1:-1, :-2]
    dy = p[2:, 1:-1] - p[:-2, 1:-1]
    mag = np.sqrt(dx * dx + dy * dy)
    theta = np.arctan2(dy, dx).astype(np.float32)
    period = np.float32(2 * np.pi if signed else np.pi)
    theta = np.where(theta < 0, theta + period, theta)
    if not signed:
        theta = np.where(theta >= period, theta - period, theta)
    f = theta * np.float32(nbins / period)
    b0 = np.floor(f).astype(np.int64)
    frac = (f - b0).astype(np.float32)
    b0 %= nbins
    b1 = (b0 + 1) % nbins
    bins = np.zeros((h, w, nbins), np.float32)
    yy, xx = np.mgrid[0:h, 0:w]
    np.add.at(bins, (yy, xx, b0), mag * (1 - frac))
    np.add.at(bins, (yy, xx, b1), mag * frac)
    bh, bw = h // block, w // block
    bins = bins[: bh * block, : bw * block]
    out[...] = bins.reshape(bh, block, bw, block, nbins).sum(axis=(1, 3))


def assemble_descriptors(
    blocks: np.ndarray, cell_blocks: int, step_blocks: int, clip: float, out: np.ndarray
) -> None:
    """Dense 4x4-cell descriptors from block histograms, SIFT-normalised.

    A cell is ``cell_blocks``x``cell_blocks`` blocks; the descriptor whose top-left
    block is (i·step_blocks, j·step_blocks) concatenates its 4x4 cells row-major,
    each cell's ``nbins`` orientation bins innermost.  Each descriptor is L2
    normalised, clipped at ``clip`` and normalised again (zero stays zero).

    Parameters
    ----------
    blocks : (BH, BW, nbins) float32.
    out : (NY * NX, 16 * nbins) float32 with NY = (BH - 4·cell_blocks) // step_blocks + 1
        and NX likewise; written in place.
    """
    bh, bw, nbins = blocks.shape
    span = 4 * cell_blocks
    ny = (bh - span) // step_blocks + 1
    nx = (bw - span) // step_blocks + 1
    cells = np.zeros((bh - cell_blocks + 1, bw - cell_blocks + 1, nbins), np.float32)
    for a in range(cell_blocks):
        for b in range(cell_blocks):
            cells += blocks[a : a + cells.shape[0], b : b + cells.shape[1]]
    n = 0
    for i in range(ny):
        for j in range(nx):
            y0 = i * step_blocks
            x0 = j * step_blocks
            d = cells[y0 : y0 + span : cell_blocks, x0 : x0 + span : cell_blocks].reshape(-1)
            out[n] = _sift_normalise(d, clip)
            n += 1


def _sift_normalise(d: np.ndarray, clip: float) -> np.ndarray:
    d = d.astype(np.float32)
    norm = np.float32(np.sqrt(np.sum(d * d)))
    if norm <= np.float32(1e-12):
        return np.zeros_like(d)
    d = np.minimum(d / norm, np.float32(clip))
    norm = np.float32(np.sqrt(np.sum(d * d)))
    return d / norm


def encode(
    x: np.ndarray,
    codebook: np.ndarray,
    code_sqnorm: np.ndarray,
    regions: np.ndarray,
    labels_out: np.ndarray,
    hist_out: np.ndarray,
) -> None:
    """Nearest codeword of every descriptor and per-region word counts.

    The nearest codeword minimises ‖c‖² − 2 x·c (ties go to the lowest index),
    as scikit-learn's Lloyd kernel.  ``regions[n, l]`` names the region point n
    belongs to at pyramid level l, or -1; each such region's histogram row gets one
    count for the point's word.

    Parameters
    ----------
    x : (N, dim) float32.
    codebook : (D, dim) float32.
    code_sqnorm : (D,) float32, ‖c‖² of each codeword.
    regions : (N, L) int32, values in [-1, R).
    labels_out : (N,) int32, written in place.
    hist_out : (R, D) float32, accumulated into (callers zero it).
    """
    n = x.shape[0]
    chunk = 256
    for s in range(0, n, chunk):
        xs = x[s : s + chunk]
        d = code_sqnorm[None, :] - np.float32(2) * (xs @ codebook.T)
        labels_out[s : s + chunk] = np.argmin(d, axis=1)
    for i in range(n):
        for r in regions[i]:
            if r >= 0:
                hist_out[r, labels_out[i]] += 1


def encode_soft(
    x: np.ndarray,
    codebook: np.ndarray,
    code_sqnorm: np.ndarray,
    regions: np.ndarray,
    beta: float,
    idx_out: np.ndarray,
    w_out: np.ndarray,
    hist_out: np.ndarray,
) -> None:
    """Localised soft assignment to the k nearest codewords, and per-region weight sums.

    Each descriptor's k = ``idx_out.shape[1]`` nearest codewords (smallest
    ‖c‖² − 2 x·c, as :func:`encode`; in increasing order, ties to the lowest index) get
    the weights w_j = exp(−β (d_j − d_0)) / Σ_i exp(−β (d_i − d_0)), where d is the
    squared distance (‖x‖² cancels in the differences; computed in float64, stored as
    float32); every region the point belongs to adds them to its histogram row
    (Liu, Wang & Liu, "In defense of soft-assignment coding", ICCV 2011).

    Parameters
    ----------
    x : (N, dim) float32; codebook : (D, dim) float32; code_sqnorm : (D,) float32.
    regions : (N, L) int32, values in [-1, R).
    beta : the weights' sharpness (for unit-norm descriptors).
    idx_out : (N, k) int32, 1 <= k <= D, written in place.
    w_out : (N, k) float32, written in place (each row sums to 1).
    hist_out : (R, D) float32, accumulated into (callers zero it).
    """
    n = idx_out.shape[0]
    chunk = 256
    for s in range(0, n, chunk):
        xs = x[s : s + chunk]
        d = code_sqnorm[None, :] - np.float32(2) * (xs @ codebook.T)
        _select_soft(d, beta, 1.0, idx_out[s : s + chunk], w_out[s : s + chunk])
    _add_weights(regions, idx_out, w_out, hist_out)


def _select_soft(keys: np.ndarray, beta: float, unit: float, idx: np.ndarray, w: np.ndarray) -> None:
    """Each row's k = ``idx.shape[1]`` smallest ``keys`` (ties to the lowest index) into ``idx``, and
    their weights exp(−β (key_j − key_0) / unit), normalised, into ``w`` (``unit`` 1: float32 squared
    distances; 127²: 7-bit integer keys, whose float64 differences are exact)."""
    top = np.argsort(keys, axis=1, kind="stable")[:, : idx.shape[1]]
    kk = np.take_along_axis(keys, top, axis=1).astype(np.float64)
    e = np.exp(-float(beta) * ((kk - kk[:, :1]) / unit))
    idx[:] = top
    w[:] = e / e.sum(axis=1, keepdims=True)


def _add_weights(regions: np.ndarray, idx: np.ndarray, w: np.ndarray, hist: np.ndarray) -> None:
    """Add each point's word weights ``w`` (N, k) at words ``idx`` to its regions' rows of ``hist``
    (descriptor by descriptor, word by word: the order of the compiled kernels' float32 sums)."""
    for i in range(idx.shape[0]):
        for r in regions[i]:
            if r >= 0:
                for j in range(idx.shape[1]):
                    hist[r, idx[i, j]] += w[i, j]


def intersection(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """Histogram-intersection Gram matrix: ``out[i, j] = Σ_d min(a[i, d], b[j, d])``.

    Parameters
    ----------
    a : (n_a, dim) float32.
    b : (n_b, dim) float32.
    out : (n_a, n_b) float64, written in place (minima exact in float32, summed in float64).
    """
    for i in range(a.shape[0]):
        out[i] = np.minimum(a[i][None, :], b).sum(1, dtype=np.float64)


def chi2(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    """χ² distances: ``out[i, j] = Σ_k (a[i, k] − b[j, k])² / (a[i, k] + b[j, k])``.

    Each term is computed in float32; terms whose denominator is not positive count 0
    (for histograms, a + b = 0 implies a − b = 0); the terms are added in float64 in
    k order, the order every backend uses, so all agree to the last bit.

    Parameters
    ----------
    a : (n_a, F) float32; b : (n_b, F) float32.
    out : (n_a, n_b) float64, written in place.
    """
    acc = np.zeros((a.shape[0], b.shape[0]), np.float64)
    for k in range(a.shape[1]):  # vectorised over pairs, sequential over k as the loops
        ak = a[:, k][:, None]
        bk = b[:, k][None, :]
        s = ak + bk
        d = ak - bk
        with np.errstate(divide="ignore", invalid="ignore"):
            t = d * d / s
        acc += np.where(s > 0, t, np.float32(0)).astype(np.float64)
    out[...] = acc


def region_sums(a: np.ndarray, b: np.ndarray, bounds: np.ndarray, op: int, out: np.ndarray) -> None:
    """Per-region sums of an additive kernel's terms: one accumulator per region of bins.

    ``out[i, j, g] = Σ_{k in [bounds[g], bounds[g+1])} t(a[i, k], b[j, k])`` with the term
    ``t`` of ``op``: 0 intersection ``min(a, b)`` (exact in float32), 1 χ² distance
    ``(a − b)² / (a + b)`` in float32 (0 where ``a + b <= 0``, as :func:`chi2`), 2 linear
    ``a·b`` (in float64, exact).  Each term is converted to float64 and added in k order
    within its region, the order every backend uses, so all agree to the last bit.

    Parameters
    ----------
    a : (n_a, F) float32; b : (n_b, F) float32.
    bounds : (G + 1,) int64, non-decreasing, from 0 to F: region g holds bins
        ``bounds[g]:bounds[g + 1]``.
    op : 0 (intersection), 1 (χ²) or 2 (linear).
    out : (n_a, n_b, G) float64, written in place.
    """
    for g in range(bounds.shape[0] - 1):
        acc = np.zeros((a.shape[0], b.shape[0]), np.float64)
        for k in range(int(bounds[g]), int(bounds[g + 1])):  # sequential over k, as the loops
            ak = a[:, k][:, None]
            bk = b[:, k][None, :]
            if op == 0:
                t = np.minimum(ak, bk).astype(np.float64)
            elif op == 1:
                s = ak + bk
                d = ak - bk
                with np.errstate(divide="ignore", invalid="ignore"):
                    q = d * d / s
                t = np.where(s > 0, q, np.float32(0)).astype(np.float64)
            else:
                t = ak.astype(np.float64) * bk.astype(np.float64)
            acc += t
        out[:, :, g] = acc


#: the int8 word assignment's quantisation step: a value v in [0, 1] becomes rint(127 v)
Q8_SCALE = 127


def quantise_q8(a: np.ndarray) -> np.ndarray:
    """``clamp(rint(127 a), 0, 127)`` as uint8 (NaN -> 0), computed in float32 as the kernels do.

    Parameters
    ----------
    a : float32 array (descriptors or codewords; values in [0, 1]).
    """
    s = np.asarray(a, np.float32) * np.float32(Q8_SCALE)
    with np.errstate(invalid="ignore"):
        s = np.where(s > 0, s, np.float32(0))
        s = np.minimum(s, np.float32(Q8_SCALE))
    return np.rint(s).astype(np.uint8)


def encode_soft_q8(
    x: np.ndarray,
    cq: np.ndarray,
    csq: np.ndarray,
    regions: np.ndarray,
    beta: float,
    idx_out: np.ndarray,
    w_out: np.ndarray,
    hist_out: np.ndarray,
) -> None:
    """:func:`encode_soft` on 7-bit integers: exact integer keys, the same selection and weights.

    Descriptors are quantised by :func:`quantise_q8`; codewords come quantised (``cq``,
    zero-padded to a multiple of 4 columns) with their squared norms ``csq``.  The key of
    word j is the integer ‖q_c‖² − 2 q_x·q_c (the quantised squared distance less ‖q_x‖²),
    so the k nearest words (ties to the lowest index) are the same in every backend, and the
    weights are exp(−β (key_j − key_0) / 127²) normalised (float64, stored as float32).

    Parameters
    ----------
    x : (N, dim) float32, values in [0, 1]; cq : (D, 4·⌈dim/4⌉) uint8, values in [0, 127];
    csq : (D,) int32, ``(cq.astype(int32) ** 2).sum(1)``.
    regions, beta, idx_out, w_out, hist_out : as :func:`encode_soft`.
    """
    n = idx_out.shape[0]
    dim = x.shape[1]
    c = cq[:, :dim].astype(np.int64)
    for s in range(0, n, 256):
        xq = quantise_q8(x[s : s + 256]).astype(np.int64)
        key = csq[None, :].astype(np.int64) - 2 * (xq @ c.T)
        _select_soft(key, beta, float(Q8_SCALE * Q8_SCALE), idx_out[s : s + 256], w_out[s : s + 256])
    _add_weights(regions, idx_out, w_out, hist_out)


def _haar_col(c: np.ndarray | int, ystep: int, stride: int) -> np.ndarray | int:
    """Offset of integral column ``c`` in ``haar_scan``'s layout (ystep 2: even columns, then odd ones)."""
    return (c & 1) * (stride // 2) + (c >> 1) if ystep == 2 else c


def haar_integral(img: np.ndarray, ystep: int, sums: np.ndarray, squares: np.ndarray) -> None:
    """Integral images of an (h, w) uint8 image in ``haar_scan``'s layout (see ``_haar.h``): (h+1, stride)
    int32 sums and uint32 sums of squares (modulo 2^32); with ystep 2 the even columns come first, then
    the odd ones from stride/2; every other int is zero."""
    h, w = img.shape
    stride = sums.shape[1]
    s = np.zeros((h + 1, w + 1), np.int64)
    s[1:, 1:] = img.astype(np.int64).cumsum(0).cumsum(1)
    q = np.zeros((h + 1, w + 1), np.int64)
    q[1:, 1:] = (img.astype(np.int64) ** 2).cumsum(0).cumsum(1)
    cols = _haar_col(np.arange(w + 1), ystep, stride)
    sums[: h + 1] = 0
    squares[: h + 1] = 0
    sums[: h + 1, cols] = s.astype(np.int32)
    squares[: h + 1, cols] = (q % (1 << 32)).astype(np.uint32)


def haar_scan(img: np.ndarray, win_w: int, win_h: int, ystep: int, ofs: np.ndarray, weights: np.ndarray,
              thresholds: np.ndarray, shapes: np.ndarray, leaves: np.ndarray, stage_sizes: np.ndarray,
              stage_thresholds: np.ndarray, sums: np.ndarray, squares: np.ndarray, out: np.ndarray) -> None:
    """One pyramid layer of OpenCV's Haar cascade (``CascadeClassifier::detectMultiScale``).

    Parameters
    ----------
    img : (h, w) uint8 layer of the pyramid.
    win_w, win_h : the cascade's window.  ystep : 1 or 2, OpenCV's step between windows at this scale.
    ofs : (N, 12) int32 offsets of the 4 corners of each node's 3 rectangles in the integral layout
        (a classifier's nodes are consecutive).
    weights : (N, 3) float32.  thresholds : (N,) float32 node thresholds.
    shapes : (C,) uint8 per weak classifier: 0 a stump (leaf 0 where its feature is below the threshold,
        else leaf 1); 1 and 2 the two-node trees of OpenCV's alt2 cascades (leaf 0 where the first node's
        feature is below (1) or not below (2) its threshold, else the second node picks leaf 1 or 2).
    leaves : (C, 3) float32.  stage_sizes : (T,) int32 classifiers per stage.  stage_thresholds : (T,) float32.
    sums, squares : (h+1, stride) int32 / uint32, written (:func:`haar_integral`).
    out : (ny, nx) uint8: 1 where OpenCV visits window (x, y) = (i·ystep, j·ystep) and the cascade
        accepts it, else 0; nx = ceil((w+1-win_w)/ystep), ny <= ceil((h+1-win_h)/ystep): the rows scanned
        (OpenCV's stripes may stop short of the last row; ``dlfers.face.haar`` computes where).

    A window is normalised by 1/(area·σ) over its inner rectangle and rejected when flat; each node's
    float32 feature w0·s0 + w1·s1 (+ w2·s2), times that factor, is compared with its threshold; the leaf
    each classifier picks is added to a float64 stage sum in classifier order; a window after a
    first-stage rejection is not visited.
    """
    haar_integral(img, ystep, sums, squares)
    stride = sums.shape[1]
    ny, nx = out.shape
    out[...] = 0
    if ny == 0 or nx == 0:
        return
    fs = sums.ravel().astype(np.int64)
    fq = squares.ravel().astype(np.int64)
    base = (np.arange(ny)[:, None] * ystep * stride + np.arange(nx)[None, :]).ravel()

    def corners(flat: np.ndarray, b: np.ndarray, o: np.ndarray) -> np.ndarray:
        return flat[b + o[0]] - flat[b + o[1]] - flat[b + o[2]] + flat[b + o[3]]

    c0, c1 = _haar_col(1, ystep, stride), _haar_col(win_w - 1, ystep, stride)
    nofs = np.array([c0 + stride, c1 + stride, c0 + stride * (win_h - 1), c1 + stride * (win_h - 1)])
    area = float((win_w - 2) * (win_h - 2))
    vs = corners(fs, base, nofs).astype(np.float64)
    vq = (corners(fq, base, nofs) % (1 << 32)).astype(np.float64)
    nf = area * vq - vs * vs
    ok = nf > 0
    vnf = np.ones(len(base), np.float32)
    vnf[ok] = (1.0 / np.sqrt(nf[ok])).astype(np.float32)
    ok &= area * vnf.astype(np.float64) < 0.1
    verdict = np.full(len(base), -1, np.int8)  # 1 accepted, 0 first-stage rejection, -1 otherwise
    alive = np.flatnonzero(ok)
    first = np.concatenate([[0], np.cumsum(np.where(shapes == 0, 1, 2))])  # first node of each classifier
    s0 = 0

    def below(node: int, b: np.ndarray, vnf_b: np.ndarray) -> np.ndarray:
        o, w = ofs[node], weights[node]
        r = w[0] * corners(fs, b, o[0:4]).astype(np.float32) + w[1] * corners(fs, b, o[4:8]).astype(np.float32)
        if w[2] != 0:
            r = r + w[2] * corners(fs, b, o[8:12]).astype(np.float32)
        return np.asarray(r * vnf_b < thresholds[node])

    for t, n in enumerate(stage_sizes):
        b = base[alive]
        acc = np.zeros(len(alive), np.float64)
        for s in range(s0, s0 + int(n)):
            lt = below(int(first[s]), b, vnf[alive])
            if shapes[s] == 0:
                leaf = np.where(lt, leaves[s, 0], leaves[s, 1])
            else:
                deep = np.where(below(int(first[s]) + 1, b, vnf[alive]), leaves[s, 1], leaves[s, 2])
                leaf = np.where(lt == (shapes[s] == 1), leaves[s, 0], deep)
            acc += leaf.astype(np.float64)
        s0 += int(n)
        rejected = acc < np.float64(stage_thresholds[t])
        verdict[alive[rejected]] = 0 if t == 0 else -1
        alive = alive[~rejected]
    verdict[alive] = 1
    verdict = verdict.reshape(ny, nx)
    for j in range(ny):  # OpenCV's walk along the row
        i = 0
        while i < nx:
            if verdict[j, i] > 0:
                out[j, i] = 1
            i += 2 if verdict[j, i] == 0 else 1


def haar_scan_layers(pyramid: np.ndarray, layers: np.ndarray, win_w: int, win_h: int, ofs: np.ndarray,
                     weights: np.ndarray, thresholds: np.ndarray, shapes: np.ndarray, leaves: np.ndarray,
                     stage_sizes: np.ndarray, stage_thresholds: np.ndarray, sums: np.ndarray, squares: np.ndarray,
                     out: np.ndarray) -> None:
    """:func:`haar_scan` on every layer of a pyramid, in one call (so that a compiled backend scans them all
    without Python in between).

    Parameters
    ----------
    pyramid : (P,) uint8, the layers one after the other, each (h, w) row-major.
    layers : (L, 6) int32 rows (offset in ``pyramid``, w, h, ystep, offset in ``out``, ny).
    ofs : (2, N, 12) int32 corner offsets in the integral layouts of ystep 1 and 2 (one row stride).
    sums, squares : (R, stride) scratch with R > every layer's h.
    out : (T,) uint8; layer l's verdicts fill ``out[o : o + ny·nx]`` as (ny, nx), nx = ceil((w+1-win_w)/ystep).
    Other arguments as :func:`haar_scan`.
    """
    for off, w, h, ystep, o, ny in layers.tolist():
        nx = -(-(w + 1 - win_w) // ystep)
        haar_scan(pyramid[off : off + w * h].reshape(h, w), win_w, win_h, ystep, ofs[ystep - 1], weights, thresholds,
                  shapes, leaves, stage_sizes, stage_thresholds, sums[: h + 1], squares[: h + 1],
                  out[o : o + ny * nx].reshape(ny, nx))
