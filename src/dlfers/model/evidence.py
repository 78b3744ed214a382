"""Exact per-region evidence for each prediction: which regions pushed the score of each class.

The score explained
-------------------
One SVM of the model (:class:`dlfers.model.classify.KernelSVC`) is a LIBSVM one-vs-one
machine: for each class pair p = (a, b), a < b,

    d_p(x) = Σ_i W_ip K(x, s_i) + b_p            (positive: a vote for a)

over the support vectors s_i, with W the dual coefficients (0 where s_i takes no part
in pair p) and b_p the intercept.  The per-class score explained here is the **summed
pairwise decision value** of class c,

    score_c(x) = Σ_{p = (c, ·)} d_p(x) − Σ_{p = (·, c)} d_p(x),

the "confidence" term of scikit-learn's one-vs-rest decision function (the model's label
is the argmax of the votes plus this confidence squashed into (−1/3, 1/3), see
:meth:`KernelSVC.decision_function`; for two classes score = (d, −d)).  With decision
fusion the score is the mean of the SVMs' scores (as ``FusedSVMs.decision_function``
averages theirs).  The explained label is the model's label, computed from the same
pairwise values.

Why it splits exactly
---------------------
x is the concatenation of the already power-normalised histograms (:func:`dlfers.model.codebook.
spof_histograms`: n_regions blocks of K words per descriptor kind), so every bin belongs
to one region of one kind.  For an additive kernel K(x, s) = Σ_bins t(x_b, s_b):

* ``intersection``: t = min(x_b, s_b); ``linear``: t = x_b·s_b.  Region r's evidence for
  pair p is Σ_i W_ip Σ_{b∈r} t(x_b, s_ib) and the intercept is b_p.
* ``chi2`` (the model's exp(−γ Σ_b (x_b − s_b)²/(x_b + s_b))): the kernel is not a sum,
  its distance D_i = Σ_r D_ir is.  Writing K_i = 1 + (K_i − 1) and sharing the drop
  (K_i − 1) ≤ 0 between regions in proportion to their part of the distance gives the
  exact additive form  d_p = Σ_r Σ_i W_ip (K_i − 1) D_ir / D_i + (b_p + Σ_i W_ip):
  the intercept is the score of a face identical to every support vector, a region's
  evidence is what its distance from the support vectors changes.
* ``rbf`` is not explainable this way: :func:`check_explainable` raises.
* ``classifier="linear"`` (:class:`dlfers.model.linear.LinearMapSVC`): the score of class c is
  its one-vs-rest value w_c · φ(x) + b_c, and the feature map φ acts bin by bin, so a region's
  evidence is Σ_{b∈r} Σ_j w_{c,(j,b)} φ_j(x_b) and the intercept is b_c; the label and
  probabilities come from these scores.

Summed over classes' pairs, Σ_r evidence[r, c] + intercepts[c] = score_c to float64
rounding (about 1e-12).  The per-region sums come from the ``region_sums`` kernel of the
model's backend (one float64 accumulator per region, :mod:`dlfers._kernels`).  The
kernel rows used for prediction add in float64 too on every backend, so the model's own
scores agree with these to rounding in the last bits (tests: 1e-9 on JAFFE).

Evidence is evidence for the classifier's decision: how the histogram of each region
moved each class's score.  It is not a measurement of facial muscles or action units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .. import _kernels
from ..face.detect import FaceBox
from ..features.base import Features
from ..features.gabor import KIND as GABOR_KIND
from ..features.gabor import N_CELLS, N_FILTERS
from ..features.regions import (
    EYE_BLOCK,
    FACE_LEVELS,
    FUSED_LEVELS,
    MOUTH_BLOCK,
    Layout,
    Rect,
    grid_cell_ids,
    parse_layout,
)
from ..features.texture import LBP_BINS
from .classify import KernelSVC, fusion_inputs
from .frames import locate_faces
from .linear import LinearMapSVC
from .results import FittedModel, check_predict_options
from .stages import box_features

__all__ = ["EXPLAINABLE_KERNELS", "Explanation", "check_explainable", "region_names", "region_boxes",
           "face_rects", "explain_features", "explain_faces", "explain_frame", "svm_scores"]

#: kernels whose decision values split exactly over histogram bins, with their region_sums op
EXPLAINABLE_KERNELS: dict[str, int] = {"intersection": 0, "chi2": 1, "linear": 2}


def check_explainable(kernel: str) -> int:
    """The ``region_sums`` op of ``kernel``; ValueError naming the explainable kernels otherwise.

    Parameters
    ----------
    kernel : str
        An SVM kernel name.

    Returns
    -------
    int
        Its ``region_sums`` op.
    """
    if kernel not in EXPLAINABLE_KERNELS:
        raise ValueError(f"a model with the {kernel!r} kernel cannot be explained region by region: its decision "
                         f"values are not sums over histogram bins; explainable kernels: "
                         f"{', '.join(EXPLAINABLE_KERNELS)} (retrain with kernel='intersection', the default)")
    return EXPLAINABLE_KERNELS[kernel]


# ----------------------------------------------------------------------------- regions
def _cell_names(level: str, n: int) -> list[str]:
    if n == 1:
        return [level]
    if n == 2:
        return [f"{level} top", f"{level} bottom"]
    side = int(round(np.sqrt(n)))
    return [f"{level} r{i // side}c{i % side}" for i in range(n)]


def _levels(lay: Layout) -> list[tuple[str, str, list[Rect]]]:
    """(source, level, rects) in region-id order: face levels, then fused ones."""
    return ([("face", n, FACE_LEVELS[n]) for n in lay.face]
            + [("fused", n, FUSED_LEVELS[n]) for n in lay.fused])


def region_names(layout: str | Layout) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Names (e.g. ``"grid4 r1c2"``, ``"halves top"``) and sources ("face"/"fused") of the regions, in id order.

    Parameters
    ----------
    layout : str or Layout
        A layout string or parsed :class:`~dlfers.features.regions.Layout`.

    Returns
    -------
    names : tuple of str
        Region names in id order.
    sources : tuple of str
        "face" or "fused" per region.
    """
    names: list[str] = []
    sources: list[str] = []
    for source, level, rects in _levels(parse_layout(layout)):
        names += _cell_names(level, len(rects))
        sources += [source] * len(rects)
    return tuple(names), tuple(sources)


