"""``dlfers.load``: a fitted :class:`~dlfers.DLFERS` back from its model file, with no code executed."""

from __future__ import annotations

import os
from pathlib import Path

from .. import _kernels
from .estimator import DLFERS
from .file import ModelFileError, read_model_file
from .params import SAVED_PARAM_DEFAULTS
from .spec import PARAMETERS

__all__ = ["load"]


def load(path: str | os.PathLike[str], backend: str | None = None) -> DLFERS:
    """Load a model written by :meth:`DLFERS.save` (format: :mod:`dlfers.model.file`).

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    backend : str or None, default None
        Override the saved kernel backend (e.g. ``"auto"`` on a machine without the one
        the model was trained with).

    Returns
    -------
    DLFERS
        The fitted model, predicting as it did when saved.

    Raises
    ------
    TypeError
        ``path`` is not a str or os.PathLike.
    ValueError
        The ``DLFERS_BACKEND`` environment variable names no available backend.
    ModelFileError
        Missing, non-model, truncated, corrupt, modified or newer-format files, and
        files whose parts do not fit together.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"dlfers.load takes the path of a model file (str or os.PathLike), got {type(path).__name__}")
    if backend in (None, "auto"):
        _kernels.check_environment()  # a bad DLFERS_BACKEND is the environment's fault, not the file's
    p = Path(path)
    header, arrays = read_model_file(p, PARAMETERS)
    try:
        params = dict(header["params"])
        if backend is not None:
            params["backend"] = backend
        DLFERS(**{**SAVED_PARAM_DEFAULTS, **params}).spec()  # older files: the values they were trained with
    except (KeyError, TypeError, ValueError, RuntimeError) as exc:
        raise ModelFileError(p, f"invalid model configuration: {type(exc).__name__}: {exc}") from None
    try:
        return DLFERS.from_state(header, arrays, backend=backend)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ModelFileError(p, f"inconsistent model: {type(exc).__name__}: {exc}") from None
