"""One FAST-config model per test session, shared by the test modules that need a fitted model.

Descriptors of ``jaffe_small`` are extracted once; each fusion's model is fitted on them once.
"""

from __future__ import annotations

from typing import Any

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