def region_boxes(layout: str | Layout, face_size: int) -> np.ndarray:
    """(n_regions, 4) float64 boxes (x0, y0, x1, y1) in pixels of each region's source image
    (the face_size x face_size face, or the fused eyes+mouth image of the same size).

    Parameters
    ----------
    layout : str or Layout
        A layout string or parsed :class:`~dlfers.features.regions.Layout`.
    face_size : int
        Side of the face in pixels.

    Returns
    -------
    ndarray of shape (n_regions, 4), dtype float64
        Boxes (x0, y0, x1, y1).
    """
    rects = [r for _, _, rs in _levels(parse_layout(layout)) for r in rs]
    return np.asarray(rects, np.float64).reshape(-1, 4) * float(face_size)


def face_rects(source: str, rect: Rect) -> list[Rect]:
    """Where a region lies on the face, in fractions of the face (x0, y0, x1, y1).

    A face region is itself; a fused-image region maps through the eye block (top half of
    the fused image) and the mouth block (bottom half), so one region can give two rects.

    Parameters
    ----------
    source : str
        The region's source image, "face" or "fused".
    rect : (float, float, float, float)
        The region (x0, y0, x1, y1) in fractions of its source image.

    Returns
    -------
    list of (float, float, float, float)
        One or two rects in fractions of the face.
    """
    if source == "face":
        return [rect]
    x0, y0, x1, y1 = rect
    out: list[Rect] = []
    for (lo, hi), blk in (((0.0, 0.5), EYE_BLOCK), ((0.5, 1.0), MOUTH_BLOCK)):
        a, b = max(y0, lo), min(y1, hi)
        if b <= a:
            continue
        bx0, by0, bx1, by1 = blk
        sy = (by1 - by0) / (hi - lo)
        out.append((bx0 + x0 * (bx1 - bx0), by0 + (a - lo) * sy, bx0 + x1 * (bx1 - bx0), by0 + (b - lo) * sy))
    return out


