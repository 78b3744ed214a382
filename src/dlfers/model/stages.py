"""The stages of a model as functions of its :class:`~dlfers.model.spec.Spec`: image -> face -> features.

:class:`~dlfers.DLFERS` composes them, and so do the reproduce engine, the ablation, batch
extraction, video and explanations: each calls the same function with the same ``Spec``, so a
setting reaches every caller at once (``mirror`` and ``texture`` included) and a cache keyed
by the spec's stage keys (:meth:`Spec.prep_key`, ...) holds exactly these functions' outputs.

None of them reads learned state: the codebook and SVM stages that do are methods of the
estimator, whose state they need.  What those stages read of the spec is written here once
(:func:`fit_kind_codebook`, :func:`histogram_options`, :func:`fit_svms`), for the estimator's
fit and the reproduce engine's cached path alike.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _kernels
from ..face.align import face_crop
from ..face.detect import FaceBox, color_frame, crop_box, crop_face
from ..face.framing import frame_box
from ..features.base import Features
from ..features.descriptors import as_image, grid_shape
from ..features.mirror import flip_face
from ..features.multiscale import source_descriptors
from ..features.regions import fused_image, region_ids
from ..features.texture import texture_raws
from ..features.wavelet import ll_subband
from ..image.read import to_gray_uint8
from . import codebook
from .classify import FusedSVMs, fit_fused
from .spec import Spec

__all__ = ["box_features", "face_features", "fit_kind_codebook", "fit_svms", "histogram_options", "locate_face",
           "mirrored", "reduce_face"]


def locate_face(image: np.ndarray, spec: Spec) -> tuple[np.ndarray, FaceBox, bool]:
    """The gray frame, the δ/γ-cropped box of its largest face, and whether one was found.

    Parameters
    ----------
    image : numpy.ndarray
        (H, W) gray or (H, W, 3|4) BGR(A); uint8, uint16 or float.
    spec : Spec
        The configuration (``detect``, ``delta``, ``gamma``, ``on_missing`` and the detector).

    Returns
    -------
    gray : (H, W) uint8 numpy.ndarray
    box : FaceBox
        In frame pixels (the whole frame's crop when no face is found and ``on_missing="full"``).
    found : bool

    Raises
    ------
    dlfers.ImageError
        For an array that is not a usable image.
    dlfers.NoFaceError
        When no face is found and ``on_missing="error"``.
    """
    gray = to_gray_uint8(image)
    delta, gamma = spec.get("delta"), spec.get("gamma")
    framed = spec.get("detect") and (spec.get("frame_scale") != 1.0 or spec.get("frame_shift") != 0.0)
    _, box, found = crop_face(gray, delta=0.0 if framed else delta, gamma=0.0 if framed else gamma,
                              detect=spec.get("detect"), on_missing=spec.get("on_missing"), settings=spec.detector,
                              color=color_frame(image))
    if framed:  # the detector's box -> the training faces' framing -> the δ/γ crop (dlfers.face.framing)
        if found:
            box = frame_box(box, spec.get("frame_scale"), spec.get("frame_shift"), gray.shape)
        box = crop_box(box, delta, gamma, gray.shape)
    return gray, box, found


def reduce_face(crop: np.ndarray, spec: Spec) -> np.ndarray:
    """Resize a cropped face and keep its wavelet LL subband (paper Sec. 3.1).

    Parameters
    ----------
    crop : (h, w) uint8 numpy.ndarray
        The δ/γ crop (eye-aligned where ``align`` is on).
    spec : Spec
        ``face_size``, ``wavelet`` and ``wavelet_level`` are read.

    Returns
    -------
    (face_size, face_size) float32 numpy.ndarray in [0, 255]
    """
    import cv2

    level = int(spec.get("wavelet_level"))
    side = int(spec.get("face_size")) * 2 ** level
    interp = cv2.INTER_AREA if min(crop.shape) > side else cv2.INTER_LINEAR
    resized = cv2.resize(crop, (side, side), interpolation=interp).astype(np.float32)
    return ll_subband(resized, spec.get("wavelet"), level)


def face_features(face: np.ndarray, spec: Spec, box: FaceBox | None = None, found: bool = True) -> Features:
    """Dense descriptors, region ids and texture values of a preprocessed face.

    Parameters
    ----------
    face : (face_size, face_size) float32 numpy.ndarray
        What :func:`reduce_face` returns.
    spec : Spec
        The descriptor kinds, layout, step, texture channels and backend are read.
    box : FaceBox or None, default None
        Kept in the result (the face's box in its frame).
    found : bool, default True
        Kept in the result (whether a detector found the face).

    Returns
    -------
    Features
        Without ``face`` and ``aligned`` (:func:`box_features` sets them).
    """
    k = _kernels.get(spec.get("backend"))
    face = as_image(face, min_size=16)
    step = int(spec.get("step"))
    sources = [face if s == "face" else fused_image(face) for s in spec.layout.sources]
    # each source's descriptors are written straight into their rows of one array per
    # kind: concatenating afterwards costs more than computing them (fresh pages)
    ny, nx = grid_shape(face.shape[0], face.shape[1], step)
    n = ny * nx
    descs = {d.kind: np.empty((n * len(sources), d.dim), np.float32) for d in spec.descriptor_specs}
    for i, img in enumerate(sources):  # in region_ids' order: face grid, then fused
        source_descriptors(img, spec.descriptor_specs, k, {c: a[i * n : (i + 1) * n] for c, a in descs.items()})
    return Features(descriptors=descs, regions=region_ids(spec.layout, face.shape, step), found=found, box=box,
                    texture=texture_raws(spec.textures, sources, spec.layout, k))


def box_features(gray: np.ndarray, box: FaceBox, spec: Spec) -> Features:
    """:class:`Features` of the cropped ``box`` of a frame, with ``face`` and ``aligned`` set.

    Parameters
    ----------
    gray : (H, W) uint8 numpy.ndarray
    box : FaceBox
        A δ/γ-cropped box in ``gray``'s pixels.
    spec : Spec

    Returns
    -------
    Features
        Eye alignment where ``align`` is on, then :func:`reduce_face` and :func:`face_features`.
    """
    crop, aligned = face_crop(gray, box, bool(spec.get("align")))
    face = reduce_face(crop, spec)
    feats = face_features(face, spec, box, True)
    feats.face, feats.aligned = face, aligned
    return feats


def mirrored(feats: Sequence[Features], y: np.ndarray, spec: Spec) -> tuple[list[Features], np.ndarray]:
    """``feats`` followed by the features of each face's mirror image, and ``y`` twice (``mirror=True``).

    Parameters
    ----------
    feats : sequence of Features
        Training features, each with its ``face`` ((face_size, face_size) float32).
    y : (n,) numpy.ndarray
        Labels.
    spec : Spec
        The descriptor settings the flips are described with.

    Returns
    -------
    features : list of 2n Features
        The originals first, then the flips in the same order.
    labels : (2n,) numpy.ndarray

    Raises
    ------
    ValueError
        When a feature set carries no face (e.g. built without :meth:`DLFERS.extract`).
    """
    flips: list[Features] = []
    for i, f in enumerate(feats):
        if f.face is None:
            raise ValueError(f"mirror=True needs the preprocessed face of every training item, but item {i} has "
                             "none; extract features with DLFERS.extract (which keeps Features.face)")
        flipped = flip_face(f.face)
        g: Any = face_features(flipped, spec, f.box, f.found)
        g.face, g.aligned = flipped, f.aligned
        flips.append(g)
    return [*feats, *flips], np.concatenate([y, y])


# ------------------------------------------------------------------ what the learned stages read of the spec
def fit_kind_codebook(descriptors: Sequence[np.ndarray], labels: np.ndarray, spec: Spec, index: int) -> np.ndarray:
    """The codebook of the ``index``-th descriptor kind of ``spec`` (the codebook stage).

    Parameters
    ----------
    descriptors : sequence of ndarray of shape (N_i, dim), dtype float32
        That kind's descriptors of each training image.
    labels : ndarray of shape (n_images,)
        Their classes.
    spec : Spec
        Its ``n_words``, ``per_class``, ``max_samples`` and ``random_state`` are used.
    index : int
        The kind's position in ``spec.kinds``: the k-means seed is ``random_state + index``.

    Returns
    -------
    ndarray of shape (K, dim), dtype float32
        :func:`dlfers.model.codebook.fit_codebook` with these settings.
    """
    return codebook.fit_codebook(descriptors, labels, int(spec.get("n_words")), bool(spec.get("per_class")),
                                 int(spec.get("max_samples")), int(spec.get("random_state")) + index)


def histogram_options(spec: Spec) -> dict[str, Any]:
    """The settings of the histogram stage, as keyword arguments of :func:`dlfers.model.codebook.spof_histograms`.

    Parameters
    ----------
    spec : Spec
        A configuration.

    Returns
    -------
    dict of str to object
        ``power``, ``backend``, ``soft``, ``beta`` (``soft_beta``) and ``precision``.
    """
    return {"power": float(spec.get("power")), "backend": spec.get("backend"), "soft": int(spec.get("soft")),
            "beta": float(spec.get("soft_beta")), "precision": str(spec.get("precision"))}


def fit_svms(encodings: dict[str, np.ndarray], labels: np.ndarray, spec: Spec, probability: bool) -> FusedSVMs:
    """The SVM(s) of ``spec``'s fusion rule fitted on the channels' inputs (the SVM stage).

    Parameters
    ----------
    encodings : dict of str to ndarray of shape (n, F), dtype float32
        Each channel's training inputs.
    labels : ndarray of shape (n,)
        Their classes.
    spec : Spec
        Its ``kernel``, ``C``, ``svm_gamma``, ``fusion``, ``random_state`` and ``backend`` are used.
    probability : bool
        Calibrate the probabilities (needed for ``predict_proba``).

    Returns
    -------
    FusedSVMs
        :func:`dlfers.model.classify.fit_fused` with these settings.
    """
    return fit_fused(encodings, labels, spec.get("kernel"), spec.get("C"), spec.get("svm_gamma"), spec.get("fusion"),
                     int(spec.get("random_state")), probability=probability, backend=spec.get("backend"))
