"""The validated configuration of a DLFERS model: one frozen value every stage reads.

:meth:`Spec.from_params` checks a :meth:`DLFERS.get_params` dictionary once and holds
what the stages need: the descriptor kinds, the SPOF :class:`~dlfers.features.regions.Layout`,
the :class:`~dlfers.features.descriptors.DescriptorSpec` of each kind and the face detector's
settings.  It also gives one cache key per stage, built from exactly the parameters
that stage and the stages before it read (:data:`STAGES` names them, once):

==============  ===================================================================
key             what it determines
==============  ===================================================================
``prep_key``    the preprocessed face of an image (detection, crop, eye alignment, resize, LL)
``descriptor_key``  the dense descriptors of every kind on that face and on its fused image
``codebook_key``    a fold's codebooks and nearest-word labels (given the training images):
                    the descriptor rows the layout uses (face, fused), the kinds, k-means
``svm_key``     everything a prediction depends on (the whole configuration)
==============  ===================================================================

Adding a parameter means adding its row to :data:`dlfers.model.params.PARAMS` (which names its
stage) and its argument to ``DLFERS.__init__``; every cache built on these keys then sees it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _kernels
from ..face.detect import DetectorSettings, check_factors, detector_settings
from ..features.descriptors import KIND_SCALE, KINDS, DescriptorSpec
from ..features.regions import Layout, parse_layout
from ..features.texture import parse_textures
from .classify import FUSIONS
from .linear import MAPS as ADDITIVE_KERNELS
from .params import PARAMS, check_value

__all__ = ["FUSIONS", "STAGES", "PARAMETERS", "DetectorSettings", "Spec"]

#: the DLFERS parameters each stage reads, in the order the data flows (each name once; from
#: :data:`dlfers.model.params.PARAMS`, which says what each stage is)
STAGES: dict[str, tuple[str, ...]] = {}
for _p in PARAMS:
    STAGES[_p.stage] = (*STAGES.get(_p.stage, ()), _p.name)
#: every DLFERS parameter
PARAMETERS: tuple[str, ...] = tuple(p for names in STAGES.values() for p in names)


def _key(params: Mapping[str, Any], *stages: str) -> tuple[Any, ...]:
    return tuple((p, params[p]) for s in stages for p in STAGES[s])


@dataclass(frozen=True)
class Spec:
    """A validated DLFERS configuration (build it with :meth:`from_params`).

    Parameters
    ----------
    items : tuple of (str, object)
        Every parameter, (name, value), in :data:`PARAMETERS` order.

    Attributes
    ----------
    params : every parameter, name -> value, in :data:`PARAMETERS` order (read-only view
        through :meth:`get`; the tuple keeps the spec hashable).
    kinds : tuple of str
        Descriptor kinds, in the order of the ``descriptors`` parameter.
    textures : texture channels ("lbp", "gabor"; :func:`dlfers.features.texture.parse_textures`).
    layout : Layout
        The parsed SPOF layout.
    descriptor_specs : one :class:`DescriptorSpec` per kind, in ``kinds`` order.
    detector : DetectorSettings
        The face detector's settings.
    """

    items: tuple[tuple[str, Any], ...]
    kinds: tuple[str, ...]
    textures: tuple[str, ...]
    layout: Layout
    descriptor_specs: tuple[DescriptorSpec, ...]
    detector: DetectorSettings

    @classmethod
    def from_params(cls, params: Mapping[str, Any]) -> Spec:
        """Validate ``params`` (a :meth:`DLFERS.get_params` dict; ``progress`` and ``n_jobs`` may be left out).

        Parameters
        ----------
        params : mapping of str to object
            DLFERS parameters, name -> value.

        Returns
        -------
        Spec
            The validated configuration.

        Raises
        ------
        ValueError
            An unknown or missing parameter name, or a value out of its range (the
            message names the parameter and what it accepts).
        RuntimeError
            ``backend="auto"`` and no kernel backend can be loaded.
        """

        p = dict(params)
        p.setdefault("progress", False)
        p.setdefault("n_jobs", None)
        unknown = sorted(set(p) - set(PARAMETERS))
        if unknown:
            raise ValueError(f"unknown DLFERS parameters {unknown}; known: {sorted(PARAMETERS)}")
        missing = [k for k in PARAMETERS if k not in p]
        if missing:
            raise ValueError(f"missing DLFERS parameters {missing}")
        check_factors(p["delta"], p["gamma"])
        detector = detector_settings(p["detector"], p["detect_size"], p["min_face"], p["detect_scale"],
                                     p["detect_score"])
        _kernels.resolve(p["backend"])
        for name in PARAMETERS:  # every choice and range of the table, once
            check_value(name, p[name])
        if p["n_jobs"] is not None and (isinstance(p["n_jobs"], bool) or not isinstance(p["n_jobs"], (int, np.integer))
                                        or p["n_jobs"] == 0):
            raise ValueError(f"n_jobs must be None or a nonzero integer (-1: every core), got {p['n_jobs']!r}")
        kinds = parse_kinds(p["descriptors"])
        layout = parse_layout(p["layout"])
        specs = tuple(DescriptorSpec(kind, int(p["step"]), 4 * KIND_SCALE.get(kind, 1),
                                     float(p["sigma"]) * KIND_SCALE.get(kind, 1)) for kind in kinds)
        textures = parse_textures(p["texture"])
        if p["classifier"] == "linear" and p["kernel"] not in ADDITIVE_KERNELS:
            raise ValueError(f"classifier='linear' needs an additive kernel with a feature map, one of "
                             f"{ADDITIVE_KERNELS}; got kernel={p['kernel']!r}")
        if p["classifier"] == "linear" and p["svm_gamma"] is not None:
            raise ValueError("svm_gamma is a kernel width of classifier='kernel'; the additive maps of "
                             f"classifier='linear' have none (got svm_gamma={p['svm_gamma']!r})")
        return cls(items=tuple((k, p[k]) for k in PARAMETERS), kinds=kinds, textures=textures, layout=layout,
                   descriptor_specs=specs, detector=detector)

    # ------------------------------------------------------------------ parameters
    @property
    def params(self) -> dict[str, Any]:
        """Every parameter, name -> value (a fresh dict)."""
        return dict(self.items)

    def get(self, name: str) -> Any:
        """The value of parameter ``name``.

        Parameters
        ----------
        name : str
            A parameter name.

        Returns
        -------
        object
            Its value.
        """
        for k, v in self.items:
            if k == name:
                return v
        raise KeyError(name)

    # ------------------------------------------------------------------ stage keys
    @property
    def prep_key(self) -> tuple[Any, ...]:
        """What the preprocessed face depends on."""
        return _key(self.params, "prep")

    @property
    def descriptor_key(self) -> tuple[Any, ...]:
        """What the descriptors of every kind, on the face and on the fused image, depend on."""
        return _key(self.params, "prep", "descriptor")

    @property
    def codebook_key(self) -> tuple[Any, ...]:
        """What a fold's codebooks and word labels depend on besides the fold: the descriptor
        rows the layout uses (face grid, fused grid), the kinds and the k-means parameters.

        Layouts that pool the same rows differently share it.
        """
        rows = (("sources", self.layout.sources), ("kinds", self.kinds))
        return self.descriptor_key + rows + _key(self.params, "codebook")

    @property
    def svm_key(self) -> tuple[Any, ...]:
        """What a prediction depends on: every parameter but the runtime ones."""
        return _key(self.params, *(s for s in STAGES if s != "runtime"))

    # ------------------------------------------------------------------ derived values
    @property
    def n_regions(self) -> int:
        return self.layout.n_regions

    @property
    def channels(self) -> tuple[str, ...]:
        """The SVM's input channels: the descriptor kinds, then the texture channels."""
        return self.kinds + self.textures

    @property
    def dims(self) -> dict[str, int]:
        """Descriptor dimension of each kind."""
        return {s.kind: s.dim for s in self.descriptor_specs}


def parse_kinds(descriptors: Any) -> tuple[str, ...]:
    """``"tisf+tipm"`` -> ("tisf", "tipm").

    Parameters
    ----------
    descriptors : str
        '+'-joined descriptor kinds.

    Returns
    -------
    tuple of str
        The kinds, in order.

    Raises
    ------
    ValueError
        Empty, unknown or repeated kinds (the message lists the known ones).
    """
    kinds = [k.strip() for k in str(descriptors).split("+") if k.strip()]
    if not kinds or any(k not in KINDS for k in kinds) or len(set(kinds)) != len(kinds):
        raise ValueError(f"descriptors must be '+'-joined names from {sorted(KINDS)}, got {descriptors!r}")
    return tuple(kinds)
