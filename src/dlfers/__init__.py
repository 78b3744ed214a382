"""dlfers: facial expression recognition by multi-level fusion of dense descriptors.

The pipeline of the DLFERS paper, image -> face -> regions -> descriptors -> codes ->
histogram -> SVM, with the hot path in compiled kernels (Cython, Numba fallback,
NumPy reference).  ``import dlfers`` is cheap: scikit-learn, OpenCV and Numba are
imported on first use of what needs them.

>>> import dlfers
>>> data = dlfers.load_jaffe("../shared/data/jaffe")            # doctest: +SKIP
>>> model = dlfers.DLFERS().fit(data.images, data.labels)         # doctest: +SKIP
>>> model.predict(data.images[:3])                                # doctest: +SKIP

The public API is exactly ``__all__`` (listed in the README); every other name,
submodules included, is internal and may change without notice.
"""

import importlib as _importlib
import typing as _typing

from ._version import __version__

__all__ = [
    "__version__",
    "DLFERS",
    "Dataset",
    "EXPRESSIONS",
    "FaceBox",
    "FaceResult",
    "ImageError",
    "NoFaceError",
    "ModelFileError",
    "Spec",
    "TrackResult",
    "FrameResult",
    "VideoAnalyzer",
    "analyze_video",
    "crop_face",
    "dense_descriptors",
    "detect_faces",
    "evaluate",
    "evaluate_sets",
    "evaluate_transfer",
    "extract_dataset",
    "fused_image",
    "ll_subband",
    "load",
    "load_dataset",
    "load_datasets",
    "load_folder",
    "load_features",
    "load_jaffe",
    "pretrained",
    "read_image",
    "show_config",
]

# public name -> defining submodule (imported on first access, PEP 562)
_LAZY = {
    "DLFERS": "model.estimator",
    "Dataset": "data.folders",
    "EXPRESSIONS": "data.folders",
    "ImageError": "image.read",
    "load_dataset": "data.folders",
    "load_folder": "data.folders",
    "load_jaffe": "data.folders",
    "read_image": "image.read",
    "FaceBox": "face.detect",
    "NoFaceError": "face.detect",
    "crop_face": "face.detect",
    "detect_faces": "face.detect",
    "dense_descriptors": "features.descriptors",
    "fused_image": "features.regions",
    "ll_subband": "features.wavelet",
    "evaluate": "evaluation.protocols",
    "evaluate_sets": "evaluation.crossdata",
    "evaluate_transfer": "evaluation.crossdata",
    "load_datasets": "data.sources",
    "extract_dataset": "store.extract",
    "load_features": "store.extract",
    "FaceResult": "model.results",
    "load": "model.loading",
    "pretrained": "model.pretrained",
    "ModelFileError": "model.file",
    "Spec": "model.spec",
    "TrackResult": "video.analysis",
    "FrameResult": "video.analysis",
    "VideoAnalyzer": "video.analysis",
    "analyze_video": "video.analysis",
}

if _typing.TYPE_CHECKING:  # pragma: no cover
    from .data.folders import EXPRESSIONS, Dataset, load_dataset, load_folder, load_jaffe
    from .data.sources import load_datasets
    from .evaluation.crossdata import evaluate_sets, evaluate_transfer
    from .evaluation.protocols import evaluate
    from .face.detect import FaceBox, NoFaceError, crop_face, detect_faces
    from .features.descriptors import dense_descriptors
    from .features.regions import fused_image
    from .features.wavelet import ll_subband
    from .image.read import ImageError, read_image
    from .model.estimator import DLFERS
    from .model.file import ModelFileError
    from .model.loading import load
    from .model.pretrained import pretrained
    from .model.results import FaceResult
    from .model.spec import Spec
    from .store.extract import extract_dataset, load_features
    from .video.analysis import FrameResult, TrackResult, VideoAnalyzer, analyze_video


def __getattr__(name: str) -> _typing.Any:
    mod = _LAZY.get(name)
    if mod is None:
        raise AttributeError(f"module 'dlfers' has no attribute {name!r}")
    value = getattr(_importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


def show_config(file: _typing.TextIO | None = None) -> dict[str, _typing.Any]:
    """Print (to ``file``, default stdout) and return the active kernel backend and why.

    Returns a dict with ``version``, ``backend`` (the one ``backend="auto"`` uses),
    ``reason``, ``backends`` (each backend's availability, with the import error
    of an unavailable one) and ``cpu_variant`` / ``cpu_variant_reason``: the build of
    the compiled kernels picked for this CPU (``"avx2+fma"``, ``"baseline sse2"``,
    ``"baseline neon"``; ``DLFERS_CPU_BASELINE=1`` forces the baseline), empty where
    the cython backend is not loaded; ``int8_words``: the instructions of the int8 word
    assignment there (``"avx512-vnni"``, ``"avx2"``, ``"sgemm"``: float32 products, exact;
    ``DLFERS_NO_VNNI=1`` keeps it off VNNI); ``face_cascade``: who evaluates the default face
    cascade (``"dlfers (avx2)"``, ``"dlfers (c)"``: the ``haar_scan`` kernel, boxes identical to OpenCV's;
    ``"opencv"`` without the cython backend).

    Parameters
    ----------
    file : text stream or None, default=None
        Where to print (None: stdout).

    Returns
    -------
    dict of str to object
        The fields listed above.
    """
    import os
    import sys

    from . import _kernels

    backends = _kernels.status()
    env = os.environ.get("DLFERS_BACKEND", "").strip().lower()
    try:
        active = _kernels.resolve("auto")
        if env and env != "auto":
            reason = f"forced by DLFERS_BACKEND={env}"
        elif active == "cython":
            reason = "compiled Cython extension found"
        else:
            reason = "first available in the order cython, numba, numpy; cython: " + backends["cython"]
    except (ValueError, RuntimeError) as exc:
        active, reason = "none", str(exc)
    variant = _kernels.variant()
    info = {"version": __version__, "backend": active, "reason": reason, "backends": backends,
            "cpu_variant": variant.get("name", ""), "cpu_variant_reason": variant.get("reason", ""),
            "int8_words": _kernels.q8_path(), "face_cascade": _face_cascade(_kernels)}
    out = sys.stdout if file is None else file
    print(f"dlfers {__version__}", file=out)
    shown = f"{active} ({variant['name']})" if active == "cython" and variant else active
    print(f"  active backend: {shown} ({reason})", file=out)
    for name, state in backends.items():
        print(f"  {name:7s}: {state}", file=out)
    if variant:
        print(f"  cpu variant: {variant['reason']}", file=out)
        print(f"  int8 word assignment: {info['int8_words']}", file=out)
    print(f"  face cascade: {info['face_cascade']}", file=out)
    return info


def _face_cascade(kernels: _typing.Any) -> str:
    from .face.detect import cascade_engine

    try:
        engine = cascade_engine()
    except Exception as exc:  # show_config must always print
        return f"unknown ({type(exc).__name__}: {exc})"
    return f"dlfers ({kernels.haar_path()})" if engine == "dlfers" else engine
