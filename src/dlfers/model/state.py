"""The fitted state of a DLFERS model as JSON-able metadata and plain arrays, built and checked.

:meth:`DLFERS.to_state` and :meth:`DLFERS.from_state` go through :func:`pack` and
:func:`unpack`; :mod:`dlfers.model.file` stores and reads what they exchange.

Metadata: ``params`` (the model's parameters), ``codebooks`` (the descriptor kinds),
``svms`` (list of ``{"name", "meta"}``, see :meth:`dlfers.model.classify.KernelSVC.get_state`),
``n_features_in`` and ``texture_scales`` (texture channel -> its learned weight; files of the LBP
channel alone have ``texture_scale``, its weight; absent: 1).
Arrays: ``classes`` (k,), ``codebook__<kind>`` (K, dim) float32
and, for SVM ``i``, ``svm<i>__<key>`` (see :meth:`~dlfers.model.classify.KernelSVC.get_state`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..features.texture import KIND as LBP_KIND
from ..features.texture import input_width
from .classify import KernelSVC, fusion_inputs
from .linear import LinearMapSVC
from .params import check_value
from .spec import Spec

__all__ = ["FittedParts", "pack", "unpack"]


@dataclass
class FittedParts:
    """What fitting learns: class labels (k,), kind -> (K, dim) float32 codebook, SVM name -> SVM,
    texture channel -> its weight.

    Parameters
    ----------
    classes : ndarray of shape (k,)
        Class labels.
    codebooks : dict of str to ndarray
        Kind -> (K, dim) float32 codebook.
    svms : dict of str to KernelSVC
        SVM name -> fitted SVM.
    texture_scales : dict of str to float, default={}
        Texture channel -> its learned weight.
    """

    classes: np.ndarray
    codebooks: dict[str, np.ndarray]
    svms: dict[str, KernelSVC | LinearMapSVC]
    texture_scales: dict[str, float] = field(default_factory=dict)


def pack(params: dict[str, Any], classes: np.ndarray, codebooks: dict[str, np.ndarray],
         svms: dict[str, Any], n_features_in: int,
         texture_scales: dict[str, float] | None = None) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Metadata and arrays of a fitted model (see the module docstring).

    Parameters
    ----------
    params : dict of str to object
        The model's parameters.
    classes : ndarray of shape (k,)
        Class labels.
    codebooks : dict of str to ndarray
        Kind -> (K, dim) float32 codebook.
    svms : dict of str to KernelSVC
        SVM name -> fitted SVM.
    n_features_in : int
        Width of the SPOF histograms.
    texture_scales : dict of str to float or None, default=None
        Texture channel -> weight (None: none).

    Returns
    -------
    meta : dict of str to object
        JSON-able metadata.
    arrays : dict of str to ndarray
        The arrays.
    """
    arrays: dict[str, np.ndarray] = {"classes": np.asarray(classes)}
    for kind, cb in codebooks.items():
        arrays[f"codebook__{kind}"] = np.ascontiguousarray(cb, np.float32)
    svm_meta = []
    for i, (name, svm) in enumerate(svms.items()):
        meta, state = svm.get_state()
        arrays.update({f"svm{i}__{key}": np.ascontiguousarray(arr) for key, arr in state.items()})
        svm_meta.append({"name": name, "meta": meta})
    return {"params": params, "codebooks": list(codebooks), "svms": svm_meta,
            "n_features_in": int(n_features_in),
            "texture_scales": {k: float(v) for k, v in (texture_scales or {}).items()}}, arrays


