"""Every parameter of :class:`~dlfers.DLFERS`, written once: name, stage, type, default, allowed values, help.

:data:`PARAMS` is the one table.  What is derived from it:

- the stages and their cache keys (:data:`dlfers.model.spec.STAGES`, :data:`~dlfers.model.spec.PARAMETERS`);
- the range checks of :meth:`Spec.from_params <dlfers.model.spec.Spec.from_params>`, which every
  model, preset and model file passes (:func:`check_value`);
- the values that model files written before a parameter existed were trained with
  (:data:`SAVED_PARAM_DEFAULTS`);
- the command-line flags of ``train``, ``evaluate``, ``extract``, ``reproduce`` and ``ablation``
  (:func:`dlfers.cli._options.add_model_options`), and the detector overrides of ``predict``,
  ``explain`` and ``video``;
- the ``Parameters`` section of the :class:`~dlfers.DLFERS` docstring (:func:`numpydoc_parameters`).

``DLFERS.__init__`` spells the signature out (scikit-learn reads it, and type checkers should);
``tests/test_params.py`` checks its names and defaults against this table.
Adding a parameter: a row here and the argument of ``DLFERS.__init__`` (two files), then the
stage that reads it from the :class:`~dlfers.model.spec.Spec`.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from .. import _kernels
from ..face.detect import DEFAULT_DETECTOR, DETECTORS
from ..features.descriptors import KINDS, PAPER_KINDS
from ..features.texture import TEXTURE_KINDS
from .classify import FUSIONS, KERNELS
from .codebook import PRECISIONS

__all__ = ["PARAMS", "Param", "SAVED_PARAM_DEFAULTS", "check_value", "numpydoc_parameters", "param"]

_UNSET: Any = object()


@dataclass(frozen=True)
class Param:
    """One parameter of :class:`~dlfers.DLFERS`.

    Attributes
    ----------
    name : str
        The keyword argument (and the ``--name`` flag, underscores as dashes, unless ``flag`` says).
    stage : str
        The key of :data:`dlfers.model.spec.STAGES` whose outputs it changes.
    type : str
        Its type as numpydoc writes it (``"int"``, ``"float or None"``, ``"{'feature', 'decision'}"``).
    default : object
        Its default.
    help : str
        What it does, one sentence or two.
    choices : tuple or None, default None
        The allowed values of a choice (None: any value its range check accepts).
    minimum : float or None, default None
        The smallest allowed value of a number (``None``: no bound; None values pass when
        the type allows None).
    exclusive : bool, default False
        ``minimum`` itself is not allowed.
    maximum : float or None, default None
        The largest allowed value of a number (``None``: no bound).
    integer : bool, default False
        Only integers (not booleans) are allowed.
    saved : object, default unset
        The value model files written before the parameter existed were trained with
        (unset: the parameter is as old as the format).
    flag : str or None, default None
        The command-line flag ("" for none; None: ``--name``).
    cli_choices : tuple or None, default None
        The choices the flag offers (None: ``choices``).
    cli_type : callable or None, default None
        argparse's type of the flag (None: from ``type``); ``bool`` gives ``--name/--no-name``.
    """

    name: str
    stage: str
    type: str
    default: Any
    help: str
    choices: tuple[Any, ...] | None = None
    minimum: float | None = None
    exclusive: bool = False
    maximum: float | None = None
    integer: bool = False
    saved: Any = _UNSET
    flag: str | None = None
    cli_choices: tuple[Any, ...] | None = None
    cli_type: Callable[[str], Any] | None = None

    @property
    def cli_flag(self) -> str:
        """The command-line flag ("" when the parameter has none)."""
        return "--" + self.name.replace("_", "-") if self.flag is None else self.flag


def _texture_choices() -> tuple[str, ...]:
    """The ``--texture`` choices: every set of channels of :data:`TEXTURE_KINDS` (each '+'-joined in that
    order, as :func:`~dlfers.features.texture.parse_textures` returns them), smaller sets first, and "none"."""
    sets = (c for n in range(1, len(TEXTURE_KINDS) + 1) for c in itertools.combinations(TEXTURE_KINDS, n))
    return (*("+".join(c) for c in sets), "none")


#: the parameters of :class:`~dlfers.DLFERS`, stage by stage in the order the data flows
PARAMS: tuple[Param, ...] = (
    # image -> face: detection, δ/γ crop, resize, wavelet LL subband
    Param("detect", "prep", "bool", True,
          "Detect the face (the detector below); False (--no-detect) treats each input as the face.",
          flag="--no-detect"),
    Param("delta", "prep", "float", 0.15, "Horizontal crop factor δ of Eq. 1-4 (the paper's scaling factor 3).",
          cli_type=float),
    Param("gamma", "prep", "float", 0.15, "Vertical crop factor γ of Eq. 1-4.", cli_type=float),
    Param("on_missing", "prep", "{'full', 'error'}", "full",
          "When no face is found: use the whole frame (\"full\") or raise NoFaceError (\"error\").",
          choices=("full", "error"), flag=""),
    Param("detector", "prep", "{" + ", ".join(repr(d) for d in DETECTORS) + "}", DEFAULT_DETECTOR,
          "Face detector: one pass of OpenCV's default cascade and, where it finds no face, YuNet, a CNN with "
          "five landmarks per face that finds small, turned and side-lit faces (\"cascade+yunet\"); YuNet alone "
          "(\"yunet\"); the cascade pass with a coarse-to-fine cascade search where it finds no face "
          "(\"cascade+coarse2fine\", the realtime preset's), either alone (\"cascade\" is the paper preset's) "
          "(see dlfers.detect_faces).",
          choices=tuple(DETECTORS), saved="cascade"),
    Param("detect_size", "prep", "int or None", None,
          "Longest side of the frame copy the (coarse) face detector searches (None: the detector's own).",
          minimum=1, maximum=16384, integer=True, cli_type=int),
    Param("min_face", "prep", "float or None", None,
          "Smallest face, as a fraction of the frame's shorter side (None: the detector's own).", cli_type=float),
    Param("detect_score", "prep", "float or None", None,
          "Least score of a \"yunet\" face, in [0, 1) (None: 0.7); the cascades have no score.",
          minimum=0, saved=None, cli_type=float),
    Param("detect_scale", "prep", "float or None", None,
          "Step between the (coarse) detector's search scales, > 1 (None: the detector's own).", cli_type=float),
    Param("frame_scale", "prep", "float", 1.0,
          "The face frame the model was trained on, in detector box sides: each detected box is scaled by it "
          "about its centre before the δ/γ crop (1: the box itself; pre-cropped training faces framed by "
          "another detector, as FER2013's, need their own: dlfers.face.framing).",
          minimum=0, exclusive=True, saved=1.0, cli_type=float),
    Param("frame_shift", "prep", "float", 0.0,
          "Downward move of that frame's centre, in box heights (negative: upward).",
          minimum=-1.0, saved=0.0, cli_type=float),
    Param("face_size", "prep", "int", 128, "Side of the face after the wavelet reduction, in pixels.",
          minimum=16, maximum=1024, integer=True, cli_type=int),
    Param("wavelet", "prep", "str", "haar", "The PyWavelets wavelet whose LL subband is kept.", flag=""),
    Param("wavelet_level", "prep", "int", 1, "Levels of the wavelet reduction.", minimum=1, integer=True, flag=""),
    Param("align", "prep", "bool", False,
          "Register each face by its eyes (OpenCV eye cascade) before the reduction; faces whose eyes are not "
          "found keep their unaligned crop (counted in reports).", saved=False, cli_type=bool),
    # face -> dense TISF/TIPM descriptors (the backend computes them), and the texture channels' raw values
    Param("step", "descriptor", "int", 4, "Dense grid stride in pixels.", minimum=1, integer=True, cli_type=int),
    Param("sigma", "descriptor", "float", 1.0, "Gaussian σ of the gradient smoothing (Eq. 5-6).",
          minimum=0, exclusive=True, flag=""),
    Param("backend", "descriptor", "{'auto', 'cython', 'numba', 'numpy'}", "auto",
          "Kernel backend; \"auto\": the first available of cython, numba, numpy.",
          choices=("auto", *_kernels.BACKENDS)),
    Param("texture", "descriptor", "str", "gabor",
          "Texture channels beside the descriptors, '+'-joined: \"gabor\" (Gabor energies on an 8x8 grid of the "
          "face), \"lbp\" (uniform-LBP histograms of the SPOF regions); \"none\": the paper's descriptors only.",
          saved="none", cli_choices=_texture_choices()),
    # which descriptors feed the codebooks: the kinds, and the layout's regions
    Param("descriptors", "select", "str", "+".join(PAPER_KINDS),
          "Descriptor kinds, '+'-joined: \"tisf\", \"tipm\"; \"tisf2\" and \"tipm2\" are a second scale "
          "(8-pixel cells, 2σ) on the same grid.",
          cli_choices=(*PAPER_KINDS, "+".join(PAPER_KINDS), "+".join(KINDS))),
    Param("layout", "select", "str", "whole+halves+grid4+fused+fused4",
          "SPOF region layout, '+'-joined level names (dlfers.features.regions)."),
    # k-means codebooks (and the seed shared with the SVMs' Platt scaling); mirror adds training flips
    Param("n_words", "codebook", "int", 15, "Codebook words D (per class when per_class).",
          minimum=1, integer=True, cli_type=int),
    Param("per_class", "codebook", "bool", True,
          "One k-means per expression (the paper) or one global codebook (--global-codebook).",
          flag="--global-codebook"),
    Param("max_samples", "codebook", "int", 5000, "Descriptors sampled per k-means run.",
          minimum=1, integer=True, flag=""),
    Param("random_state", "codebook", "int", 0, "Seed of k-means sampling and Platt scaling.",
          minimum=0, integer=True, flag=""),
    Param("mirror", "codebook", "bool", False,
          "Also train on the horizontal flip of every training face (training folds only).",
          saved=False, cli_type=bool),
    # region histograms: word assignment and normalisation; the texture channels' weight
    Param("soft", "histogram", "int", 5,
          "Words each descriptor is assigned to: 1 (hard assignment, the paper) or s > 1 (the s nearest words "
          "share one unit of weight in proportion to exp(-soft_beta * squared distance); Liu et al., ICCV 2011).",
          minimum=1, integer=True, saved=1, cli_type=int),
    Param("soft_beta", "histogram", "float", 10.0,
          "Sharpness of the soft-assignment weights (descriptors have unit norm).",
          minimum=0, exclusive=True, saved=10.0, flag=""),
    Param("precision", "histogram", "{" + ", ".join(repr(p) for p in PRECISIONS) + "}", "int8",
          "Word assignment arithmetic: \"int8\" (descriptors and words quantised to 7 bits, exact integer "
          "distances; AVX-512 VNNI or AVX2 where the CPU has them) or \"float32\".",
          choices=PRECISIONS, saved="float32"),
    Param("power", "histogram", "float", 0.5, "Power normalisation of the region histograms (0.5: Hellinger, 1: none).",
          minimum=0, exclusive=True, flag=""),
    Param("texture_weight", "histogram", "float or None", None,
          "Each texture channel's weight against one descriptor kind (None: the channel's own, "
          "dlfers.features.texture.DEFAULT_WEIGHTS).", minimum=0, exclusive=True, saved=None, cli_type=float),
    # SVMs and their fusion
    Param("classifier", "svm", "{'kernel', 'linear'}", "kernel",
          "\"kernel\": LIBSVM on the exact kernel (keeps support vectors; for hundreds to a few thousand "
          "faces); \"linear\": a linear SVM on the explicit feature map of the additive kernel (chi2, "
          "intersection or linear; Vedaldi & Zisserman, PAMI 2012): weights only, training in O(n) from "
          "features extracted in chunks (dlfers.model.linear), for tens of thousands of faces.",
          choices=("kernel", "linear"), saved="kernel"),
    Param("kernel", "svm", "{" + ", ".join(repr(k) for k in KERNELS) + "}", "intersection",
          "SVM kernel (with classifier=\"linear\": the additive kernel whose map is learned; \"chi2\" is then "
          "the additive χ² kernel Σ 2ab/(a+b), not its exponential).", choices=KERNELS),
    Param("C", "svm", "float", 10.0, "SVM penalty C.", minimum=0, exclusive=True, flag="--C", cli_type=float),
    Param("svm_gamma", "svm", "float or None", None, "SVM kernel width (None: 1 / mean training distance).",
          minimum=0, exclusive=True, flag=""),
    Param("fusion", "svm", "{" + ", ".join(repr(f) for f in FUSIONS) + "}", "feature",
          "TISF+TIPM fusion level: one SVM on the concatenated histograms (\"feature\") or one SVM per "
          "descriptor kind with class probabilities averaged (\"decision\").", choices=FUSIONS),
    # how a fit runs, not what it computes: in no cache key
    Param("progress", "runtime", "bool", False, "Show progress bars during fit.", flag=""),
    Param("n_jobs", "runtime", "int or None", None,
          "Threads for a batch of frames in fit, predict and the other batch methods (None or 1: serial; "
          "-1: every core); the results do not depend on it.", saved=None, flag=""),
)

_BY_NAME = {p.name: p for p in PARAMS}

#: parameters added after model files were first written -> the value that files which
#: lack them were trained with (see :meth:`DLFERS.from_state`)
SAVED_PARAM_DEFAULTS: dict[str, Any] = {p.name: p.saved for p in PARAMS if p.saved is not _UNSET}


def param(name: str) -> Param:
    """The :class:`Param` of ``name``; KeyError for an unknown name.

    Parameters
    ----------
    name : str
        A parameter name.

    Returns
    -------
    Param
        Its row.
    """
    return _BY_NAME[name]


def check_value(name: str, value: Any) -> None:
    """Check a parameter value against its row's choices and range.

    Parameters
    ----------
    name : str
        A parameter of :data:`PARAMS`.
    value : object
        Its value.

    Raises
    ------
    ValueError
        The value is not one of the choices, not a number, not an integer where one is
        needed, or out of range; the message names the parameter and what it accepts.
    """
    p = _BY_NAME[name]
    if p.choices is not None:
        if value not in p.choices:
            raise ValueError(f"{name} must be one of {p.choices}, got {value!r}")
        return
    if value is None and p.type.endswith("or None"):
        return
    if p.type.startswith("bool"):
        if not isinstance(value, (bool, np.bool_)):
            raise ValueError(f"{name} must be True or False, got {value!r}")
        return
    if p.minimum is None and p.maximum is None and not p.integer:
        return
    number = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, (bool, np.bool_))
    if p.integer and not (number and float(value).is_integer() and isinstance(value, (int, np.integer))):
        raise ValueError(f"{name} must be an integer{_bound(p)}, got {value!r}")
    if not number or not math.isfinite(float(value)):
        raise ValueError(f"{name} must be a finite number{_bound(p)}, got {value!r}")
    if (p.minimum is not None and (value <= p.minimum if p.exclusive else value < p.minimum)) or (
            p.maximum is not None and value > p.maximum):
        raise ValueError(f"{name} must be {'an integer' if p.integer else 'a number'}{_bound(p)}, got {value!r}")


def _bound(p: Param) -> str:
    def num(v: float) -> Any:
        return int(v) if float(v).is_integer() else v

    low = "" if p.minimum is None else f" {'>' if p.exclusive else '>='} {num(p.minimum)}"
    high = "" if p.maximum is None else f"{' and' if low else ''} <= {num(p.maximum)}"
    return low + high


def numpydoc_parameters() -> str:
    """The ``Parameters`` section of the :class:`~dlfers.DLFERS` docstring, from :data:`PARAMS`."""
    import textwrap

    lines = ["Parameters", "----------"]
    for p in PARAMS:
        lines.append(f"{p.name} : {p.type}, default {p.default!r}")
        lines += textwrap.wrap(p.help, 92, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(lines)
