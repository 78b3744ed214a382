"""One BLAS thread around the encoder's many small matrix products.

The encoder multiplies L2-sized tiles; a threaded BLAS gains nothing on them and its
threads spin against other work (parallel folds, other threads calling the model,
other processes): fitting JAFFE went from 2.5 s to 35 s with OpenBLAS's default 2
threads on a busy 2-core machine.

The limit is process-wide, so it is reference-counted across threads: the first block
to enter (count 0 -> 1) sets every loaded BLAS to one thread, and the last to leave
(count 1 -> 0) restores the previous counts.  Both happen under one lock, so no block
runs while another thread's exit has already restored a threaded BLAS.  A count that
someone else changed while the limit was held (e.g. ``threadpoolctl.threadpool_limits``
inside the block) is left as they set it.

threadpoolctl >= 3.8 lets only one "controlling" Python thread change a pthreads
OpenBLAS's count (the first to try; calls from any other thread are silently ignored),
so a limit entered from a worker thread would do nothing there.  The count is set here
through the controller's unguarded setter where it has one: the reference count under
``_lock`` already keeps threads from fighting over it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_ctl: Any = None
_lock = threading.Lock()
_depth = 0  # blocks currently inside the limit, in any thread
_saved: list[tuple[Any, int]] = []  # (BLAS controller, its count before the limit) while _depth > 0


def _controller() -> Any:
    """threadpoolctl's view of the loaded libraries, made once (after the kernels loaded their BLAS)."""
    global _ctl
    if _ctl is None:
        with _lock:
            if _ctl is None:
                from threadpoolctl import ThreadpoolController

                _ctl = ThreadpoolController()
    return _ctl


def _set(lib: Any, n: int) -> None:
    """Set ``lib``'s thread count from any thread (see the module docstring)."""
    getattr(lib, "_real_set_num_threads", lib.set_num_threads)(n)


def _acquire(ctl: Any) -> None:
    global _depth
    with _lock:
        if _depth == 0:  # set each BLAS directly: a few µs, where threadpoolctl's limit takes ~40
            for lib in ctl.lib_controllers:
                if lib.user_api == "blas":
                    n = lib.get_num_threads()
                    if n != 1:
                        _set(lib, 1)
                        _saved.append((lib, n))
        _depth += 1


def _release() -> None:
    global _depth
    with _lock:
        _depth -= 1
        if _depth == 0:
            for lib, n in _saved:
                if lib.get_num_threads() == 1:  # never overwrite a count someone set meanwhile
                    _set(lib, n)
            _saved.clear()


@contextmanager
def single_threaded_blas() -> Iterator[None]:
    """Limit every loaded BLAS to one thread inside the block (a few µs to enter).

    Thread safe and reentrant: blocks nest and overlap freely across threads; the
    limit holds from the first block's entry until the last block's exit, then each
    BLAS gets back the thread count it had before (unless another caller changed it
    in between, which is kept).
    """
    ctl = _controller()
    _acquire(ctl)
    try:
        yield
    finally:
        _release()


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