# ----------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class Explanation:
    """Why one face got its label: each region's contribution to each class's score.

    Attributes
    ----------
    classes : ndarray
        (k,) class labels (the model's ``classes_``).
    label : object
        The model's predicted class.
    probabilities : (k,) float64 calibrated class probabilities.
    decision_values : ndarray
        (k,) float64 explained scores (the summed pairwise decision values,
        see the module docstring) = ``evidence.sum(0) + intercepts``.
    intercepts : ndarray
        (k,) float64 the part of each score no region carries.
    evidence : (n_regions, k) float64, ``evidence[r, c]`` region r's contribution to class c's
        score (positive: for c); the sum of ``evidence_by_kind``.
    evidence_by_kind : channel (descriptor kind "tisf", "tipm"; texture "lbp", "gabor") -> (n_regions, k)
        float64 (a Gabor cell's evidence goes to the region of the finest face level that holds its centre).
    region_names, region_sources : (n_regions,) names and source images ("face" or "fused").
    region_boxes : ndarray
        (n_regions, 4) float64 (x0, y0, x1, y1) in pixels of the source image.
    face_size : int
        Side of the face and fused images the boxes refer to.
    kernel, fusion : the model's kernel and fusion rule.
    box : FaceBox or None, default=None
        The δ/γ-cropped face in frame pixels (None when unknown).
    face : ndarray of shape (face_size, face_size), dtype float32, or None, default=None
        The preprocessed face.
    """

    classes: np.ndarray
    label: Any
    probabilities: np.ndarray
    decision_values: np.ndarray
    intercepts: np.ndarray
    evidence: np.ndarray
    evidence_by_kind: dict[str, np.ndarray]
    region_names: tuple[str, ...]
    region_sources: tuple[str, ...]
    region_boxes: np.ndarray
    face_size: int
    kernel: str
    fusion: str
    box: FaceBox | None = None
    face: np.ndarray | None = field(default=None, repr=False)

    def class_index(self, label: Any = None) -> int:
        """Column of ``label`` (None: the predicted label) in the class arrays.

        Parameters
        ----------
        label : object, default=None
            A class label (None: the predicted one).

        Returns
        -------
        int
            Its column.
        """
        lab = self.label if label is None else label
        idx = np.flatnonzero(self.classes == lab)
        if idx.size == 0:
            raise ValueError(f"unknown class {lab!r}; the model's classes: {self.classes.tolist()}")
        return int(idx[0])

    def for_class(self, label: Any = None, kind: str | None = None) -> np.ndarray:
        """(n_regions,) float64 evidence for ``label`` (None: the predicted one), of one kind or all.

        Parameters
        ----------
        label : object, default=None
            A class label (None: the predicted one).
        kind : str or None, default=None
            One descriptor kind or texture channel (None: all summed).

        Returns
        -------
        ndarray of shape (n_regions,), dtype float64
            Each region's evidence.
        """
        ev = self.evidence if kind is None else self.evidence_by_kind[kind]
        return np.asarray(ev[:, self.class_index(label)])

    def top_regions(self, n: int = 5, label: Any = None) -> tuple[list[tuple[str, float]], list[tuple[str, float]]]:
        """The ``n`` regions most for and most against ``label``: (name, evidence), strongest first
        (only positive values are "for", only negative ones "against").

        Parameters
        ----------
        n : int, default=5
            How many regions on each side.
        label : object, default=None
            A class label (None: the predicted one).

        Returns
        -------
        for_ : list of (str, float)
            Regions most for the label, strongest first.
        against : list of (str, float)
            Regions most against it, strongest first.
        """
        ev = self.for_class(label)
        order = np.argsort(-ev, kind="stable")
        pro = [(self.region_names[i], float(ev[i])) for i in order[:n] if ev[i] > 0]
        con = [(self.region_names[i], float(ev[i])) for i in order[::-1][:n] if ev[i] < 0]
        return pro, con

    def strongest_region(self, label: Any = None) -> int:
        """Index of the region with the most evidence for ``label`` (None: the predicted class).

        Parameters
        ----------
        label : object, default=None
            A class label (None: the predicted one).

        Returns
        -------
        int
            A region index.
        """
        return int(np.argmax(self.for_class(label)))

    def face_rects(self, region: int) -> list[Rect]:
        """Where ``region`` lies on the face, in fractions of the face (see :func:`face_rects`).

        Parameters
        ----------
        region : int
            A region index.

        Returns
        -------
        list of (float, float, float, float)
            Rects (x0, y0, x1, y1) in fractions of the face.
        """
        x0, y0, x1, y1 = (self.region_boxes[region] / self.face_size).tolist()
        return face_rects(self.region_sources[region], (x0, y0, x1, y1))

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready numbers: classes, label, scores, intercepts and per-region evidence (by class)."""
        cls = [_plain(c) for c in self.classes.tolist()]
        return {
            "label": _plain(self.label), "classes": cls, "kernel": self.kernel, "fusion": self.fusion,
            "score": "summed one-vs-one decision values per class; decision_values = sum(evidence) + intercepts",
            "box": None if self.box is None else list(self.box.as_tuple()),
            "probabilities": dict(zip(map(str, cls), self.probabilities.tolist())),
            "decision_values": dict(zip(map(str, cls), self.decision_values.tolist())),
            "intercepts": dict(zip(map(str, cls), self.intercepts.tolist())),
            "face_size": self.face_size,
            "regions": [
                {"name": n, "source": s, "box": b.tolist(),
                 "evidence": dict(zip(map(str, cls), self.evidence[i].tolist())),
                 "evidence_by_kind": {k: dict(zip(map(str, cls), v[i].tolist()))
                                      for k, v in self.evidence_by_kind.items()}}
                for i, (n, s, b) in enumerate(zip(self.region_names, self.region_sources, self.region_boxes))
            ],
        }


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


# ----------------------------------------------------------------------------- the computation
def _pair_to_class(k: int) -> np.ndarray:
    """(n_pairs, k) ±1 matrix: pair (a, b) adds its decision value to a and subtracts it from b."""
    first, second = np.triu_indices(k, 1)
    m = np.zeros((len(first), k))
    m[np.arange(len(first)), first] = 1.0
    m[np.arange(len(first)), second] = -1.0
    return m


def _pair_evidence(svm: KernelSVC, x: np.ndarray, bounds: np.ndarray, backend: str | None
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Per-group, per-pair evidence (n, G, n_pairs) and pair intercepts (n_pairs,) of one SVM."""

    op = check_explainable(svm.kernel)
    sv = svm.support_vectors_
    x32 = np.require(x, np.float32, "C")
    if x32.ndim != 2 or x32.shape[1] != sv.shape[1] or int(bounds[-1]) != sv.shape[1]:
        raise ValueError(f"histograms {x32.shape} and region bounds up to {int(bounds[-1])} do not fit an SVM of "
                         f"{sv.shape[1]} features")
    parts = np.empty((x32.shape[0], sv.shape[0], bounds.shape[0] - 1))
    _kernels.get(backend).region_sums(x32, sv, np.require(bounds, np.int64, "C"), op, parts)
    w = svm._pair_weights()
    icpt = np.asarray(svm.ovo_intercept_, np.float64)
    if svm.kernel == "chi2":
        dist = parts.sum(axis=2)  # (n, n_SV), the χ² distances
        drop = np.exp(-svm.gamma_ * dist) - 1.0
        share = np.divide(parts, dist[:, :, None], out=np.zeros_like(parts), where=dist[:, :, None] > 0)
        parts = share * drop[:, :, None]
        icpt = icpt + w.sum(axis=0)
    return np.einsum("nig,ip->ngp", parts, w), icpt


