"""What a fitted model says about the faces of a frame: :class:`FaceResult`, and the checked options of a call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..face.detect import DetectorSettings, FaceBox, detector_settings
from ..features.base import Features
from .spec import Spec

__all__ = ["FaceResult", "FittedModel", "HasSpec", "check_predict_options", "landmark_list"]


class HasSpec(Protocol):
    """Anything with the validated configuration of a model (a :class:`~dlfers.DLFERS`)."""

    def spec(self) -> Spec: ...


class FittedModel(HasSpec, Protocol):
    """What the frame and evidence functions read of a fitted :class:`~dlfers.DLFERS` (typed structurally,
    so that they need not import the estimator that calls them)."""

    classes_: np.ndarray
    svms_: dict[str, Any]
    codebooks_: dict[str, np.ndarray]
    kernel: str
    fusion: str
    backend: str
    face_size: int
    detect: bool
    delta: float
    gamma: float

    def predict_with_proba_features(self, feats: Sequence[Features]) -> tuple[np.ndarray, np.ndarray]: ...

    def face_batch(self, faces: Sequence[np.ndarray]) -> list[Features]: ...

    def encodings(self, feats: Sequence[Features]) -> dict[str, np.ndarray]: ...


@dataclass(frozen=True)
class FaceResult:
    """The expression of one face in a frame.

    Attributes
    ----------
    found : bool
        False for the explicit "no face in this frame" result.
    box : FaceBox or None, default=None
        The δ/γ-cropped face box in frame pixels (None when not found); from the "yunet"
        detector with its five landmarks and score (:class:`~dlfers.face.detect.FaceBox`).
    label : object, default=None
        The predicted class (None when not found): the most probable class of
        ``probabilities``, as :meth:`DLFERS.predict` gives it.
    probabilities : dict of object to float, default={}
        Class -> calibrated probability (empty when not found).
    """

    found: bool
    box: FaceBox | None = None
    label: Any = None
    probabilities: dict[Any, float] = field(default_factory=dict)

    @classmethod
    def no_face(cls) -> FaceResult:
        return cls(found=False)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: ``found``, ``box`` [x, y, w, h] or None, ``landmarks`` [[x, y] * 5] or None,
        ``score`` or None, ``label``, ``probabilities``."""
        return {
            "found": self.found,
            "box": None if self.box is None else list(self.box.as_tuple()),
            "landmarks": landmark_list(self.box),
            "score": None if self.box is None or self.box.score is None else round(float(self.box.score), 4),
            "label": _plain(self.label),
            "probabilities": {str(k): float(v) for k, v in self.probabilities.items()} if self.found else None,
        }


def landmark_list(box: FaceBox | None) -> list[list[float]] | None:
    """A box's five landmarks as [[x, y], ...] rounded to 0.1 pixel.

    Parameters
    ----------
    box : FaceBox or None
        A face box.

    Returns
    -------
    list of [float, float] or None
        None without landmarks.
    """
    if box is None or box.landmarks is None:
        return None
    return [[round(float(x), 1), round(float(y), 1)] for x, y in box.landmarks]


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def check_predict_options(model: HasSpec, max_faces: int | None = None, detect_size: int | None = None,
                          min_face: float | None = None, detect_scale: float | None = None) -> DetectorSettings:
    """The detector settings of a call, checked before a frame, a batch or a video starts.

    ``max_faces`` must be None or an integer >= 1; the detector overrides (None: the
    model's own setting) must pass :func:`dlfers.face.detect.detector_settings`.  Returns the
    model's settings with the overrides applied.

    Parameters
    ----------
    model : HasSpec
        The model (its detector settings).
    max_faces : int or None, default=None
        None or an integer >= 1.
    detect_size : int or None, default=None
        Detector override (None: the model's).
    min_face : float or None, default=None
        Detector override (None: the model's).
    detect_scale : float or None, default=None
        Detector override (None: the model's).

    Returns
    -------
    DetectorSettings
        The model's settings with the overrides applied.

    Raises
    ------
    ValueError
        For options that would fail every frame.
    """

    if max_faces is not None and (isinstance(max_faces, bool) or not isinstance(max_faces, (int, np.integer))
                                  or max_faces < 1):
        raise ValueError(f"max_faces must be an integer >= 1 or None, got {max_faces!r}")
    own = model.spec().detector
    if (detect_size, min_face, detect_scale) == (None, None, None):
        return own
    return detector_settings(own.detector, own.detect_size if detect_size is None else detect_size,
                             own.min_face if min_face is None else min_face,
                             own.scale_factor if detect_scale is None else detect_scale, own.score_threshold)
