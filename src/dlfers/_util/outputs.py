"""Output files that never destroy data: refuse inputs and existing files, write then rename.

Every file a command writes goes through here:

- :func:`check_output` refuses a path that is one of the command's inputs (compared by
  real path and :func:`os.path.samefile`, so links and ``./`` spellings are caught), or any
  file under an input folder (even with ``overwrite``: it replaces earlier outputs, never
  inputs, and model files are inputs too), a folder, an existing file unless ``overwrite``,
  and a file whose folder cannot be written (said before any work starts, naming the output).
- :func:`check_output_dir` does the same for an output folder (``--out DIR``): never an input
  folder or inside one, never an existing file, and refused when it holds files the command
  would replace, unless ``overwrite``.
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

__all__ = ["same_file", "inside", "check_output", "check_outputs", "check_output_dir", "temp_name", "atomic_path",
           "atomic_open"]

PathLike = str | os.PathLike[str]


def same_file(a: PathLike, b: PathLike) -> bool:
    """Whether ``a`` and ``b`` name the same file: equal real paths, or the same inode."""
    if os.path.realpath(a) == os.path.realpath(b):
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def inside(path: PathLike, folder: PathLike) -> bool:
    """Whether ``path`` (existing or not) lies under the existing folder ``folder``, by real paths."""
    if not os.path.isdir(folder):
        return False
    return Path(os.path.realpath(path)).is_relative_to(os.path.realpath(folder))


def _writable_folder(p: Path, what: str) -> None:
    """Refuse ``p`` (a file or folder to be created) when its nearest existing folder cannot be written."""
    anc = p.parent if p.parent != Path("") else Path(".")
    while not anc.exists() and anc != anc.parent:
        anc = anc.parent
    if anc.exists() and not anc.is_dir():
        raise ValueError(f"{p}: cannot write the {what}: {anc} is a file, not a folder")
    if anc.exists():
        _probe(anc, p, what)


def _probe(folder: Path, p: Path, what: str) -> None:
    """Create and remove a hidden file in ``folder``: a read-only folder (or file system) is said now,
    naming the output, not after the work under the name of a temporary file."""
    probe = temp_name(folder / ".dlfers-write-probe")
    try:
        os.close(os.open(probe, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    except OSError as exc:
        raise ValueError(f"{p}: cannot write the {what}: the folder {folder} is not writable "
                         f"({exc.strerror or exc})") from None
    probe.unlink(missing_ok=True)


def _not_an_input(p: Path, inputs: Iterable[PathLike], what: str) -> None:
    for src in inputs:
        if same_file(p, src):
            raise ValueError(f"{p}: the {what} would overwrite the input {src}; choose another name")
        if inside(p, src):
            raise ValueError(f"{p}: the {what} would be written inside the input folder {src}; "
                             "choose a path outside it")


def check_output(path: PathLike, inputs: Iterable[PathLike] = (), overwrite: bool = False,
                 what: str = "output") -> Path:
    """Return ``path`` as a Path if a command may write it, else raise.

    Parameters
    ----------
    path : the file to be written.
    inputs : files (or folders) the command reads, model files included; ``path`` may never be
        one of them nor lie under one of the folders, even with ``overwrite``.
    overwrite : allow replacing an existing file (never an input, never a folder).
    what : the name of the output in messages ("annotated video", "log", ...).

    Raises
    ------
    ValueError
        If ``path`` is an input or under an input folder, a folder (or ends with a
        separator), or its folder cannot be written.
    FileExistsError
        If ``path`` exists and ``overwrite`` is False.
    """
    p = Path(path)
    _not_an_input(p, inputs, what)
    if p.is_dir():
        raise ValueError(f"{p}: the {what} is an existing folder; give a file name")
    if str(path).endswith((os.sep, "/")):
        raise ValueError(f"{path}: the {what} ends with a separator, so it names a folder; give a file name")
    if (p.exists() or p.is_symlink()) and not overwrite:
        raise FileExistsError(f"{p}: the {what} already exists; "
                              "pass --overwrite to replace it (overwrite=True in Python)")
    _writable_folder(p, what)
    return p


def check_output_dir(path: PathLike, files: Iterable[str] = (), inputs: Iterable[PathLike] = (),
                     overwrite: bool = False, what: str = "output folder") -> Path:
    """Return ``path`` as a Path if a command may write its files into it, else raise.

    Parameters
    ----------
    path : the output folder (created later if missing).
    files : names (or glob patterns) of the files the command writes into it.
    inputs : files and folders the command reads: the folder may not be one of them nor lie
        under one of the folders, even with ``overwrite``.
    overwrite : allow replacing files of ``files`` that the folder already holds.
    what : the name of the folder in messages.

    Raises
    ------
    ValueError
        ``path`` is an input, under an input folder, an existing file, or not writable.
    FileExistsError
        ``path`` holds some of ``files`` and ``overwrite`` is False.
    """
    p = Path(path)
    ins = list(inputs)
    for src in ins:
        if same_file(p, src) or inside(p, src):
            raise ValueError(f"{p}: the {what} is {'the' if same_file(p, src) else 'inside the'} input "
                             f"{'folder ' if os.path.isdir(src) else ''}{src}; choose a folder outside the inputs")
    if p.exists() and not p.is_dir():
        raise ValueError(f"{p}: the {what} is an existing file; give a folder")
    if p.is_dir():
        _probe(p, p, what)
        found = sorted({str(f) for pattern in files for f in p.glob(pattern) if f.is_file() or f.is_symlink()})
        for f in found:
            _not_an_input(Path(f), ins, "output")
        if found and not overwrite:
            more = f", and {len(found) - 1} more" if len(found) > 1 else ""
            raise FileExistsError(f"{p}: the {what} holds {len(found)} file(s) this command would replace "
                                  f"({Path(found[0]).name} exists{more}); pass --overwrite to replace them "
                                  "(overwrite=True in Python), or choose another folder")
    else:
        _writable_folder(p, what)
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