def _bounds(widths: Sequence[int], groups: Sequence[int]) -> np.ndarray:
    """Bin bounds (sum(groups) + 1,) int64 of K-value blocks: per kind, ``groups`` blocks of its width K."""
    sizes = [kw for kw, g in zip(widths, groups) for _ in range(g)]
    return np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64)


def _gabor_cell_regions(lay: Layout) -> np.ndarray:
    """(64,) int: the region of each Gabor cell (row-major 8×8 grid of the face): of the face levels holding
    the cell's centre, the one with the most regions (ties: the first listed); the first region where no
    face level holds it."""
    ids = grid_cell_ids(lay, int(np.sqrt(N_CELLS)))  # (64, face levels), -1: not in that level
    out = np.zeros(N_CELLS, int)
    finest_first = np.argsort([-len(FACE_LEVELS[name]) for name in lay.face], kind="stable")
    for level in finest_first[::-1]:  # coarsest first, so that finer levels overwrite
        out = np.where(ids[:, level] >= 0, ids[:, level], out)
    return out


def _label_scores(svm: Any, raw: np.ndarray) -> np.ndarray:
    """The scores an SVM's label and probabilities come from: a linear SVM's own one-vs-rest
    scores, or a kernel SVM's one-vs-rest form of its pairwise values."""
    return raw if isinstance(svm, LinearMapSVC) else np.asarray(svm._ovr(raw))


