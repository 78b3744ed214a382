"""Build the Cython kernels of dlfers.

``pip install .`` (and ``python -m build``) compiles ``src/dlfers/_kernels/*.pyx``;
the ``.pyx`` files are translated to C at build time, so an sdist carries only them
and no generated C.  Without a working compiler (or without Cython) the build falls
back to a pure-Python install (the package then uses its Numba kernels, and
``dlfers.show_config()`` says why), unless ``DLFERS_STRICT_BUILD=1`` is set, as for
wheels and CI, where a failed compile is an error.
"""

import os
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
if sys.platform == "win32":
    COMPILE_ARGS = ["/O2"]
else:
    COMPILE_ARGS = ["-O3", "-fno-math-errno", "-fno-trapping-math", "-g0"]


def extensions():
    """The extension modules, with their ``.pyx`` sources (cythonized in build_ext)."""
    return [
        Extension(
            f"dlfers._kernels.{name}",
            [f"src/dlfers/_kernels/{name}.pyx"],
            include_dirs=["src/dlfers/_kernels"],  # hand-written C headers beside the .pyx
            depends=HEADERS,
            extra_compile_args=COMPILE_ARGS,
            define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
        )
        for name in KERNELS
    ]


class OptionalBuildExt(build_ext):
    """Cythonize, then compile; a failure is fatal only with DLFERS_STRICT_BUILD=1."""

    def run(self):
        try:
            import numpy as np
            from Cython.Build import cythonize

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
