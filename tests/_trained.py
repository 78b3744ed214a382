"""One FAST-config model per test session, shared by the test modules that need a fitted model.

Descriptors of ``jaffe_small`` are extracted once; each fusion's model is fitted on them once.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from conftest import FAST

from dlfers import DLFERS

_cache: dict[str, Any] = {}


def fast_model(jaffe_small: tuple, fusion: str = "feature") -> DLFERS:
    images, labels, _ = jaffe_small
    if "feats" not in _cache:
        _cache["feats"] = DLFERS(**FAST).extract(images, progress=False)
    if fusion not in _cache:
        _cache[fusion] = DLFERS(**FAST, fusion=fusion).fit_features(_cache["feats"], labels)
    return _cache[fusion]


def write_video(path: Path, frames: list[np.ndarray], fps: float = 5.0) -> None:
    """An MJPG AVI of gray or BGR uint8 ``frames`` at ``path``."""
    import cv2

    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    assert writer.isOpened()
    for f in frames:
        writer.write(cv2.cvtColor(f, cv2.COLOR_GRAY2BGR) if f.ndim == 2 else f)
    writer.release()