def svm_scores(model: FittedModel, feats: Sequence[Features]) -> np.ndarray:
    """The model's own explained score (n, k) float64 through its prediction path: each SVM's
    one-vs-one decision values summed per class (see the module docstring), averaged over SVMs.

    Parameters
    ----------
    model : FittedModel
        A fitted :class:`~dlfers.DLFERS`.
    feats : sequence of Features
        Precomputed features, one per face.

    Returns
    -------
    ndarray of shape (n, k), dtype float64
        The explained scores.
    """
    inputs = fusion_inputs(model.encodings(feats), model.fusion)
    m = _pair_to_class(len(model.classes_))
    scores: np.ndarray = np.mean([model.svms_[name].decision_function(x) if isinstance(model.svms_[name], LinearMapSVC)
                                  else model.svms_[name].ovo_decision(x) @ m for name, x in inputs.items()], axis=0)
    return scores


def explain_features(model: FittedModel, feats: Sequence[Features]) -> list[Explanation]:
    """One :class:`Explanation` per face of precomputed :class:`Features` (see the module docstring).

    Parameters
    ----------
    model : FittedModel
        A fitted :class:`~dlfers.DLFERS`.
    feats : sequence of Features
        Precomputed features, one per face.

    Returns
    -------
    list of Explanation
        One per face.

    Raises
    ------
    ValueError
        For a model whose kernel is not additive (rbf), naming the explainable kernels.
    sklearn.exceptions.NotFittedError
        For an unfitted model.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "svms_")
    check_explainable(model.kernel)
    spec = model.spec()
    n_reg = spec.n_regions
    k = len(model.classes_)
    names, sources = region_names(spec.layout)
    boxes = region_boxes(spec.layout, int(model.face_size))
    if not feats:
        return []
    inputs = fusion_inputs(model.encodings(feats), model.fusion)
    to_cls = _pair_to_class(k)
    n = len(feats)
    by_kind = {kind: np.zeros((n, n_reg, k)) for kind in spec.channels}
    widths = {kd: model.codebooks_[kd].shape[0] if kd in spec.kinds else N_FILTERS if kd == GABOR_KIND else LBP_BINS
              for kd in spec.channels}  # values per region (per cell for the Gabor channel)
    cells = {GABOR_KIND: np.eye(n_reg)[_gabor_cell_regions(spec.layout)]} if GABOR_KIND in spec.channels else {}
    intercepts = np.zeros(k)
    pair_dec: list[tuple[Any, np.ndarray]] = []
    for name, x in inputs.items():
        svm = model.svms_[name]
        kinds = name.split("+")
        groups = [N_CELLS if kd in cells else n_reg for kd in kinds]
        bounds = _bounds([widths[kd] for kd in kinds], groups)
        if isinstance(svm, LinearMapSVC):  # one-vs-rest scores: w_c · φ(x) + b_c, summed bin by bin
            ev, icpt = svm.class_evidence(x, bounds)
            pair_dec.append((svm, ev.sum(axis=1) + icpt))
            cls_ev = ev / len(inputs)
            intercepts += icpt / len(inputs)
        else:
            ev, icpt = _pair_evidence(svm, x, bounds, model.backend)
            pair_dec.append((svm, ev.sum(axis=1) + icpt))
            cls_ev = (ev @ to_cls) / len(inputs)  # (n, G, k)
            intercepts += (icpt @ to_cls) / len(inputs)
        start = np.concatenate([[0], np.cumsum(groups)])
        for j, kind in enumerate(kinds):
            part = cls_ev[:, start[j] : start[j + 1]]
            if kind in cells:  # each Gabor cell's evidence to its region: (64, n_reg) one-hot
                by_kind[kind] += np.einsum("ngk,gr->nrk", part, cells[kind])
            else:
                by_kind[kind] += part
    # the model's label rule on the same values (FusedSVMs.predict_with_proba)
    probs = [svm._proba(_label_scores(svm, d)) for svm, d in pair_dec]
    proba = np.mean(probs, axis=0)
    if len(pair_dec) == 1:
        svm, d = pair_dec[0]
        top = np.argmax(_label_scores(svm, d), axis=1)
    else:
        top = np.argmax(proba, axis=1)
    evidence = np.sum(list(by_kind.values()), axis=0)
    out = []
    for i, f in enumerate(feats):
        ev_i = np.ascontiguousarray(evidence[i])
        out.append(Explanation(
            classes=np.asarray(model.classes_), label=model.classes_[top[i]], probabilities=proba[i],
            decision_values=ev_i.sum(axis=0) + intercepts, intercepts=intercepts.copy(), evidence=ev_i,
            evidence_by_kind={kd: np.ascontiguousarray(v[i]) for kd, v in by_kind.items()},
            region_names=names, region_sources=sources, region_boxes=boxes, face_size=int(model.face_size),
            kernel=str(model.kernel), fusion=str(model.fusion), box=f.box, face=f.face,
        ))
    return out


def explain_faces(model: FittedModel, faces: Sequence[np.ndarray]) -> list[Explanation]:
    """Explanations of pre-cropped faces (gray or BGR arrays; only resize and LL, as ``predict_faces``).

    Parameters
    ----------
    model : FittedModel
        A fitted :class:`~dlfers.DLFERS`.
    faces : sequence of ndarray
        Pre-cropped gray or BGR faces.

    Returns
    -------
    list of Explanation
        One per face.
    """
    check_explainable(model.kernel)
    feats = model.face_batch(faces)
    return explain_features(model, feats)


def explain_frame(model: FittedModel, frame: np.ndarray, max_faces: int | None = None, *,
                  detect_size: int | None = None, min_face: float | None = None,
                  detect_scale: float | None = None) -> list[Explanation]:
    """Explanations of every face of one frame, largest first (empty when no face is found).

    The faces are those :meth:`DLFERS.predict_image` classifies (:func:`dlfers.model.frames.locate_faces`);
    the arguments are its own.

    Parameters
    ----------
    model : FittedModel
        A fitted :class:`~dlfers.DLFERS`.
    frame : ndarray
        One (H, W) gray or (H, W, 3|4) BGR(A) frame.
    max_faces : int or None, default=None
        Keep the largest this many faces (None: all).
    detect_size : int or None, default=None
        Detector override (None: the model's).
    min_face : float or None, default=None
        Detector override (None: the model's).
    detect_scale : float or None, default=None
        Detector override (None: the model's).

    Returns
    -------
    list of Explanation
        One per face, largest first.
    """
    from sklearn.utils.validation import check_is_fitted

    check_is_fitted(model, "svms_")
    check_explainable(model.kernel)
    settings = check_predict_options(model, max_faces, detect_size, min_face, detect_scale)
    gray, boxes = locate_faces(model, frame, max_faces, settings=settings)
    spec = model.spec()
    return explain_features(model, [box_features(gray, c, spec) for c in boxes])
