"""One BLAS thread around the encoder's many small matrix products.

The encoder multiplies L2-sized tiles; a threaded BLAS gains nothing on them and its
threads spin against other work (parallel folds, other processes): fitting JAFFE went
from 2.5 s to 35 s with OpenBLAS's default 2 threads on a busy 2-core machine.  The
limit is process-wide while it is held and restored on exit.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_ctl: Any = None
_lock = threading.Lock()
_depth = 0  # blocks currently inside the limit, in any thread


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit every loaded BLAS to one thread inside the block (a few µs to enter).

    Nested blocks (and blocks entered while another thread holds the limit) cost
    nothing: the limit is already in force, and the outermost block restores it.
    """
    global _ctl, _depth
    if _ctl is None:
        with _lock:
            if _ctl is None:
                from threadpoolctl import ThreadpoolController

                _ctl = ThreadpoolController()  # after the kernels loaded their BLAS
    with _lock:
        outer = _depth == 0
        _depth += 1
    restore: list[tuple[Any, int]] = []
    try:
        if outer:  # set and restore each BLAS directly: a few µs, where threadpoolctl's limit takes ~40
            for lib in _ctl.lib_controllers:
                if lib.user_api == "blas":
                    n = lib.get_num_threads()
                    if n != 1:
                        lib.set_num_threads(1)
                        restore.append((lib, n))
        yield
    finally:
        for lib, n in restore:
            lib.set_num_threads(n)
        with _lock:
            _depth -= 1


@contextmanager
def one_thread_per_pool() -> Iterator[None]:
    """Limit every native thread pool (BLAS and OpenMP) to one thread inside the block.

    For work that is itself parallel over folds or images (worker processes, fold
    threads): threads inside a task only oversubscribe the cores the other tasks use.
    The one place the package calls ``threadpoolctl.threadpool_limits(1)``.
    """
    from threadpoolctl import threadpool_limits

    with threadpool_limits(1):
        yield
