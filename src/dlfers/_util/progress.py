"""Progress bars (tqdm) that stay quiet when asked to or when stderr is not a terminal."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


def show_progress(requested: bool | None = None) -> bool:
    """Whether to draw progress bars: ``requested`` if given, else only when stderr is a terminal.

    A bar redraws itself with carriage returns; written to a log file or a pipe it leaves
    hundreds of partial lines, so without an explicit request (``--progress``) bars are
    shown on a terminal only.
    """
    if requested is not None:
        return bool(requested)
    isatty = getattr(sys.stderr, "isatty", None)
    try:
        return bool(isatty and isatty())
    except ValueError:  # a closed stream
        return False


def progress_bar(it: Iterable[T], desc: str = "", total: int | None = None, disable: bool = False) -> Iterable[T]:
    """Wrap ``it`` in a tqdm bar on stderr unless ``disable``."""
    if disable:
        return it
    from tqdm.auto import tqdm

    bar: Iterable[T] = tqdm(it, desc=desc, total=total, leave=False, dynamic_ncols=True)
    return bar


def progress_counter(total: int, desc: str = "", disable: bool = False) -> Any:
    """A tqdm bar to ``update()`` by hand (a no-op object if ``disable``)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, disable=disable, leave=False, dynamic_ncols=True)
