"""Batch extraction: the features of many images, serially or on an executor's workers.

The one home of batch feature extraction.  Evaluation, the data-set sources, the reproduce
engine and :mod:`dlfers.store` call :func:`extract_features`; the features are the same
whichever executor runs them (every item is computed by :meth:`DLFERS.extract`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .._util.parallel import Executor
from .._util.progress import progress_counter
from ..image.read import ImageError

__all__ = ["extract_features"]


def _extract_batch(model: Any, images: Sequence[np.ndarray], start: int) -> list[Any]:
    """``model.extract`` of ``images`` (items ``start``, ``start + 1``, ... of the data set)."""
    try:
        return list(model.extract(images, progress=False))
    except ImageError as exc:
        if exc.path is not None and exc.path.startswith("item ") and exc.path[5:].isdigit():
            raise ImageError(f"item {start + int(exc.path[5:])}", exc.problem) from None
        raise


def extract_features(model: Any, images: Sequence[np.ndarray], executor: Executor | None = None,
                     progress: bool = False) -> list[Any]:
    """``model.extract(images)``: a list of :class:`dlfers.model.estimator.Features`, one per image.

    Batches of images run on ``executor``'s workers (local processes or a Dask cluster),
    or serially without one; the features do not depend on how.

    Parameters
    ----------
    model : DLFERS
        The model whose ``extract`` computes the features.
    images : sequence of ndarray
        Frames or faces, as ``model.extract`` takes them.
    executor : Executor or None, default=None
        Runs batches of images on its workers (local processes or a Dask cluster); None:
        serially here.
    progress : bool, default=False
        Show a progress bar.

    Returns
    -------
    list of Features
        One per image, in order.
    """
    ex = executor or Executor(1)
    if ex.serial or len(images) <= 1:
        return list(model.extract(images, progress=progress))
    model.spec()
    n = len(images)
    size = max(1, min(64, -(-n // (4 * ex.workers))))
    starts = range(0, n, size)
    bar = progress_counter(n, desc="descriptors", disable=not progress)
    out: list[Any] = []
    tasks = ((list(images[a : a + size]), a) for a in starts)
    for feats in ex.map(_extract_batch, tasks, shared=(model,)):
        out += feats
        bar.update(len(feats))
    bar.close()
    return out
