"""Build the Cython kernels of dlfers.

``pip install .`` compiles ``src/dlfers/_kernels/*.pyx``.  Without a working
compiler the build falls back to a pure-Python install (the package then uses its
Numba kernels, and ``dlfers.show_config()`` says why), unless
``DLFERS_STRICT_BUILD=1`` is set, as for wheels and CI, where a failed compile
is an error.
"""

import os
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

STRICT = os.environ.get("DLFERS_STRICT_BUILD", "") not in ("", "0")


def extensions():
    import numpy as np
    from Cython.Build import cythonize

    # -fno-math-errno lets sqrtf vectorise and -fno-trapping-math lets branch-free
    # selects between float expressions vectorise; neither changes any computed value
    # (unlike -ffast-math, which would reorder the float32 sums the tests compare).
    args = ["-O3", "-fno-math-errno", "-fno-trapping-math"] if sys.platform != "win32" else ["/O2"]
    exts = [
        Extension(
            f"dlfers._kernels.{name}",
            [f"src/dlfers/_kernels/{name}.pyx"],
            include_dirs=[np.get_include()],
            extra_compile_args=args,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for name in ("_gradients", "_descriptors", "_encode")
    ]
    return cythonize(exts, language_level=3, compiler_directives={"embedsignature": True})


class OptionalBuildExt(build_ext):
    """Build the extensions; a failure is fatal only with DLFERS_STRICT_BUILD=1."""

    def run(self):
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


try:
    ext_modules = extensions()
except Exception as exc:  # Cython or numpy unusable at build time
    if STRICT:
        raise
    print(f"WARNING: dlfers Cython kernels not built ({exc})")
    ext_modules = []

setup(ext_modules=ext_modules, cmdclass={"build_ext": OptionalBuildExt})
