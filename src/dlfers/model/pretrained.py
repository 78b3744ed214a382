"""``dlfers.pretrained()``: the general model shipped in the package, learned from FER2013.

The file ``weights/fer2013.dlfers`` beside this module is an ordinary model file (pickle-free,
checksummed: :mod:`dlfers.model.file`) holding weights only: codebooks, the linear SVM's
weights on the additive feature map (:class:`dlfers.model.linear.LinearMapSVC`) and its
calibration; no training face's features.  Its header records how it was made
(``provenance``: data, command, dlfers version, PublicTest figures), which
``dlfers config`` prints.  ``python .ci/build_pretrained.py`` rebuilds it from
``../shared/data/fer2013`` (see ``docs/pretrained.md``).

FER2013 (Goodfellow et al., ICONIP 2013) is research data gathered from web image searches;
the model is offered for research and evaluation.  Users with other needs train their own
with ``dlfers train``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .estimator import DLFERS
from .file import ModelFileError, read_model_file
from .loading import load
from .spec import PARAMETERS

__all__ = ["PRETRAINED", "PRETRAINED_FILE", "is_pretrained", "pretrained", "pretrained_info"]

#: the name that stands for the shipped model wherever a model file is asked for (CLI ``--model``)
PRETRAINED = "pretrained"
#: the shipped model file
PRETRAINED_FILE = Path(__file__).with_name("weights") / "fer2013.dlfers"


def is_pretrained(model: str | os.PathLike[str] | None) -> bool:
    """Whether a model argument names the shipped model.

    Parameters
    ----------
    model : str, os.PathLike or None
        A model argument.

    Returns
    -------
    bool
        True for None and ``"pretrained"``.
    """
    return model is None or (isinstance(model, str) and model == PRETRAINED)


def _missing() -> ModelFileError:
    return ModelFileError(PRETRAINED_FILE, "the pretrained model is not in this installation (a source tree "
                          "without it?); rebuild it with `python .ci/build_pretrained.py`, or give a model file "
                          "written by `dlfers train`")


def pretrained(backend: str | None = None) -> DLFERS:
    """The general 7-class model trained on FER2013's Training split, ready to predict.

    Classes: anger, disgust, fear, happy, sad, surprise, neutral (JAFFE's names; FER2013's
    ``angry`` is ``anger``).  It detects faces in frames (OpenCV cascade, then the FER2013
    framing of :func:`dlfers.face.framing.frame_box`) and takes pre-cropped faces through
    :meth:`DLFERS.predict_faces`.  Each call returns a new, independent estimator.

    Parameters
    ----------
    backend : str or None, default None
        Kernel backend override (see :func:`dlfers.load`).

    Returns
    -------
    DLFERS
        The fitted model; ``provenance_`` holds how it was made.

    Raises
    ------
    ModelFileError
        When the shipped file is missing from this installation, or damaged.
    """
    if not PRETRAINED_FILE.is_file():
        raise _missing()
    return load(PRETRAINED_FILE, backend=backend)


def pretrained_info() -> dict[str, Any] | None:
    """The shipped model's file, size, classes, parameters that differ from the defaults, and
    provenance, read from its header (None when the file is not installed).

    Raises
    ------
    ModelFileError
        When the file is there but damaged.
    """
    if not PRETRAINED_FILE.is_file():
        return None
    header, _ = read_model_file(PRETRAINED_FILE, PARAMETERS)
    defaults = DLFERS().get_params()
    params = {k: v for k, v in dict(header.get("params", {})).items() if k in defaults and defaults[k] != v
              and k not in ("progress", "n_jobs")}
    return {"file": str(PRETRAINED_FILE), "bytes": PRETRAINED_FILE.stat().st_size,
            "dlfers_version": header.get("dlfers_version"), "classes": header.get("classes"),
            "params": params, "provenance": header.get("provenance", {})}
