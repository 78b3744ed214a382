"""Run independent tasks in order: serially, on local cores (joblib), or on a Dask cluster.

No scheduling of our own: local work goes to joblib's ``loky`` process pool (or threads),
and with a scheduler address to ``dask.distributed``.  Dask is imported only when a scheduler
address is given.  Results come back in task order, so whatever runs the tasks, the
caller assembles the same numbers.

Tasks are submitted lazily with a bounded number in flight (``max_pending``, default
twice the workers), so memory follows the work in flight, not the number of tasks.  A
task function must be a module-level function (pickled by reference); it is called as
``fn(*shared, *task)``.  ``shared`` holds the large arguments every task needs (features,
a model): Dask scatters them to every worker once; locally they go with each task, or,
unbounded (``max_pending=0``), through one ``joblib.Parallel`` call that memory-maps their
arrays (any above 16 KiB) once for every worker and task.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any

from .signals import worker_setup, worker_task
from .threads import one_thread_per_pool

__all__ = ["Executor", "usable_cores", "resolve_jobs", "batch_threads", "thread_map", "stop_workers"]


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity where the system says, else every core)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def resolve_jobs(n_jobs: int | None) -> int:
    """Worker count: ``n_jobs`` itself, capped at the usable cores (with a warning when asked for
    more: more workers than cores only add processes, memory and semaphores), or every usable core
    for -1, 0 or None."""
    import warnings

    cores = usable_cores()
    if n_jobs in (-1, 0, None):
        return cores
    n = int(n_jobs)  # type: ignore[arg-type]
    if n < -1:  # joblib's convention: -2 is all cores but one
        return max(1, cores + 1 + n)
    if n > cores:
        warnings.warn(f"n_jobs={n} asks for more workers than the {cores} usable cores; using {cores}",
                      RuntimeWarning, stacklevel=2)
        return cores
    return max(1, n)


def batch_threads(n_jobs: int | None, n_items: int) -> int:
    """Threads for a batch of ``n_items`` under an estimator's ``n_jobs`` (scikit-learn's
    convention: None or 1 serial, -1 every core, -2 all but one), never more than items."""
    return 1 if n_jobs is None or n_items < 2 else min(resolve_jobs(n_jobs), n_items)


def thread_map(fn: Callable[[Any], Any], items: Iterable[Any], threads: int) -> Iterator[Any]:
    """``fn(x) for x in items`` on ``threads`` threads of this process, results in order.

    For work that releases the GIL (the compiled kernels, OpenCV).  ``items`` is consumed
    as results are taken (at most 2 * threads ahead).  An item's exception is raised where
    the serial loop would raise it: at the first failing item in order.
    """
    return Executor(max(1, threads)).map(fn, ((x,) for x in items), prefer="threads")


def _limit_threads_in_worker() -> None:
    """One OpenCV thread in a worker process (BLAS/OpenMP limits are the task's own)."""
    import sys

    if "cv2" in sys.modules:
        sys.modules["cv2"].setNumThreads(1)


#: arrays larger than this (bytes) are memory-mapped into worker processes, not pickled
_MEMMAP_BYTES = 16384


def _in_worker(fn: Callable[..., Any], shared: Sequence[Any], task: Sequence[Any], parent: int | None = None) -> Any:
    """The task as run in a worker process: one thread per native pool; a local worker (``parent``:
    the pid of the process that started it) ends when its parent dies, and its SIGTERM cleans up."""
    if parent is not None:
        worker_setup(parent)
    _limit_threads_in_worker()
    with worker_task(), one_thread_per_pool():
        result = fn(*shared, *task)
    _limit_threads_in_worker()  # cv2 may have been imported by the task
    return result


class Executor:
    """Where tasks run: serially, on ``n_jobs`` local workers, or on the Dask cluster at ``scheduler``.

    Parameters
    ----------
    n_jobs : local workers (-1: every core; 1: serial, in this process).  Ignored with a
        scheduler: the cluster's workers run the tasks.
    scheduler : address of a running Dask scheduler (``tcp://host:8786``), or None.
    timeout : seconds to wait for the scheduler to answer and for a first worker.

    Use as a context manager; the Dask client (not the cluster) is closed on exit.
    """

    def __init__(self, n_jobs: int | None = -1, scheduler: str | None = None, timeout: float = 30.0) -> None:
        self.n_jobs = resolve_jobs(n_jobs)
        self.scheduler = scheduler or None
        self.timeout = float(timeout)
        self._client: Any = None

    def __enter__(self) -> Executor:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> Any:
        """The ``distributed.Client`` connected to ``scheduler`` (connects on first use)."""
        if self.scheduler is None:
            raise RuntimeError("no Dask scheduler address was given")
        if self._client is None:
            try:
                from distributed import Client
            except ImportError as exc:  # pragma: no cover - depends on the installation
                raise ValueError("a Dask scheduler needs dask.distributed: pip install 'dask[distributed]'") from exc
            try:
                self._client = Client(  # type: ignore[no-untyped-call]
                    self.scheduler, set_as_default=False, timeout=self.timeout)
            except OSError as exc:
                raise OSError(f"cannot connect to the Dask scheduler at {self.scheduler}: {exc}") from exc
            try:
                self._client.wait_for_workers(1, timeout=2 * self.timeout)
            except TimeoutError as exc:
                self.close()
                raise OSError(f"no worker joined the Dask scheduler at {self.scheduler} within "
                              f"{2 * self.timeout:g} s") from exc
        return self._client

    @property
    def workers(self) -> int:
        """Tasks that can run at once: the cluster's worker threads, else ``n_jobs``."""
        if self.scheduler is not None:
            return max(1, sum(self.client.nthreads().values()))
        return self.n_jobs

    @property
    def serial(self) -> bool:
        """Tasks run one after another in this process."""
        return self.scheduler is None and self.n_jobs == 1

    def describe(self) -> str:
        if self.scheduler is not None:
            return f"Dask cluster at {self.scheduler} ({self.workers} worker threads)"
        return "serial" if self.serial else f"{self.n_jobs} local workers"

    def map(
        self,
        fn: Callable[..., Any],
        tasks: Iterable[Sequence[Any]],
        shared: Sequence[Any] = (),
        prefer: str = "processes",
        max_pending: int | None = None,
    ) -> Iterator[Any]:
        """``fn(*shared, *task)`` for each task, yielded in task order.

        Parameters
        ----------
        fn : module-level function (sent to worker processes by reference).
        tasks : argument tuples; consumed lazily, at most ``max_pending`` ahead of the results.
        shared : arguments common to every task, sent to each worker once where possible.
        prefer : "processes" or "threads" for local workers (tasks that release the GIL and
            return large results are cheaper in threads); a cluster always uses its workers.
        max_pending : tasks submitted but not yet yielded (default: twice the workers);
            0 for no bound: the tasks go to one ``joblib.Parallel`` call, which memory-maps
            large arrays of ``shared`` for the workers once instead of sending them with
            every task (for a few tasks with small results, e.g. cross-validation folds).
        """
        if prefer not in ("processes", "threads"):
            raise ValueError(f"prefer must be 'processes' or 'threads', got {prefer!r}")
        shared = tuple(shared)
        if self.scheduler is not None:
            return self._map_dask(fn, tasks, shared, max_pending)
        if self.n_jobs == 1:
            return (fn(*shared, *task) for task in tasks)
        if max_pending == 0:
            return self._map_joblib(fn, tasks, shared, prefer)
        limit = max_pending or 2 * self.n_jobs
        if prefer == "threads":  # same process: thread limits are the caller's business
            return self._map_threads(fn, tasks, shared, limit)
        from joblib.executor import get_memmapping_executor

        # joblib's reusable loky pool (the one joblib.Parallel uses), arguments pickled with each task
        parent = os.getpid()
        pool = get_memmapping_executor(self.n_jobs, max_nbytes=None, initializer=worker_setup, initargs=(parent,))
        return _windowed(lambda t: pool.submit(_in_worker, fn, shared, t, parent), tasks, limit)

    def _map_threads(self, fn: Callable[..., Any], tasks: Iterable[Sequence[Any]], shared: tuple[Any, ...],
                     limit: int) -> Iterator[Any]:
        from concurrent.futures import ThreadPoolExecutor

        # OpenCV's first import is not thread-safe: threads importing it at once can see the module
        # before its submodules (cv2.data) are set ("module 'cv2' has no attribute 'data'"); import it here
        import cv2  # noqa: F401

        with ThreadPoolExecutor(self.n_jobs) as pool:
            yield from _windowed(lambda t: pool.submit(fn, *shared, *t), tasks, limit)

    def _map_joblib(self, fn: Callable[..., Any], tasks: Iterable[Sequence[Any]], shared: tuple[Any, ...],
                    prefer: str) -> Iterator[Any]:
        from joblib import Parallel, delayed

        if prefer == "threads":
            yield from Parallel(n_jobs=self.n_jobs, backend="threading", return_as="generator")(
                delayed(fn)(*shared, *t) for t in tasks)
            return
        # every array of the shared arguments above _MEMMAP_BYTES goes to one memory-mapped file
        # for all workers and tasks (joblib's default, 1 MB, left a face's descriptors, ~0.9 MB at
        # step 4, to be pickled into every task: a copy of all features per fold in flight)
        yield from Parallel(n_jobs=self.n_jobs, backend="loky", return_as="generator", max_nbytes=_MEMMAP_BYTES)(
            delayed(_in_worker)(fn, shared, t, os.getpid()) for t in tasks)

    def _map_dask(self, fn: Callable[..., Any], tasks: Iterable[Sequence[Any]], shared: tuple[Any, ...],
                  max_pending: int | None) -> Iterator[Any]:
        client = self.client
        handle = client.scatter([shared], broadcast=True, hash=False)[0] if shared else ()
        limit = max_pending or 2 * self.workers
        yield from _windowed(lambda t: client.submit(_in_worker, fn, handle, t, pure=False), tasks, limit)


def stop_workers(grace: float = 3.0) -> None:
    """Stop joblib's local worker processes (after Ctrl-C or SIGTERM): each gets a SIGTERM, which
    ends its task with its clean-up (temporary files removed), then whatever is left is killed."""
    import sys
    import time

    if "joblib.externals.loky.reusable_executor" not in sys.modules:
        return
    from joblib.externals.loky import reusable_executor

    ex = reusable_executor._executor
    if ex is None:
        return
    procs = list(getattr(ex, "_processes", {}).values())
    for p in procs:
        try:
            p.terminate()
        except (OSError, AttributeError):  # pragma: no cover - already gone
            pass
    deadline = time.monotonic() + grace
    for p in procs:
        p.join(max(0.0, deadline - time.monotonic()))
    ex.shutdown(wait=False, kill_workers=True)


def _windowed(submit: Callable[[tuple[Any, ...]], Any], tasks: Iterable[Sequence[Any]], limit: int
              ) -> Iterator[Any]:
    """Results of ``submit(task).result()`` in task order, with at most ``limit`` tasks submitted
    and not yet yielded; the rest of ``tasks`` is not consumed before it is needed."""
    it = iter(tasks)
    window: deque[Any] = deque()
    try:
        for task in it:
            window.append(submit(tuple(task)))
            if len(window) >= limit:
                break
        while window:
            result = window.popleft().result()
            for task in it:  # refill before handing the result over: the workers stay busy
                window.append(submit(tuple(task)))
                break
            yield result
    finally:
        for fut in window:
            fut.cancel()
        window.clear()
