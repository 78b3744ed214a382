"""Reading and checking images: a file or an array in, a 2-D uint8 gray array out.

Every image dlfers uses passes through here.  A file that cannot be used raises
:class:`ImageError`, which names the file and the problem: missing, a folder, empty,
unreadable, not an image, corrupt, or over ``max_pixels`` (checked from the header
before any pixel is decoded where the format allows).
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from pathlib import Path

import numpy as np

from .._util.files import FileError, read_regular_file
from .header import image_format, image_size, jpeg_truncated

__all__ = ["IMAGE_SUFFIXES", "MAX_IMAGE_PIXELS", "ImageError", "check_max_pixels", "path_problem", "read_image",
           "to_gray_uint8"]



IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".webp")


#: default limit on decoded pixels (width x height) of one input image
MAX_IMAGE_PIXELS = 64_000_000


class ImageError(FileError):
    """An input image that cannot be used; ``path`` names it and the message says why."""


def to_gray_uint8(img: np.ndarray, path: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Convert a decoded image array to 2-D uint8 gray.

    Accepts gray (H, W), BGR (H, W, 3), BGRA (H, W, 4) and (H, W, 1); uint8, uint16
    (scaled by 255/65535), and float images in [0, 1] or [0, 255].

    Parameters
    ----------
    img : ndarray
        A decoded image array.
    path : str or os.PathLike or None, default=None
        The file it came from, named in errors (None: none).

    Returns
    -------
    ndarray of shape (H, W), dtype uint8
        The gray image.

    Raises
    ------
    ImageError
        Empty, wrong number of channels or dimensions, unsupported dtype, non-finite values.
    """
    import cv2

    if not isinstance(img, np.ndarray):
        raise ImageError(path, f"expected a numpy array, got {type(img).__name__}")
    if img.size == 0:
        raise ImageError(path, f"empty image (shape {img.shape})")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[:, :, 0]
    if img.ndim == 3:
        if img.shape[2] not in (3, 4):
            raise ImageError(path, f"unsupported number of channels: {img.shape[2]} (expected 1, 3 or 4)")
        img = img[:, :, :3]
    elif img.ndim != 2:
        raise ImageError(path, f"expected a 2-D gray or 3-D colour image, got shape {img.shape}")
    if img.dtype == np.uint8:
        pass
    elif img.dtype == np.uint16:
        img = np.round(img.astype(np.float32) * (255.0 / 65535.0)).astype(np.uint8)
    elif img.dtype.kind == "f":
        if not np.isfinite(img).all():
            raise ImageError(path, "image contains NaN or infinite values")
        hi = float(img.max())
        scale = 255.0 if hi <= 1.0 else 1.0
        img = np.clip(img.astype(np.float32) * scale, 0, 255).round().astype(np.uint8)
    else:
        raise ImageError(path, f"unsupported dtype {img.dtype} (expected uint8, uint16 or float)")
    if img.ndim == 3:
        img = cv2.cvtColor(np.ascontiguousarray(img), cv2.COLOR_BGR2GRAY)
    return np.ascontiguousarray(img)


def _decode(buf: np.ndarray) -> np.ndarray | None:
    """cv2.imdecode without OpenCV's own error log on stderr (the caller reports errors)."""
    import cv2

    log = getattr(cv2, "utils", None) and getattr(cv2.utils, "logging", None)
    if log is None:
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    level = log.getLogLevel()
    log.setLogLevel(log.LOG_LEVEL_SILENT)
    try:
        return cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    finally:
        log.setLogLevel(level)


#: libjpeg's warnings for entropy-coded data that ends before the image does (the rest is filled grey)
_JPEG_DATA_MISSING = (b"premature end of data segment", b"Premature end of JPEG file")
_stderr_lock = threading.Lock()


