"""Kernel backends and the choice between them.

Three implementations of one set of kernels (see ``_reference.py`` for the
definitions): ``cython`` (compiled extensions ``_gradients``, ``_descriptors``,
``_encode``, ``_histkernels``, ``_chi2``), ``numba`` (``_numba.py``) and ``numpy`` (``_reference.py``).
Every backend offers the functions of :class:`Kernels`, with the same arguments; each
fills a caller-allocated output in place.
The order of preference is an explicit ``backend=`` argument, then the
``DLFERS_BACKEND`` environment variable, then cython, numba, numpy.  Each backend
is loaded at most once, on first use; why one is unavailable is recorded and shown
by :func:`dlfers.show_config`.
"""

from __future__ import annotations

import importlib
import os
import threading
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

BACKENDS = ("cython", "numba", "numpy")
KERNELS = ("smooth", "orientation_blocks", "assemble_descriptors", "encode", "intersection", "chi2")

#: the compiled extension modules (setup.py builds one per name)
_CYTHON_MODULES = ("_gradients", "_descriptors", "_encode", "_histkernels", "_chi2")


class Kernels(Protocol):
    """What every backend namespace provides (``_reference.py`` holds the definitions).

    Inputs are C-contiguous and already validated by the Python wrappers; each kernel
    writes its (caller-allocated) output in place and returns None.
    """

    def smooth(self, img: np.ndarray, taps: np.ndarray, out: np.ndarray) -> None:
        """Separable Gaussian: (H, W) float32 image, (2r+1,) float32 taps -> (H, W) float32."""

    def orientation_blocks(self, img: np.ndarray, nbins: int, signed: bool, block: int, out: np.ndarray) -> None:
        """Gradient magnitude per orientation bin summed over block x block cells -> (H/b, W/b, nbins) float32."""

    def assemble_descriptors(self, blocks: np.ndarray, cell_blocks: int, step_blocks: int, clip: float,
                             out: np.ndarray) -> None:
        """4x4 cells per grid point, normalised, clipped, renormalised -> (N, 16·nbins) float32."""

    def encode(self, x: np.ndarray, codebook: np.ndarray, code_sqnorm: np.ndarray, regions: np.ndarray,
               labels_out: np.ndarray, hist_out: np.ndarray) -> None:
        """Nearest word (N,) int32 of (N, dim) float32 descriptors; counts added to (R, K) float32."""

    def intersection(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """Histogram-intersection Gram matrix of (n_a, F), (n_b, F) float32 -> (n_a, n_b) float64."""

    def chi2(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """χ² distances of (n_a, F), (n_b, F) float32 -> (n_a, n_b) float64."""

_loaded: dict[str, Any] = {}
_errors: dict[str, str] = {}
_auto: dict[str, str] = {}  # DLFERS_BACKEND value -> what 'auto' resolved to
_lock = threading.Lock()


def _load_cython() -> Any:
    mods = [importlib.import_module(f"dlfers._kernels.{m}") for m in _CYTHON_MODULES]
    return SimpleNamespace(**{k: getattr(m, k) for m in mods for k in KERNELS if hasattr(m, k)})


def _load_numba() -> Any:
    return importlib.import_module("dlfers._kernels._numba")


def _load_numpy() -> Any:
    return importlib.import_module("dlfers._kernels._reference")


_LOADERS = {"cython": _load_cython, "numba": _load_numba, "numpy": _load_numpy}


def load(name: str) -> Any | None:
    """Return the kernel namespace of backend ``name``, or None if it cannot load."""
    if name not in _LOADERS:
        raise ValueError(f"unknown backend {name!r}; available: {', '.join(BACKENDS)} or 'auto'")
    with _lock:
        if name in _loaded:
            return _loaded[name]
        if name in _errors:
            return None
        try:
            ns = _LOADERS[name]()
            missing = [k for k in KERNELS if not hasattr(ns, k)]
            if missing:
                raise ImportError(f"missing kernels {missing}")
        except Exception as exc:  # any failure to import or compile means 'unavailable'
            _errors[name] = f"{type(exc).__name__}: {exc}"
            return None
        _loaded[name] = ns
        return ns


def resolve(backend: str | None = "auto") -> str:
    """Name of the backend to use for ``backend`` ('auto', None or a backend name).

    Raises
    ------
    ValueError
        For an unknown name, or a named backend that cannot be loaded (with the reason).
    """
    if backend in (None, "auto"):
        raw = os.environ.get("DLFERS_BACKEND", "")
        auto = _auto.get(raw)  # per-frame calls: resolve 'auto' once per DLFERS_BACKEND value
        if auto is not None:
            return auto
        env = raw.strip().lower()
        if env and env != "auto":
            backend = env
        else:
            for name in BACKENDS:
                if load(name) is not None:
                    _auto[raw] = name
                    return name
            raise RuntimeError("no kernel backend could be loaded: " + repr(_errors))
    assert backend is not None
    if backend not in _LOADERS:
        raise ValueError(f"unknown backend {backend!r}; available: {', '.join(BACKENDS)} or 'auto'")
    if load(backend) is None:
        raise ValueError(f"backend {backend!r} is not available: {_errors[backend]}")
    return backend


def get(backend: str | None = "auto") -> Kernels:
    """Kernel namespace for ``backend`` (see :func:`resolve`)."""
    name = resolve(backend)
    ns: Kernels = _loaded[name]
    return ns


def status() -> dict[str, str]:
    """Availability of every backend: 'available' or the reason it is not."""
    out = {}
    for name in BACKENDS:
        out[name] = "available" if load(name) is not None else f"unavailable ({_errors[name]})"
    return out
