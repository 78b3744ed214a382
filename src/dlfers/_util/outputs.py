"""Output files that never destroy data: refuse inputs and existing files, write then rename.

Every file a command writes goes through here:

- :func:`check_output` refuses a path that is one of the command's inputs (compared by
  real path and :func:`os.path.samefile`, so links and ``./`` spellings are caught; even
  with ``overwrite``), a folder, and an existing file unless ``overwrite``.
- :func:`atomic_path` (for writers that open the file themselves, e.g. ``cv2.VideoWriter``)
  and :func:`atomic_open` (text or binary streams) hand out a temporary name in the
  destination's folder, keeping its suffix so that writers choosing a format by suffix
  still work, and rename it over the destination only when the ``with`` block ends without
  an exception.  A failed or interrupted write leaves the destination as it was and no
  temporary file behind.

Temporary names are unique per call (process id and a random token), so threads and
processes writing beside each other do not collide.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

from .files import replacing, temp_name

__all__ = ["same_file", "check_output", "check_outputs", "temp_name", "atomic_path", "atomic_open"]

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file: equal real paths, or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def check_output(path: PathLike, inputs: Iterable[PathLike] = (), overwrite: bool = False,
                 what: str = "output") -> Path:
    """Return ``path`` as a Path if a command may write it, else raise.

    Parameters
    ----------
    path : the file to be written.
    inputs : files (or folders) the command reads; ``path`` may never be one of them.
    overwrite : allow replacing an existing file (never an input, never a folder).
    what : the name of the output in messages ("annotated video", "log", ...).

    Raises
    ------
    ValueError
        If ``path`` is an input, or an existing folder.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    p = Path(path)
    for src in inputs:
        if same_file(p, src):
            raise ValueError(f"{p}: the {what} would overwrite the input {src}; choose another name")
    if p.is_dir():
        raise ValueError(f"{p}: the {what} is an existing folder; give a file name")
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise FileExistsError(f"{p}: the {what} already exists; "
                              "pass --overwrite to replace it (overwrite=True in Python)")
    return p


def check_outputs(outputs: Sequence[tuple[PathLike, str]], inputs: Iterable[PathLike] = (),
                  overwrite: bool = False) -> None:
    """:func:`check_output` for each ``(path, what)``, and refuse two outputs with one path."""
    ins = list(inputs)
    for i, (path, what) in enumerate(outputs):
        check_output(path, ins, overwrite, what)
        for other, other_what in outputs[:i]:
            if same_file(path, other):
                raise ValueError(f"{path}: the {what} and the {other_what} would be the same file")


@contextmanager
def atomic_path(path: PathLike, overwrite: bool = False, inputs: Iterable[PathLike] = (),
                what: str = "output") -> Iterator[Path]:
    """Yield a temporary path to write; rename it to ``path`` when the block succeeds.

    ``path`` is checked first (:func:`check_output`), and again just before the rename,
    so a file that appeared meanwhile is not replaced without ``overwrite``.  If the block
    raises, or wrote nothing, the temporary file is removed and ``path`` is left as it was.
    Missing parent folders are created.
    """
    ins = list(inputs)
    p = check_output(path, ins, overwrite, what)
    p.parent.mkdir(parents=True, exist_ok=True)
    with replacing(p, check=lambda: check_output(p, ins, overwrite, what)) as tmp:
        yield tmp


@contextmanager
def atomic_open(path: PathLike, mode: str = "w", overwrite: bool = False, inputs: Iterable[PathLike] = (),
                what: str = "output", **kwargs: Any) -> Iterator[IO[Any]]:
    """Open a temporary file for writing (``mode`` "w" or "wb"); rename it to ``path`` on success.

    ``kwargs`` go to :func:`open` (text mode defaults to UTF-8).  The stream is flushed
    and synced to disk before the rename.  See :func:`atomic_path`.
    """
    if mode not in ("w", "wb", "x", "xb"):
        raise ValueError(f"atomic_open writes a new file: mode must be 'w' or 'wb', got {mode!r}")
    if "b" not in mode:
        kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path, overwrite, inputs, what) as tmp:
        with open(tmp, mode.replace("x", "w"), **kwargs) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