def _decode_jpeg(buf: np.ndarray) -> tuple[np.ndarray | None, bool]:
    """:func:`_decode` of JPEG data, and whether libjpeg said that data were missing.

    libjpeg writes its warnings to the C ``stderr`` and OpenCV decodes on: the warning is the only
    sign of a file that ends inside its scan but has an end marker (cut and re-terminated, or
    padded).  File descriptor 2 is pointed at a temporary file for the decode (one decode at a
    time), and whatever else was written there meanwhile is copied back to the real stderr.
    """
    import tempfile

    with _stderr_lock, tempfile.TemporaryFile() as capture:
        sys.stderr.flush()
        saved = os.dup(2)
        try:
            os.dup2(capture.fileno(), 2)
            try:
                img = _decode(buf)
            finally:
                os.dup2(saved, 2)
        finally:
            os.close(saved)
        capture.seek(0)
        said = capture.read()
    missing = any(w in said for w in _JPEG_DATA_MISSING)
    rest = b"".join(line for line in said.splitlines(keepends=True)
                    if not line.startswith((b"Corrupt JPEG data", b"Premature end of JPEG", b"Invalid SOS")))
    if rest:
        os.write(2, rest)
    return img, missing


def read_image(path: str | os.PathLike[str], max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image file as a 2-D uint8 gray array.

    Palette, RGB(A), 16-bit and gray files are converted.  The pixel count is checked
    from the file header before the pixels are decoded where the format allows.

    Parameters
    ----------
    path : str or os.PathLike
        The image file.
    max_pixels : int, default=MAX_IMAGE_PIXELS (64 000 000)
        Largest allowed pixel count.

    Returns
    -------
    ndarray of shape (H, W), dtype uint8
        The gray image.

    Raises
    ------
    ImageError
        Missing, empty, unreadable, corrupt or truncated files, non-images, and
        images over ``max_pixels`` pixels; the message names the file.
    """

    p = Path(path)
    check_max_pixels(max_pixels)
    if not p.exists():
        problem = path_problem(p)
        raise ImageError(p, "file does not exist" if problem is None or problem.startswith("no such") else problem)
    if p.is_dir():
        raise ImageError(p, "is a directory, not an image file")
    try:
        data = read_regular_file(p)  # a FIFO or a device is refused before a byte is read
    except FileError as exc:
        raise ImageError(p, exc.problem) from None
    except OSError as exc:
        raise ImageError(p, f"cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageError(p, "file is empty (0 bytes)")
    size = image_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageError(p, f"image of {size[0]}x{size[1]} pixels exceeds the limit of {max_pixels} pixels")
    jpeg = image_format(data) == "JPEG"
    img, missing = _decode_jpeg(np.frombuffer(data, np.uint8)) if jpeg else (_decode(np.frombuffer(data, np.uint8)),
                                                                           False)
    if img is not None and jpeg and (missing or jpeg_truncated(data)):  # decoded in part, the rest grey
        raise ImageError(p, f"truncated or corrupt JPEG data: the scan ends before the image does ({len(data)} "
                         "bytes); only part of it decodes")
    if img is None:
        fmt = image_format(data)
        kind = "not a recognised image format" if fmt is None else f"corrupt or truncated {fmt} data"
        raise ImageError(p, f"cannot decode: {kind} ({len(data)} bytes)")
    if img.ndim >= 2 and img.shape[0] * img.shape[1] > max_pixels:
        raise ImageError(p, f"image of {img.shape[1]}x{img.shape[0]} pixels exceeds the limit of {max_pixels}")
    return to_gray_uint8(img, p)


def check_max_pixels(max_pixels: int) -> None:
    """ValueError naming ``max_pixels`` (``--max-pixels``) unless it is an integer >= 1.

    Parameters
    ----------
    max_pixels : int
        The largest image, in pixels, a command accepts.
    """
    if not isinstance(max_pixels, (int, np.integer)) or isinstance(max_pixels, bool) or max_pixels < 1:
        raise ValueError(f"max_pixels (--max-pixels) must be an integer >= 1 (pixels an image may have), "
                         f"got {max_pixels!r}")


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be opened ("symlink loop ...", "no such file or folder", ...), or None.

    A symbolic link that points back to itself (directly or through other links) is
    named as such, not reported as a missing file.

    Parameters
    ----------
    path : str or os.PathLike
        A file or folder path.

    Returns
    -------
    str or None
        The problem, or None.
    """
    try:
        os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symlink loop: the symbolic link leads back to itself; point it at a real file or folder"
        if exc.errno in (errno.ENOENT, errno.ENOTDIR):
            return "no such file or folder" + (" (a broken symbolic link)" if os.path.islink(path) else "")
        return f"cannot open ({exc.strerror or exc})"
    return None
