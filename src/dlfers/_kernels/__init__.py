"""Kernel backends and the choice between them.

Three implementations of one set of kernels (see ``_reference.py`` for the
definitions): ``cython`` (compiled extensions ``_gradients``, ``_descriptors``,
``_encode``, ``_histkernels``, ``_chi2``, ``_haar``, ``_lbp``, ``_gabor``), ``numba`` (``_numba.py``) and
``numpy`` (``_reference.py``).
Every backend offers the functions of :class:`Kernels`, with the same arguments; each
fills a caller-allocated output in place.
The order of preference is an explicit ``backend=`` argument, then the
``DLFERS_BACKEND`` environment variable, then cython, numba, numpy.  Each backend
is loaded at most once, on first use; why one is unavailable is recorded and shown
by :func:`dlfers.show_config`.

The cython backend comes in CPU variants (runtime dispatch): on x86-64 each kernel
extension (but those in ``_NO_AVX2_VARIANT``) is built twice from one ``.pyx``,
``_gradients`` with baseline flags (SSE2) and ``_gradients_avx2`` with AVX2+FMA (and FMA
contraction off, so both compute identical results).  :func:`select_variant` picks
one from the CPU's features, read by the small ``_cpuid`` extension (cpuid and xgetbv;
``/proc/cpuinfo`` flags on Linux if it is missing); ``DLFERS_CPU_BASELINE=1`` forces
the baseline.  The AVX2 modules are never imported on a CPU without AVX2, FMA and the
OS's YMM state.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import threading
from types import SimpleNamespace
from typing import Any, Protocol

import numpy as np

BACKENDS = ("cython", "numba", "numpy")
KERNELS = ("smooth", "orientation_blocks", "assemble_descriptors", "encode", "encode_soft", "encode_soft_q8",
           "intersection", "chi2", "region_sums", "haar_scan", "haar_scan_layers", "lbp_histograms",
           "gabor_energy")

#: the compiled extension modules (setup.py builds one per name)
_CYTHON_MODULES = ("_gradients", "_descriptors", "_encode", "_histkernels", "_chi2", "_haar", "_lbp", "_gabor")


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

    def encode_soft(self, x: np.ndarray, codebook: np.ndarray, code_sqnorm: np.ndarray, regions: np.ndarray,
                    beta: float, idx_out: np.ndarray, w_out: np.ndarray, hist_out: np.ndarray) -> None:
        """k nearest words (N, k) int32 and their weights (N, k) float32; weights added to (R, K) float32."""

    def encode_soft_q8(self, x: np.ndarray, cq: np.ndarray, csq: np.ndarray, regions: np.ndarray, beta: float,
                       idx_out: np.ndarray, w_out: np.ndarray, hist_out: np.ndarray) -> None:
        """``encode_soft`` on 7-bit integers: (N, dim) float32 in [0, 1], (K, 4·⌈dim/4⌉) uint8 words and
        their (K,) int32 squared norms; exact integer keys, so every backend selects the same words."""

    def intersection(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """Histogram-intersection Gram matrix of (n_a, F), (n_b, F) float32 -> (n_a, n_b) float64."""

    def chi2(self, a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
        """χ² distances of (n_a, F), (n_b, F) float32 -> (n_a, n_b) float64."""

    def region_sums(self, a: np.ndarray, b: np.ndarray, bounds: np.ndarray, op: int, out: np.ndarray) -> None:
        """Per-region additive-kernel sums of (n_a, F), (n_b, F) float32 over (G+1,) int64 bin
        bounds (op 0 min, 1 χ², 2 product) -> (n_a, n_b, G) float64 (explanations)."""

    def haar_scan(self, img: np.ndarray, win_w: int, win_h: int, ystep: int, ofs: np.ndarray, weights: np.ndarray,
                  thresholds: np.ndarray, shapes: np.ndarray, leaves: np.ndarray, stage_sizes: np.ndarray,
                  stage_thresholds: np.ndarray, sums: np.ndarray, squares: np.ndarray, out: np.ndarray) -> None:
        """One (h, w) uint8 pyramid layer through OpenCV's Haar cascade (stumps, alt2's trees): integral images into
        (h+1, stride) int32 ``sums`` / uint32 ``squares``, 1 in (ny, nx) uint8 ``out`` where OpenCV would
        accept the window (``dlfers.face.haar``)."""

    def haar_scan_layers(self, pyramid: np.ndarray, layers: np.ndarray, win_w: int, win_h: int, ofs: np.ndarray,
                         weights: np.ndarray, thresholds: np.ndarray, shapes: np.ndarray, leaves: np.ndarray,
                         stage_sizes: np.ndarray, stage_thresholds: np.ndarray, sums: np.ndarray,
                         squares: np.ndarray, out: np.ndarray) -> None:
        """``haar_scan`` on every layer of a (P,) uint8 pyramid described by (L, 6) int32 ``layers``, verdicts
        into (T,) uint8 ``out``: one call, so a compiled backend holds no GIL between layers."""

    def lbp_histograms(self, img: np.ndarray, cells: np.ndarray, out: np.ndarray) -> None:
        """Add the uniform-LBP counts of the interior pixels of an (H, W) float32 image to the rows of (C, 59)
        float32 ``out`` named by ((H-2)·(W-2),) int32 ``cells`` (-1: none; :mod:`dlfers.features.texture`)."""

    def gabor_energy(self, img: np.ndarray, taps: np.ndarray, stride: int, cell: int, out: np.ndarray) -> None:
        """Gabor energies: (n, n) float32 image, (F, 4, 2r+1) float32 taps -> (F, (n/cell)²) float32 cell means."""


#: suffix of the AVX2+FMA build of each compiled module (setup.py builds it on x86-64)
AVX2_SUFFIX = "_avx2"
#: the CPU features the AVX2 variant needs (names as ``_cpuid.features()`` gives them)
AVX2_NEEDS = frozenset({"avx2", "fma", "os_ymm"})
#: kernels without an AVX2 build (setup.py's BASELINE_ONLY): none today (the intersection
#: rows add in float64 since explanations must sum to the SVM's scores, and AVX converts
#: and adds four doubles at a time; the encoder's soft-assignment selection is element-wise)
_NO_AVX2_VARIANT: frozenset[str] = frozenset()
#: environment variable forcing the baseline variant
BASELINE_ENV = "DLFERS_CPU_BASELINE"

_loaded: dict[str, Any] = {}
_errors: dict[str, str] = {}
_auto: dict[str, str] = {}  # DLFERS_BACKEND value -> what 'auto' resolved to
_lock = threading.Lock()


_variant: dict[str, str] = {}  # the loaded cython variant: {"name": ..., "reason": ...}


def baseline_name(machine: str | None = None) -> str:
    """Name of the baseline variant on ``machine`` (default: this one)."""
    if machine is None:
        import platform  # here, not at import: 1-2 ms

        machine = platform.machine()
    m = machine.lower()
    if m in ("x86_64", "amd64", "x64"):
        return "baseline sse2"
    if m in ("arm64", "aarch64"):
        return "baseline neon"
    return "baseline"


def cpu_features() -> tuple[frozenset[str], str]:
    """This CPU's features as the dispatcher sees them, and where they were read.

    Returns
    -------
    (features, source): names among ``x86``, ``avx``, ``fma``, ``avx2``, ``os_ymm``;
    ``source`` is ``"cpuid"`` (the ``_cpuid`` extension), ``"/proc/cpuinfo"`` (Linux
    fallback, where the extension is missing) or ``"unknown"``.
    """
    try:
        from . import _cpuid  # type: ignore[attr-defined]

        return frozenset(_cpuid.features()), "cpuid"
    except ImportError:
        pass
    try:
        with open("/proc/cpuinfo", encoding="ascii", errors="replace") as f:
            for line in f:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    out = {"x86"} | ({"fma", "avx2"} & flags)
                    if "avx" in flags:  # Linux lists avx only where it enabled the YMM state
                        out |= {"avx", "os_ymm"}
                    return frozenset(out), "/proc/cpuinfo"
    except OSError:
        pass
    return frozenset(), "unknown"


def select_variant(features: frozenset[str], avx2_built: bool, force_baseline: str = "",
                   machine: str | None = None) -> tuple[str, str]:
    """Which build of the cython kernels to load, and why.

    Parameters
    ----------
    features : the CPU's features (:func:`cpu_features`).
    avx2_built : whether the AVX2 modules were built (x86-64 builds only).
    force_baseline : the value of ``DLFERS_CPU_BASELINE`` ("" or "0": not forced).
    machine : ``platform.machine()`` (for the baseline's name).

    Returns
    -------
    (suffix, reason): ``""`` for the baseline modules or :data:`AVX2_SUFFIX`.  The
    AVX2 suffix is returned only when every feature of :data:`AVX2_NEEDS` is present.
    """
    base = baseline_name(machine)
    if force_baseline.strip() not in ("", "0"):
        return "", f"{base}: forced by {BASELINE_ENV}={force_baseline.strip()}"
    missing = sorted(AVX2_NEEDS - features)
    if not avx2_built:
        return "", f"{base}: no AVX2 variant in this build (built only for x86-64)"
    if missing:
        return "", f"{base}: the CPU lacks {', '.join(missing)}"
    return AVX2_SUFFIX, "avx2+fma: the CPU has AVX2, FMA and the OS saves the YMM registers"


def _avx2_built() -> bool:
    return importlib.util.find_spec(f"dlfers._kernels.{_CYTHON_MODULES[0]}{AVX2_SUFFIX}") is not None


def _cython_path(kernel: str, reporter: str) -> str:
    """What the loaded cython module of ``kernel`` says its ``reporter()`` (e.g. "q8_path") is ("" if none)."""
    module = getattr(getattr(_loaded.get("cython"), kernel, None), "__module__", None)
    if module is None:
        return ""
    path: str = getattr(importlib.import_module(module), reporter)()
    return path


def q8_path() -> str:
    """The instructions the cython backend's int8 word assignment uses here: "avx512-vnni", "avx2" or "sgemm"
    ("" until the cython backend is loaded, or where it is unavailable).  ``DLFERS_NO_VNNI=1`` keeps it off VNNI."""
    return _cython_path("encode_soft_q8", "q8_path")


def haar_path() -> str:
    """How the cython backend's Haar cascade scan evaluates windows here: "avx2" or "c" ("" until the cython
    backend is loaded, or where it is unavailable)."""
    return _cython_path("haar_scan", "haar_path")


def variant() -> dict[str, str]:
    """The cython variant in use: ``{"name": "avx2+fma" | "baseline sse2" | ..., "reason": ...}``.

    Empty until the cython backend is loaded (see :func:`load`).
    """
    return dict(_variant)


def cython_variant(suffix: str) -> Any:
    """Kernel namespace of one build of the cython kernels (``""`` baseline, ``"_avx2"``).

    For tests and benchmarks comparing the variants; raises ImportError where that
    build is absent.  Importing the AVX2 build on a CPU without AVX2 is safe (nothing
    runs at import) but calling its kernels is not: check :func:`cpu_features` first.
    """
    mods = [importlib.import_module(f"dlfers._kernels.{m}{'' if m in _NO_AVX2_VARIANT else suffix}")
            for m in _CYTHON_MODULES]
    return SimpleNamespace(**{k: getattr(m, k) for m in mods for k in KERNELS if hasattr(m, k)})


def _load_cython() -> Any:
    features, source = cpu_features()
    suffix, reason = select_variant(features, _avx2_built(), os.environ.get(BASELINE_ENV, ""))
    if suffix:
        reason += f" (read by {source})"
    try:
        ns = cython_variant(suffix)
    except ImportError as exc:  # a partial build: the baseline still serves
        if not suffix:
            raise
        ns = cython_variant("")
        reason = f"{baseline_name()}: the AVX2 variant failed to import ({exc})"
    _variant.update(name=reason.split(":", 1)[0], reason=reason)
    return ns


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


def check_environment() -> None:
    """ValueError naming the ``DLFERS_BACKEND`` environment variable if it names no backend or one that
    cannot be loaded (a setting of the environment, not of a model or a call)."""
    raw = os.environ.get("DLFERS_BACKEND", "")
    env = raw.strip().lower()
    if not env or env == "auto":
        return
    if env not in _LOADERS:
        raise ValueError(f"the environment variable DLFERS_BACKEND={raw!r} names no kernel backend; set it to one "
                         f"of {', '.join(BACKENDS)} or auto, or unset it")
    if load(env) is None:
        raise ValueError(f"the environment variable DLFERS_BACKEND={raw!r} asks for a backend that is not "
                         f"available: {_errors[env]}; set it to another one or unset it")


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
            check_environment()
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
