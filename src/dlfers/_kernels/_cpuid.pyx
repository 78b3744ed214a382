# cython: boundscheck=False, wraparound=False
"""The CPU's features, for the choice between kernel variants (built with baseline flags only)."""

cdef extern from "_cpuid.h" nogil:
    int dlfers_cpu_features()
    int DLFERS_CPU_X86, DLFERS_CPU_AVX, DLFERS_CPU_FMA, DLFERS_CPU_AVX2, DLFERS_CPU_OS_YMM


def features():
    """Names of the CPU features the dispatcher uses that this CPU (and OS) supports.

    Returns
    -------
    frozenset of str, among ``"x86"``, ``"avx"``, ``"fma"``, ``"avx2"`` and ``"os_ymm"``
    (the operating system saves the AVX registers); empty on other architectures.
    """
    cdef int f = dlfers_cpu_features()
    names = (("x86", DLFERS_CPU_X86), ("avx", DLFERS_CPU_AVX), ("fma", DLFERS_CPU_FMA),
             ("avx2", DLFERS_CPU_AVX2), ("os_ymm", DLFERS_CPU_OS_YMM))
    return frozenset(name for name, bit in names if f & bit)
