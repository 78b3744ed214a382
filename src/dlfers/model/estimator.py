"""The DLFERS estimator: image -> face -> regions -> descriptors -> codes -> histogram -> SVM."""

from __future__ import annotations

import os
from collections.abc import Sequence
from operator import attrgetter
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils.validation import check_is_fitted

from .._util.parallel import batch_threads, thread_map
from .._util.progress import progress_bar
from .._util.threads import single_threaded_blas
from ..face.align import face_crop, warn_fallbacks
from ..face.detect import FaceBox
from ..features.base import Features, as_images
from ..features.descriptors import grid_shape
from ..features.texture import fit_scales, texture_encodings
from ..image.read import ImageError, to_gray_uint8
from . import stages
from .classify import FUSIONS, FusedSVMs
from .codebook import codeword_sqnorms, quantise_codebook, spof_histograms
from .evidence import explain_faces, explain_frame
from .file import save
from .frames import classify_boxes, locate_faces
from .largescale import CHUNK, fit_linear
from .params import SAVED_PARAM_DEFAULTS, numpydoc_parameters
from .presets import PRESETS
from .results import FaceResult, check_predict_options
from .spec import PARAMETERS, Spec
from .state import pack, unpack

_PARAM_VALUES = attrgetter(*PARAMETERS)  # every parameter's value, in one C call

__all__ = ["DLFERS", "FaceResult", "Features", "FUSIONS", "PRESETS", "SAVED_PARAM_DEFAULTS"]


def _check_labels(y: Sequence[Any] | np.ndarray) -> np.ndarray:
    """``y`` as an array; ValueError naming the positions of missing labels (None, NaN), which would
    otherwise become a class of their own."""
    import math

    a = y if isinstance(y, np.ndarray) else np.asarray(y, dtype=object)  # NaN in a list of str would become "nan"
    if a.ndim != 1:
        raise ValueError(f"labels must be one per image (1-D), got shape {a.shape}")
    if a.dtype.kind == "f":
        missing = np.flatnonzero(~np.isfinite(a)).tolist()
    elif a.dtype.kind == "O":
        missing = [i for i, v in enumerate(a.tolist())
                   if v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(v))]
    else:
        missing = []
    if not isinstance(y, np.ndarray):
        a = np.asarray(y)
    if missing:
        raise ValueError(f"labels must be class names or numbers; {len(missing)} missing (None or NaN) at "
                         f"position(s) {missing[:10]}{' ...' if len(missing) > 10 else ''}")
    return a


