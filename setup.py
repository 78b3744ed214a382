"""Build the Cython kernels of dlfers.

``pip install .`` (and ``python -m build``) compiles ``src/dlfers/_kernels/*.pyx``;
the ``.pyx`` files are translated to C at build time, so an sdist carries only them
and no generated C.  Without a working compiler (or without Cython) the build falls
back to a pure-Python install (the package then uses its Numba kernels, and
``dlfers.show_config()`` says why), unless ``DLFERS_STRICT_BUILD=1`` is set, as for
wheels and CI, where a failed compile is an error.
"""

import os
import platform
import shutil
import sys
from glob import glob

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

STRICT = os.environ.get("DLFERS_STRICT_BUILD", "") not in ("", "0")
# one extension per Cython kernel: src/dlfers/_kernels/<name>.pyx -> dlfers._kernels.<name>
HERE = os.path.dirname(os.path.abspath(__file__))
KERNELS = sorted(os.path.basename(p)[: -len(".pyx")] for p in glob(os.path.join(HERE, "src/dlfers/_kernels/*.pyx")))
HEADERS = sorted(os.path.relpath(p, HERE) for p in glob(os.path.join(HERE, "src/dlfers/_kernels/*.h")))
if STRICT and not KERNELS:
    sys.exit(f"DLFERS_STRICT_BUILD: no Cython sources under {HERE}/src/dlfers/_kernels")

# -fno-math-errno lets sqrtf vectorise and -fno-trapping-math lets branch-free
# selects between float expressions vectorise; neither changes any computed value
# (unlike -ffast-math, which would reorder the float32 sums the tests compare).
# -g0: no debug information in the shipped binaries (a quarter of the size).
# -ffp-contract=off: no a*b+c fused into one FMA where the baseline has FMA (arm64; GCC and
# Clang contract by default there), so that every build computes what the reference does
# (the LBP kernel's interpolated neighbours are scikit-image's to the bit); a no-op on the
# x86-64 baseline, which has no FMA.
if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
else:
    COMPILE_ARGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-ffp-contract=off", "-g0"]

# Runtime CPU dispatch (dlfers._kernels.select_variant): on x86-64 every kernel is built
# twice from the same .pyx, as dlfers._kernels.<name> with the baseline flags (SSE2, runs
# on any x86-64 CPU) and as dlfers._kernels.<name>_avx2 for AVX2+FMA CPUs.
# -ffp-contract=off keeps the compiler from fusing a*b+c into one FMA, so both variants
# compute bit-identical results (the FMA instructions stay available to the intrinsics
# and to the vectoriser elsewhere).  MSVC contracts nothing under its default /fp:precise.
# arm64 has NEON in its baseline: one build there.
VARIANT_SUFFIX = "_avx2"
# Kernels built in the baseline variant only (every other .pyx, present or future, gets
# both; dlfers._kernels._NO_AVX2_VARIANT must list the same kernels):
BASELINE_ONLY = {
    "_cpuid",  # the CPU feature probe itself must run on every CPU
}
if sys.platform == "win32":
    AVX2_ARGS = ["/arch:AVX2"]
else:
    AVX2_ARGS = ["-mavx2", "-mfma", "-ffp-contract=off"]


def _targets_x86_64():
    """True when the extensions are compiled for x86-64 (not cross-compiled for arm64)."""
    if "arm64" in os.environ.get("ARCHFLAGS", "") or "arm64" in os.environ.get("_PYTHON_HOST_PLATFORM", ""):
        return False  # macOS cross-compile to arm64 on an x86-64 host
    return platform.machine().lower() in ("x86_64", "amd64", "x64")


BUILD_AVX2 = _targets_x86_64() and os.environ.get("DLFERS_NO_AVX2_BUILD", "") in ("", "0")


def _extension(module, source):
    return Extension(
        f"dlfers._kernels.{module}",
        [source],
        include_dirs=["src/dlfers/_kernels"],  # hand-written C headers beside the .pyx
        depends=HEADERS,
        extra_compile_args=COMPILE_ARGS + (AVX2_ARGS if module.endswith(VARIANT_SUFFIX) else []),
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )


def extensions():
    """The extension modules, with their ``.pyx`` sources (cythonized in build_ext).

    A variant's source is a copy of its kernel's ``.pyx`` under ``build/`` named after the
    variant module (Cython names the module's init function after the file); it is
    written by :meth:`OptionalBuildExt.run`.
    """
    exts = [_extension(name, f"src/dlfers/_kernels/{name}.pyx") for name in KERNELS]
    if BUILD_AVX2:
        exts += [
            _extension(name + VARIANT_SUFFIX, os.path.join("build", "dlfers_variants", name + VARIANT_SUFFIX + ".pyx"))
            for name in KERNELS
            if name not in BASELINE_ONLY
        ]
    return exts


def _write_variant_sources(exts):
    """Copy each kernel's .pyx to its variant's source path (only when it changed)."""
    for ext in exts:
        src = ext.sources[0]
        if not ext.name.endswith(VARIANT_SUFFIX) or not src.endswith(".pyx"):
            continue
        kernel = os.path.basename(src)[: -len(VARIANT_SUFFIX + ".pyx")]
        original = os.path.join(HERE, "src", "dlfers", "_kernels", kernel + ".pyx")
        target = os.path.join(HERE, src)
        os.makedirs(os.path.dirname(target), exist_ok=True)
        with open(original, "rb") as f:
            text = f.read()
        if os.path.exists(target):
            with open(target, "rb") as f:
                if f.read() == text:
                    continue
        tmp = target + ".tmp"
        with open(tmp, "wb") as f:
            f.write(text)
        os.replace(tmp, target)
        shutil.copystat(original, target)  # its mtime: rebuilt exactly when the kernel changes


class OptionalBuildExt(build_ext):
    """Cythonize, then compile; a failure is fatal only with DLFERS_STRICT_BUILD=1."""

    def run(self):
        try:
            import numpy as np
            from Cython.Build import cythonize

            _write_variant_sources(self.extensions)
            for ext in self.extensions:
                if np.get_include() not in ext.include_dirs:
                    ext.include_dirs.append(np.get_include())
            # cythonize returns new Extension objects; keep setuptools' own (build_ext has
            # already prepared them) and take only the generated C sources
            cythonized = cythonize(
                self.extensions, language_level=3, compiler_directives={"embedsignature": True}
            )
            for ext, done in zip(self.extensions, cythonized):
                ext.sources = list(done.sources)
        except Exception as exc:  # Cython or numpy unusable at build time
            if STRICT:
                raise
            print(f"WARNING: dlfers Cython kernels not built ({exc}); Numba kernels will be used")
            return
        try:
            super().run()
        except Exception as exc:  # compiler missing or broken
            if STRICT:
                raise
            print(f"WARNING: dlfers Cython kernels not built ({exc}); Numba kernels will be used")

    def build_extension(self, ext):
        try:
            super().build_extension(ext)
        except Exception as exc:
            if STRICT:
                raise
            print(f"WARNING: could not build {ext.name} ({exc}); Numba kernels will be used")


setup(ext_modules=extensions(), cmdclass={"build_ext": OptionalBuildExt})
