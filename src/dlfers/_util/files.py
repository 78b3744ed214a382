"""Small file utilities shared by every writer and reader: one error type, one atomic write, one JSON converter.

* :class:`FileError` ``(path, problem)`` is the base of :class:`dlfers.image.read.ImageError`
  and :class:`dlfers.model.file.ModelFileError`: the message names the file and says why.
* :func:`atomic_write` writes a file through a temporary name in the same folder, flushes
  and fsyncs it, then renames it into place, so a file that exists is complete.  The file
  gets the permissions ``open()`` would give it (``0o666`` less the umask, e.g. 0644 under
  the usual umask 022), not the 0600 of :func:`tempfile.mkstemp`.
* :func:`read_regular_file` reads a file only if it is a regular file (``stat.S_ISREG``, checked on
  the open descriptor before a byte is read): a FIFO would hang the reader and a device such as
  ``/dev/zero`` would fill the memory.  :func:`not_regular` says what else a path is.
* :func:`jsonable` is the ``default=`` of every ``json.dumps`` that may meet NumPy values.
"""

from __future__ import annotations

import os
import re
import secrets
import stat
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

import numpy as np

__all__ = ["FileError", "temp_name", "stale_temp_files", "replacing", "atomic_write", "not_regular",
           "read_regular_file", "jsonable"]


class FileError(ValueError):
    """A file that cannot be used; ``path`` names it (None for in-memory items), ``problem`` says why.

    The message is ``"<path>: <problem>"``, or just the problem without a path.
    """

    def __init__(self, path: str | os.PathLike[str] | None, problem: str) -> None:
        self.path = None if path is None else str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path else problem)


_TEMP = re.compile(r"\..+\.(\d+)-[0-9a-f]{8}\.tmp(\.[^.]*)?")


def stale_temp_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The temporary files (:func:`temp_name`) in ``folder`` whose writing process is gone: left by a
    run that was killed (SIGKILL, power loss) before it could remove them.  A live writer's are kept."""
    out = []
    for f in Path(folder).glob(".*.tmp*"):
        m = _TEMP.fullmatch(f.name)
        if m is None:
            continue
        pid = int(m.group(1))
        try:
            os.kill(pid, 0)
            alive = True
        except ProcessLookupError:
            alive = False
        except OSError:  # another user's live process
            alive = True
        if not alive:
            out.append(f)
    return out


def temp_name(path: str | os.PathLike[str]) -> Path:
    """A fresh temporary name beside ``path``: hidden, unique, keeping ``path``'s suffix (writers
    such as ``cv2.VideoWriter`` choose the format by it)."""
    p = Path(path)
    return p.with_name(f".{p.name}.{os.getpid()}-{secrets.token_hex(4)}.tmp{p.suffix}")


@contextmanager
def replacing(path: str | os.PathLike[str], check: Callable[[], Any] | None = None) -> Iterator[Path]:
    """Yield a temporary name beside ``path``; when the block succeeds and wrote that file,
    ``check()`` (if given) runs and the file is renamed over ``path``.

    The one place a finished output replaces its destination.  If the block (or ``check``)
    raises, or wrote nothing, the temporary file is removed and ``path`` is left as it was.
    """
    p = Path(path)
    tmp = temp_name(p)
    try:
        yield tmp
        if tmp.exists():
            if check is not None:
                check()
            os.replace(tmp, p)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write(path: str | os.PathLike[str], write: Callable[[IO[Any]], Any], mode: str = "wb") -> None:
    """Write ``path`` through a temporary file in its folder, fsync it, then rename it into place.

    Parameters
    ----------
    path : the file to (re)place; its folder is created if missing.
    write : called with the open temporary file (binary for ``mode="wb"``, text for ``"w"``).
    mode : ``"wb"`` or ``"w"`` (UTF-8 text).

    The temporary file is removed if ``write`` raises; ``path`` is then untouched.
    Permissions are those ``open(path, "w")`` would give a new file (0o666 less the umask).
    """
    if mode not in ("wb", "w"):
        raise ValueError(f"mode must be 'wb' or 'w', got {mode!r}")
    p = Path(path)
    p.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0) | getattr(os, "O_CLOEXEC", 0)
    with replacing(p) as tmp:
        fd = os.open(tmp, flags, 0o666)  # the kernel applies the umask, as for open()
        encoding = None if mode == "wb" else "utf-8"
        with os.fdopen(fd, mode, encoding=encoding) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"))


def not_regular(mode: int) -> str | None:
    """None for a regular file's ``st_mode``, else what the path is instead ("a named pipe (FIFO)", ...)."""
    if stat.S_ISREG(mode):
        return None
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_regular_file(path: str | os.PathLike[str], max_bytes: int | None = None) -> bytes:
    """The bytes of ``path``, if it is a regular file of at most ``max_bytes`` bytes.

    The file is opened without blocking (a FIFO does not wait for a writer) and checked with
    ``fstat`` on the open descriptor, so nothing is read from a FIFO, a device or a socket;
    at most ``max_bytes`` bytes are read even if the file grows meanwhile.

    Raises
    ------
    FileError
        Not a regular file, or over ``max_bytes``; the problem says which.
    OSError
        The file cannot be opened or read (missing, no permission, ...).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
                 | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        kind = not_regular(st.st_mode)
        if kind is not None:
            raise FileError(path, f"is {kind}, not a regular file; give a file")
        if max_bytes is not None and st.st_size > max_bytes:
            raise FileError(path, f"file of {st.st_size} bytes exceeds the limit of {max_bytes} bytes")
        if hasattr(os, "set_blocking"):
            os.set_blocking(fd, True)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, 1 << 24 if max_bytes is None else min(1 << 24, max_bytes + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if max_bytes is not None and total > max_bytes:
                raise FileError(path, f"file grew over the limit of {max_bytes} bytes while being read")
        return b"".join(chunks)
    finally:
        os.close(fd)


def jsonable(o: Any) -> Any:
    """``json.dumps(default=...)``: NumPy scalars and arrays as Python values, paths as strings.

    Raises
    ------
    TypeError
        For any other type (as ``json`` itself would).
    """
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, os.PathLike):
        return os.fspath(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")