class DLFERS(ClassifierMixin, BaseEstimator):
    """Facial expression recogniser of the DLFERS paper, as a scikit-learn classifier.

    ``fit(X, y)`` takes frames (gray or BGR arrays, any size) and expression labels.
    Every learned part (codebooks, SVMs) is fitted inside ``fit`` only.

    {parameters}

    Attributes
    ----------
    classes_ : (k,) numpy.ndarray
        The class labels, sorted.
    codebooks_ : dict of str to (K, dim) float32 numpy.ndarray
        Each descriptor kind's codebook.
    svms_ : dict of str to KernelSVC or LinearMapSVC
        The fitted SVMs (one, or one per channel with ``fusion="decision"``).
    texture_scales_ : dict of str to float
        Each texture channel's learned weight.

    Every parameter's row (type, default, allowed values) is in :data:`dlfers.model.params.PARAMS`;
    this section is written from it.
    """

    def __init__(
        self,
        detect: bool = True,
        delta: float = 0.15,
        gamma: float = 0.15,
        on_missing: str = "full",
        detector: str = "cascade+yunet",
        detect_size: int | None = None,
        min_face: float | None = None,
        detect_scale: float | None = None,
        frame_scale: float = 1.0,
        frame_shift: float = 0.0,
        detect_score: float | None = None,
        align: bool = False,
        face_size: int = 128,
        wavelet: str = "haar",
        wavelet_level: int = 1,
        layout: str = "whole+halves+grid4+fused+fused4",
        descriptors: str = "tisf+tipm",
        texture: str = "gabor",
        texture_weight: float | None = None,
        step: int = 4,
        sigma: float = 1.0,
        n_words: int = 15,
        per_class: bool = True,
        max_samples: int = 5000,
        mirror: bool = False,
        soft: int = 5,
        soft_beta: float = 10.0,
        precision: str = "int8",
        power: float = 0.5,
        classifier: str = "kernel",
        kernel: str = "intersection",
        C: float = 10.0,
        svm_gamma: float | None = None,
        fusion: str = "feature",
        backend: str = "auto",
        random_state: int = 0,
        progress: bool = False,
        n_jobs: int | None = None,
    ) -> None:
        self.detect = detect
        self.delta = delta
        self.gamma = gamma
        self.on_missing = on_missing
        self.detector = detector
        self.detect_size = detect_size
        self.min_face = min_face
        self.detect_scale = detect_scale
        self.frame_scale = frame_scale
        self.frame_shift = frame_shift
        self.detect_score = detect_score
        self.align = align
        self.face_size = face_size
        self.wavelet = wavelet
        self.wavelet_level = wavelet_level
        self.layout = layout
        self.descriptors = descriptors
        self.texture = texture
        self.texture_weight = texture_weight
        self.step = step
        self.sigma = sigma
        self.n_words = n_words
        self.per_class = per_class
        self.max_samples = max_samples
        self.mirror = mirror
        self.soft = soft
        self.soft_beta = soft_beta
        self.precision = precision
        self.power = power
        self.classifier = classifier
        self.kernel = kernel
        self.C = C
        self.svm_gamma = svm_gamma
        self.fusion = fusion
        self.backend = backend
        self.random_state = random_state
        self.progress = progress
        self.n_jobs = n_jobs

    # ----------------------------------------------------------------- configuration
    @classmethod
    def from_preset(cls, name: str, **overrides: Any) -> DLFERS:
        """An unfitted model with the parameters of ``PRESETS[name]``, then ``overrides``.
        Raises ValueError for an unknown preset name (the message lists the known ones).

        Parameters
        ----------
        name : str
            A key of :data:`dlfers.model.presets.PRESETS` ("default", "paper", "realtime", "general").
        **overrides : object
            DLFERS parameters that replace the preset's.

        Returns
        -------
        DLFERS
            An unfitted model.
        """
        if name not in PRESETS:
            raise ValueError(f"unknown preset {name!r}; known presets: {', '.join(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def spec(self) -> Spec:
        """The validated configuration (:class:`dlfers.model.spec.Spec`) of the current parameters, built once
        per parameter set.  Raises ValueError for an invalid value (the message names the parameter)."""
        values = _PARAM_VALUES(self)
        cached = self.__dict__.get("_spec_cache")
        if cached is not None and cached[0] == values:
            spec: Spec = cached[1]
            return spec
        spec = Spec.from_params(dict(zip(PARAMETERS, values)))
        self.__dict__["_spec_cache"] = (values, spec)
        return spec

    # ----------------------------------------------------------------- image -> face
    def preprocess(self, image: np.ndarray) -> tuple[np.ndarray, FaceBox, bool]:
        """Crop and reduce one frame to the face the descriptors see.

        Parameters
        ----------
        image : ndarray
            One frame: (H, W) gray or (H, W, 3|4) BGR(A); uint8, uint16 or float.

        Returns
        -------
        face : (face_size, face_size) float32 in [0, 255] (LL subband of the resized crop).
        box : the cropped face box in frame pixels.
        found : whether a face was detected.

        Raises
        ------
        dlfers.image.read.ImageError
            For an array that is not a usable image.
        dlfers.face.detect.NoFaceError
            When no face is found and ``on_missing="error"``.
        """
        gray, box, found = stages.locate_face(image, self.spec())
        return stages.reduce_face(face_crop(gray, box, bool(self.align))[0], self.spec()), box, found

    def reduce_face(self, crop: np.ndarray) -> np.ndarray:
        """Resize a cropped (h, w) uint8 face and keep its wavelet LL subband
        (:func:`dlfers.model.stages.reduce_face`).  Returns (face_size, face_size) float32 in [0, 255].

        Parameters
        ----------
        crop : ndarray of shape (h, w), dtype uint8
            A cropped face.

        Returns
        -------
        ndarray of shape (face_size, face_size), dtype float32
            The LL subband, values in [0, 255].
        """
        return stages.reduce_face(crop, self.spec())

    def face_features(self, face: np.ndarray, box: FaceBox | None = None, found: bool = True) -> Features:
        """Descriptors and region ids of a preprocessed (face_size, face_size) face
        (:func:`dlfers.model.stages.face_features`).

        Parameters
        ----------
        face : ndarray of shape (face_size, face_size), dtype float32
            A preprocessed face (:meth:`preprocess`).
        box : FaceBox or None, default=None
            The face's box in its frame, kept in the features (None: none).
        found : bool, default=True
            Whether the face was detected (False: the whole-frame fallback).

        Returns
        -------
        Features
            Its descriptors and region ids.
        """
        return stages.face_features(face, self.spec(), box, found)

    def extract(self, images: Sequence[np.ndarray], progress: bool | None = None) -> list[Features]:
        """Features of every frame (preprocess + descriptors); no learned state is used.

        Parameters
        ----------
        images : sequence of ndarray
            Frames: (H, W) gray or (H, W, 3|4) BGR(A) arrays; uint8, uint16 or float.
        progress : bool or None, default=None
            Show a progress bar (None: the model's ``progress``).

        Returns
        -------
        list of Features
            One per frame, in order.
        """
        self.spec()
        ny, nx = grid_shape(self.face_size, self.face_size, self.step)
        if ny * nx == 0:
            raise ValueError(f"face_size {self.face_size} is too small for one 16-pixel descriptor")
        show = self.progress if progress is None else progress
        images = list(images)
        done = thread_map(self._extract_one, list(enumerate(images)), batch_threads(self.n_jobs, len(images)))
        out = list(progress_bar(done, desc="descriptors", total=len(images), disable=not show))
        warn_fallbacks([f.aligned for f in out])
        return out

    def _extract_one(self, item: tuple[int, np.ndarray]) -> Features:
        i, img = item
        try:
            gray, box, found = stages.locate_face(img, self.spec())
            feats = stages.box_features(gray, box, self.spec())
        except ImageError as exc:
            if exc.path is not None:
                raise
            raise ImageError(f"item {i}", exc.problem) from None
        except ValueError as exc:  # e.g. an image too small for the crop: say which item of the batch
            raise ImageError(f"item {i}", str(exc)) from None
        feats.found = found
        return feats

    # ----------------------------------------------------------------- features -> SVM
    def _encode(self, feats: Sequence[Features], kind: str) -> np.ndarray:
        """SPOF histograms (n, n_regions·K) float32 of one kind (the codebook stage)."""
        cb, q8 = self.codebooks_[kind], self.precision == "int8"
        cache = self.__dict__.setdefault("_sqnorms", {})  # (kind, int8?) -> (codebook, its constant term)
        if (kind, q8) not in cache or cache[kind, q8][0] is not cb:  # only what this precision uses
            cache[kind, q8] = (cb, quantise_codebook(cb) if q8 else codeword_sqnorms(cb))
        const = cache[kind, q8][1]
        spec = self.spec()
        return spof_histograms([f.descriptors[kind] for f in feats], [f.regions for f in feats],
                               spec.n_regions, cb, code_sqnorm=None if q8 else const,
                               check_finite=False,  # descriptors of validated faces are finite
                               code_q8=const if q8 else None, **stages.histogram_options(spec))

    def encodings(self, feats: Sequence[Features]) -> dict[str, np.ndarray]:
        """Channel -> (n, F) float32 SVM input histograms: each kind's, then the texture's (if any).

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).

        Returns
        -------
        dict of str to ndarray of shape (n, F), dtype float32
            Each channel's SVM input: the descriptor kinds', then the texture channels'.
        """
        spec = self.spec()
        kinds = spec.kinds
        threads = batch_threads(self.n_jobs, len(feats) // 8)  # chunks of at least 8 faces
        if threads == 1:
            with single_threaded_blas():  # one limit for both kinds (nested entries are free)
                out = {kind: self._encode(feats, kind) for kind in kinds}
        else:
            bounds = [len(feats) * i // threads for i in range(threads + 1)]
            chunks = [feats[a:b] for a, b in zip(bounds[:-1], bounds[1:])]
            parts = list(thread_map(lambda c: [self._encode(c, kind) for kind in kinds], chunks, threads))
            out = {kind: np.vstack([p[i] for p in parts]) for i, kind in enumerate(kinds)}
        out.update(texture_encodings(spec.textures, feats, spec.n_regions, float(self.power),
                                     getattr(self, "texture_scales_", {})))
        return out

    def fit_features(self, feats: Sequence[Features], y: Sequence[Any] | np.ndarray) -> DLFERS:
        """Fit codebooks and SVMs on precomputed :class:`Features` (see :meth:`extract`).

        The composition of the stages: :func:`dlfers.model.codebook.fit_codebook` per kind,
        :func:`dlfers.model.codebook.spof_histograms`, :func:`dlfers.model.classify.fit_fused`.

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).
        y : sequence or ndarray of shape (n,)
            The expression label of each.

        Returns
        -------
        DLFERS
            The fitted model (self).
        """
        spec = self.spec()
        y = _check_labels(y)
        if len(feats) != len(y):
            raise ValueError(f"{len(feats)} feature sets but {len(y)} labels")
        if self.classifier == "linear":  # the same fit as from frames, with the features as one chunk
            return fit_linear(self, lambda: [(0, feats)], y, progress=bool(self.progress))
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least 2 classes to fit, got {len(self.classes_)}")
        if self.mirror:  # training faces only: a fold's test faces and their flips never get here
            feats, y = stages.mirrored(feats, y, self.spec())
        self.codebooks_ = {}
        for i, kind in enumerate(spec.kinds):
            self.codebooks_[kind] = stages.fit_kind_codebook([f.descriptors[kind] for f in feats], y, spec, i)
        self.texture_scales_ = {}
        encodings = self.encodings(feats)
        self.texture_scales_ = fit_scales(encodings, spec.kinds, spec.textures, self.texture_weight)  # learned here
        for kind, scale in self.texture_scales_.items():
            encodings[kind] *= np.float32(scale)
        fused = stages.fit_svms(encodings, y, spec, probability=True)
        self.svms_: dict[str, Any] = dict(fused.svms)
        self.n_features_in_ = int(self.face_size) ** 2
        return self

    def _fused(self) -> FusedSVMs:
        check_is_fitted(self, "svms_")
        return FusedSVMs(self.svms_, self.classes_, self.fusion)

    def transform_features(self, feats: Sequence[Features]) -> np.ndarray:
        """SPOF histograms (n, n_regions·K summed over kinds) of precomputed features.

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).

        Returns
        -------
        ndarray of shape (n, n_features), dtype float32
            The SPOF histograms.
        """
        check_is_fitted(self, "svms_")
        return np.hstack(list(self.encodings(feats).values()))

    def predict_proba_features(self, feats: Sequence[Features]) -> np.ndarray:
        """Class probabilities (n, n_classes) of precomputed features (fused by averaging).

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            Columns as ``classes_``.
        """
        return self._fused().predict_proba(self.encodings(feats))

    def decision_features(self, feats: Sequence[Features]) -> np.ndarray:
        """SVM decision values (n, n_classes), averaged over the fused SVMs.

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            Columns as ``classes_``.
        """
        return self._fused().decision_function(self.encodings(feats))

    def predict_with_proba_features(self, feats: Sequence[Features]) -> tuple[np.ndarray, np.ndarray]:
        """Labels (n,) as :meth:`predict_features` and probabilities (n, n_classes) as
        :meth:`predict_proba_features`, encoding every face once.

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).

        Returns
        -------
        labels : ndarray of shape (n,)
            Predicted labels.
        proba : ndarray of shape (n, n_classes), dtype float64
            Class probabilities, columns as ``classes_``.
        """
        return self._fused().predict_with_proba(self.encodings(feats))

    def predict_features(self, feats: Sequence[Features]) -> np.ndarray:
        """Predicted labels of precomputed features (see :meth:`dlfers.model.classify.FusedSVMs.predict`).

        Parameters
        ----------
        feats : sequence of Features
            Precomputed features, one per frame (from :meth:`extract` or
            :meth:`face_batch`).

        Returns
        -------
        ndarray of shape (n,)
            Predicted labels (values of ``classes_``).
        """
        return self._fused().predict(self.encodings(feats))

    # ----------------------------------------------------------------- sklearn API on frames
    def fit(self, X: Sequence[np.ndarray], y: Sequence[Any]) -> DLFERS:
        """Fit on frames ``X`` (sequence of 2-D gray or 3-D BGR arrays) and labels ``y``.

        With ``classifier="linear"`` the frames are described in chunks of
        :data:`dlfers.model.largescale.CHUNK` and only their histograms are kept
        (:func:`dlfers.model.largescale.fit_linear`), so tens of thousands of faces fit in memory.

        Parameters
        ----------
        X : sequence of ndarray
            Frames: (H, W) gray or (H, W, 3|4) BGR(A) arrays; uint8, uint16 or float.
        y : sequence of shape (n,)
            The expression label of each frame.

        Returns
        -------
        DLFERS
            The fitted model (self).
        """
        if self.classifier != "linear":
            return self.fit_features(self.extract(as_images(X)), y)
        images = as_images(X)
        labels = np.asarray(y)
        if len(images) != len(labels):
            raise ValueError(f"{len(images)} frames but {len(labels)} labels")

        def chunks() -> Any:
            return ((a, self.extract(images[a : a + CHUNK], progress=False)) for a in range(0, len(images), CHUNK))

        return fit_linear(self, chunks, labels, progress=bool(self.progress))

    def predict(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Expression label of each frame: (n,) array of class labels.

        Parameters
        ----------
        X : sequence of ndarray
            Frames: (H, W) gray or (H, W, 3|4) BGR(A) arrays; uint8, uint16 or float.

        Returns
        -------
        ndarray of shape (n,)
            Predicted labels (values of ``classes_``).
        """
        check_is_fitted(self, "svms_")
        return self.predict_features(self.extract(as_images(X), progress=False))

    def predict_proba(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities of each frame: (n, n_classes) float64, columns as ``classes_``.

        Parameters
        ----------
        X : sequence of ndarray
            Frames: (H, W) gray or (H, W, 3|4) BGR(A) arrays; uint8, uint16 or float.

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            Columns as ``classes_``.
        """
        check_is_fitted(self, "svms_")
        return self.predict_proba_features(self.extract(as_images(X), progress=False))

    def decision_function(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """SVM decision values (n, n_classes).

        Parameters
        ----------
        X : sequence of ndarray
            Frames: (H, W) gray or (H, W, 3|4) BGR(A) arrays; uint8, uint16 or float.

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            Averaged over the fused SVMs.
        """
        check_is_fitted(self, "svms_")
        return self.decision_features(self.extract(as_images(X), progress=False))

    def transform(self, X: Sequence[np.ndarray]) -> np.ndarray:
        """SPOF histogram features of each frame (n, n_features) float32.

        Parameters
        ----------
        X : sequence of ndarray
            Frames: (H, W) gray or (H, W, 3|4) BGR(A) arrays; uint8, uint16 or float.

        Returns
        -------
        ndarray of shape (n, n_features), dtype float32
            The SPOF histograms.
        """
        return self.transform_features(self.extract(as_images(X), progress=False))

    # ----------------------------------------------------------------- trained models in use
    def face_batch(self, faces: Sequence[np.ndarray]) -> list[Features]:
        """Features (with ``face``) of pre-cropped faces: resize and LL only (see :meth:`predict_faces`).

        Parameters
        ----------
        faces : sequence of ndarray
            Pre-cropped faces: (h, w) gray or (h, w, 3|4) BGR(A) arrays.

        Returns
        -------
        list of Features
            One per face, with ``face`` set.
        """
        self.spec()
        out = []
        for i, face in enumerate(as_images(faces)):
            try:
                gray = to_gray_uint8(face)
            except ImageError as exc:
                raise ImageError(f"item {i}", exc.problem) from None
            out.append(stages.box_features(gray, FaceBox(0, 0, gray.shape[1], gray.shape[0]), self.spec()))
        return out

    def predict_faces(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Labels (n,) of pre-cropped faces: no detection and no δ/γ crop, only (eye alignment,) resize and LL.

        ``faces`` are gray or BGR arrays of the region the model classifies, e.g. the
        ``box`` crops that :meth:`predict_image` reports.

        Parameters
        ----------
        faces : sequence of ndarray
            Pre-cropped faces: (h, w) gray or (h, w, 3|4) BGR(A) arrays.

        Returns
        -------
        ndarray of shape (n,)
            Predicted labels.
        """
        check_is_fitted(self, "svms_")
        return self.predict_features(self.face_batch(faces))

    def predict_proba_faces(self, faces: Sequence[np.ndarray]) -> np.ndarray:
        """Class probabilities (n, n_classes) float64 of pre-cropped faces (see :meth:`predict_faces`).

        Parameters
        ----------
        faces : sequence of ndarray
            Pre-cropped faces: (h, w) gray or (h, w, 3|4) BGR(A) arrays.

        Returns
        -------
        ndarray of shape (n, n_classes), dtype float64
            Columns as ``classes_``.
        """
        check_is_fitted(self, "svms_")
        return self.predict_proba_features(self.face_batch(faces))

    def predict_image(
        self,
        frame: np.ndarray,
        max_faces: int | None = None,
        *,
        detect_size: int | None = None,
        min_face: float | None = None,
        detect_scale: float | None = None,
    ) -> list[FaceResult]:
        """Every face of one frame with its expression and class probabilities.

        Parameters
        ----------
        frame : ndarray of shape (H, W) or (H, W, 3|4)
            Gray or BGR(A) array; uint8, uint16 or float.
        max_faces : int or None, default=None
            Keep only the largest this many faces (None: all; else >= 1).
        detect_size, min_face, detect_scale : int or None, float or None, float or None, default=None
            Face detector settings for this call
            (None: the model's own; see the class docstring), e.g. a wider search
            than the model was trained with.  They change where faces are looked
            for, not how a found face is classified.

        Returns
        -------
        One :class:`FaceResult` per detected face, largest first.  A frame without a
        face gives a single result with ``found=False`` (no label, no probabilities),
        whatever ``on_missing`` says.  With ``detect=False`` the whole frame (after
        the δ/γ crop) is the one face.

        Raises
        ------
        dlfers.image.read.ImageError
            For an array that is not a usable image.
        ValueError
            For ``max_faces`` < 1 or detector settings out of range.
        """
        check_is_fitted(self, "svms_")
        settings = check_predict_options(self, max_faces, detect_size, min_face, detect_scale)
        gray, boxes = locate_faces(self, frame, max_faces, settings=settings)
        return classify_boxes(self, gray, boxes) if boxes else [FaceResult.no_face()]

    def explain(self, frame: np.ndarray, max_faces: int | None = None, **detector: Any) -> list[Any]:
        """Exact per-region evidence for every face of one frame (:func:`dlfers.model.evidence.explain_frame`;
        ``max_faces`` and the detector overrides as :meth:`predict_image`): Explanations, largest first.

        Parameters
        ----------
        frame : ndarray
            One frame: (H, W) gray or (H, W, 3|4) BGR(A).
        max_faces : int or None, default=None
            Keep only the largest this many faces (None: all).
        **detector : object
            Detector overrides for this call (``detect_size``, ``min_face``,
            ``detect_scale``), as :meth:`predict_image`.

        Returns
        -------
        list of Explanation
            One per face, largest first (:mod:`dlfers.model.evidence`).
        """
        return explain_frame(self, frame, max_faces, **detector)

    def explain_faces(self, faces: Sequence[np.ndarray]) -> list[Any]:
        """Explanations of pre-cropped faces (see :meth:`predict_faces`, :mod:`dlfers.model.evidence`).

        Parameters
        ----------
        faces : sequence of ndarray
            Pre-cropped faces: (h, w) gray or (h, w, 3|4) BGR(A) arrays.

        Returns
        -------
        list of Explanation
            One per face, in order.
        """
        return explain_faces(self, faces)

    # ----------------------------------------------------------------- state (model files)
    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
        """The fitted model as JSON-able metadata and plain arrays (what :mod:`dlfers.model.file` stores;
        layout: :func:`dlfers.model.state.pack`).  Raises NotFittedError if the model is not fitted."""
        check_is_fitted(self, "svms_")
        params = {k: (v.item() if isinstance(v, np.generic) else v) for k, v in self.get_params(deep=False).items()}
        meta, arrays = pack(params, self.classes_, self.codebooks_, self.svms_,
                            int(getattr(self, "n_features_in_", 0)), dict(getattr(self, "texture_scales_", {})))
        if getattr(self, "provenance_", None):
            meta["provenance"] = dict(self.provenance_)
        return meta, arrays

    @classmethod
    def from_state(cls, meta: dict[str, Any], arrays: dict[str, np.ndarray], backend: str | None = None) -> DLFERS:
        """A fitted model from :meth:`to_state` output; ``backend`` overrides the saved one.

        Raises ValueError for invalid parameters (checked first) or parts that do not fit together
        (kinds, widths, classes, calibration; the message says which), KeyError or TypeError for
        missing or mistyped entries.

        Parameters
        ----------
        meta : dict of str to object
            The JSON-able part of :meth:`to_state`'s output (parameters, classes, versions).
        arrays : dict of str to ndarray
            Its arrays (codebooks, SVM parts), name -> array.
        backend : str or None, default=None
            Kernel backend to use instead of the saved one (None: the saved one).

        Returns
        -------
        DLFERS
            A fitted model.
        """
        params = {**SAVED_PARAM_DEFAULTS, **meta["params"]}  # older files: what they were trained with
        if backend is not None:
            params["backend"] = backend
        model = cls(**params)
        fitted = unpack(model.spec(), meta, arrays)
        model.classes_, model.codebooks_, model.svms_ = fitted.classes, fitted.codebooks, fitted.svms
        model.texture_scales_ = fitted.texture_scales
        model.n_features_in_ = int(meta.get("n_features_in", int(model.face_size) ** 2))
        if isinstance(meta.get("provenance"), dict):
            model.provenance_ = dict(meta["provenance"])
        return model

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted model to ``path`` in the pickle-free format of :mod:`dlfers.model.file`.

        Parameters
        ----------
        path : str or os.PathLike
            The model file to write (temporary name, then renamed over it).
        """
        save(self, path)

    def __sklearn_tags__(self):  # type: ignore[no-untyped-def]
        tags = super().__sklearn_tags__()
        tags.input_tags.two_d_array = False
        tags.input_tags.three_d_array = True
        return tags


DLFERS.__doc__ = (DLFERS.__doc__ or "").replace(
    "{parameters}", numpydoc_parameters().replace("\n", "\n    "))
