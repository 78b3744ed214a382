"""Progress bars (tqdm) that stay quiet when asked to or when not on a terminal."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, TypeVar

T = TypeVar("T")


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