def unpack(spec: Spec, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> FittedParts:
    """The fitted parts in ``meta`` and ``arrays``, checked against the configuration ``spec``.

    Parameters
    ----------
    spec : Spec
        The configuration the parts must fit.
    meta : dict of str to object
        Metadata of :func:`pack`.
    arrays : dict of str to ndarray
        Arrays of :func:`pack`.

    Returns
    -------
    FittedParts
        The checked parts.

    Raises
    ------
    ValueError
        Codebooks that do not match the descriptor kinds or their dimensions, SVMs that do
        not match the fusion rule or the codebooks' widths, classes that differ, a missing
        probability calibration.
    KeyError, TypeError
        Missing or mistyped entries.
    """
    classes = arrays["classes"]
    if list(meta.get("codebooks", [])) != list(spec.kinds):
        raise ValueError(f"codebooks {meta.get('codebooks')} do not match descriptors {list(spec.kinds)}")
    codebooks = {}
    for kind in spec.kinds:
        cb = arrays[f"codebook__{kind}"]
        if cb.ndim != 2 or cb.dtype != np.float32 or cb.shape[0] < 1 or not np.isfinite(cb).all():
            raise ValueError(f"codebook {kind!r} must be a finite (K, dim) float32 array, got {cb.dtype}{cb.shape}")
        if cb.shape[1] != spec.dims[kind]:
            raise ValueError(f"codebook {kind!r} has words of {cb.shape[1]} values, {kind} has {spec.dims[kind]}")
        codebooks[kind] = cb
    widths = {kind: spec.n_regions * cb.shape[0] for kind, cb in codebooks.items()}
    saved = meta.get("texture_scales", {LBP_KIND: meta["texture_scale"]} if "texture_scale" in meta else {})
    if not isinstance(saved, dict) or set(saved) - set(spec.textures):
        raise ValueError(f"texture_scales {saved!r} do not match the texture channels {list(spec.textures)}")
    texture_scales = {}
    for kind in spec.textures:
        widths[kind] = input_width(kind, spec.n_regions)
        scale = saved.get(kind, 1.0)
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or not (np.isfinite(scale) and scale > 0):
            raise ValueError(f"the scale of texture channel {kind!r} must be a positive number, got {scale!r}")
        texture_scales[kind] = float(scale)
    expected = fusion_inputs({kind: np.zeros((0, w)) for kind, w in widths.items()}, spec.get("fusion"))
    svms_spec = meta.get("svms")
    if not isinstance(svms_spec, list) or [s.get("name") for s in svms_spec] != list(expected):
        raise ValueError(f"SVMs {svms_spec and [s.get('name') for s in svms_spec]} do not match {list(expected)}")
    svms: dict[str, KernelSVC | LinearMapSVC] = {}
    for i, s in enumerate(svms_spec):
        state = {k.split("__", 1)[1]: a for k, a in arrays.items() if k.startswith(f"svm{i}__")}
        m = s.get("meta") if isinstance(s, dict) else None
        if not isinstance(m, dict):
            raise TypeError(f"SVM {i} has no metadata")
        for key, row in (("C", "C"), ("gamma", "svm_gamma"), ("gamma_", "svm_gamma"), ("random_state", "random_state")):
            if key in m:  # the SVM's numbers, by the validator of the parameters they come from
                check_value(row, m[key])
        kind = str(s["meta"].get("type", "kernel")) if isinstance(s.get("meta"), dict) else "?"
        if kind != spec.get("classifier"):
            raise ValueError(f"SVM {s['name']!r} is of type {kind!r}, the model's classifier is "
                             f"{spec.get('classifier')!r}")
        svm: KernelSVC | LinearMapSVC
        if kind == "linear":
            svm = LinearMapSVC.from_state(s["meta"], state)
            if svm.kernel != spec.get("kernel"):
                raise ValueError(f"SVM {s['name']!r} maps the {svm.kernel!r} kernel, the model's is "
                                 f"{spec.get('kernel')!r}")
            width = svm.n_features_in_
        else:
            svm = KernelSVC.from_state(s["meta"], state, backend=spec.get("backend"))
            width = svm.support_vectors_.shape[1]
        if not np.array_equal(svm.classes_, classes):
            raise ValueError(f"SVM {s['name']!r} classes differ from the model's")
        if width != expected[s["name"]].shape[1]:
            raise ValueError(f"SVM {s['name']!r} expects {width} features, "
                             f"the codebooks give {expected[s['name']].shape[1]}")
        if not hasattr(svm, "calib_coef_"):
            raise ValueError(f"SVM {s['name']!r} has no probability calibration")
        svms[s["name"]] = svm
    return FittedParts(classes, codebooks, svms, texture_scales)
