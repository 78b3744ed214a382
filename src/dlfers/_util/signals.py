"""Clean shutdown: SIGTERM handled as Ctrl-C, and worker processes that never outlive their parent.

- :class:`Terminated` is what a SIGTERM raises inside :func:`sigterm_as_interrupt`: a
  :class:`KeyboardInterrupt`, so every ``finally`` and ``with`` block that cleans up after
  Ctrl-C (temporary outputs, shards being written, worker pools) does the same after a
  ``kill`` or a service manager's stop.  The command line turns it into exit code 143
  (128 + SIGTERM), as a shell reports a process ended by SIGTERM.
- :func:`watch_parent`, run in a worker process, ends the worker when its parent is gone
  (killed with SIGKILL, or crashed): a worker then holds no pipe, semaphore or terminal of a
  dead command.  :func:`worker_setup` does both in a worker: its SIGTERM also raises
  :class:`Terminated`, so the task's own temporary files are removed before it exits.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

__all__ = ["Terminated", "sigterm_as_interrupt", "watch_parent", "worker_setup", "worker_task"]

#: seconds between two checks of a worker's parent
_POLL = 0.5
_watching = False
_watch_lock = threading.Lock()
_worker = False  # this process is a worker set up by worker_setup
_tasks = 0  # tasks running in this worker


class Terminated(KeyboardInterrupt):
    """Raised by a SIGTERM inside :func:`sigterm_as_interrupt` (or in a worker after :func:`worker_setup`)."""


def _raise_terminated(signum: int, frame: Any) -> None:
    if _worker and not _tasks:  # an idle worker has nothing to clean up
        os._exit(128 + signum)
    raise Terminated(f"terminated by signal {signum}")


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, a SIGTERM raises :class:`Terminated` in the main thread (elsewhere: no change)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def watch_parent(parent: int) -> None:
    """End this process (exit code 1) as soon as its parent ``parent`` is gone; once per process.

    Does nothing if ``parent`` is not this process's parent (e.g. a Dask worker under its nanny).
    """
    global _watching
    with _watch_lock:
        if _watching or os.getppid() != parent:
            return
        _watching = True

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(_POLL)
        os._exit(1)  # reparented: the parent died without stopping us

    threading.Thread(target=watch, name="dlfers-parent-watch", daemon=True).start()


def worker_setup(parent: int) -> None:
    """A worker process's start: :func:`watch_parent`, and SIGTERM raising :class:`Terminated` in a
    task run by :func:`worker_task` (an idle worker just exits)."""
    global _worker
    watch_parent(parent)
    if threading.current_thread() is threading.main_thread() and \
            signal.getsignal(signal.SIGTERM) is not _raise_terminated:
        _worker = True
        signal.signal(signal.SIGTERM, _raise_terminated)


@contextmanager
def worker_task() -> Iterator[None]:
    """A task in a worker process: a SIGTERM raises :class:`Terminated` inside it, the task's ``finally``
    and ``with`` blocks clean up, and the worker then exits (code 143) instead of taking the next task."""
    global _tasks
    _tasks += 1
    try:
        yield
    except Terminated:
        if _worker:
            os._exit(128 + signal.SIGTERM)
        raise
    finally:
        _tasks -= 1
