"""Image loading: JAFFE, folder-per-class data sets, and robust single-image reads.

Every image comes back as a 2-D uint8 gray array.  A file that cannot be used
raises :class:`ImageError`, which names the file and the problem; batch loaders
collect such errors per item instead of stopping.
"""

from __future__ import annotations

import errno
import os
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ._io import FileError

__all__ = [
    "EXPRESSIONS",
    "JAFFE_CODES",
    "Dataset",
    "ImageError",
    "ImageList",
    "IMAGE_SUFFIXES",
    "load_jaffe",
    "load_folder",
    "load_dataset",
    "list_dataset",
    "read_image",
    "to_gray_uint8",
    "default_data_dir",
    "path_problem",
]

#: JAFFE expression codes and the class names used throughout dlfers.
JAFFE_CODES = {
    "HA": "happy",
    "SA": "sad",
    "SU": "surprise",
    "DI": "disgust",
    "FE": "fear",
    "AN": "anger",
    "NE": "neutral",
}
#: class order used in reports (the paper's table order).
EXPRESSIONS = ("happy", "sad", "surprise", "disgust", "fear", "anger", "neutral")

IMAGE_SUFFIXES = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp", ".pgm", ".ppm", ".webp")
_JAFFE_NAME = re.compile(r"^(?P<subject>[A-Z]{2})\.(?P<code>[A-Z]{2})\d*\.(?P<id>\d+)\.tiff?$", re.IGNORECASE)

#: default limit on decoded pixels (width x height) of one input image
MAX_IMAGE_PIXELS = 64_000_000


class ImageError(FileError):
    """An input image that cannot be used; ``path`` names it and the message says why."""


@dataclass
class Dataset:
    """Images with their labels and subject ids.

    Attributes
    ----------
    images : list of (H, W) uint8 arrays.
    labels : (n,) str array of class names.
    subjects : (n,) str array of subject ids (from the file names; see :func:`load_folder`).
    paths : list of the source files.
    errors : list of ImageError for files that could not be read (skipped).
    """

    images: list[np.ndarray]
    labels: np.ndarray
    subjects: np.ndarray
    paths: list[str]
    errors: list[ImageError] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.images)


def default_data_dir() -> Path:
    """``$DLFERS_DATA`` if set, else ``../shared/data`` beside the current project root."""
    env = os.environ.get("DLFERS_DATA")
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[3] / ".." / "shared" / "data"


def to_gray_uint8(img: np.ndarray, path: str | os.PathLike[str] | None = None) -> np.ndarray:
    """Convert a decoded image array to 2-D uint8 gray.

    Accepts gray (H, W), BGR (H, W, 3), BGRA (H, W, 4) and (H, W, 1); uint8, uint16
    (scaled by 255/65535), and float images in [0, 1] or [0, 255].

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


def read_image(path: str | os.PathLike[str], max_pixels: int = MAX_IMAGE_PIXELS) -> np.ndarray:
    """Read an image file as a 2-D uint8 gray array.

    Palette, RGB(A), 16-bit and gray files are converted.  The pixel count is checked
    from the file header before the pixels are decoded where the format allows.

    Raises
    ------
    ImageError
        Missing, empty, unreadable, corrupt or truncated files, non-images, and
        images over ``max_pixels`` pixels; the message names the file.
    """

    p = Path(path)
    if not p.exists():
        problem = path_problem(p)
        raise ImageError(p, "file does not exist" if problem is None or problem.startswith("no such") else problem)
    if p.is_dir():
        raise ImageError(p, "is a directory, not an image file")
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageError(p, f"cannot read file ({exc.strerror or exc})") from exc
    if not data:
        raise ImageError(p, "file is empty (0 bytes)")
    from ._imageheader import image_format, image_size

    size = image_size(data)
    if size is not None and size[0] * size[1] > max_pixels:
        raise ImageError(p, f"image of {size[0]}x{size[1]} pixels exceeds the limit of {max_pixels} pixels")
    img = _decode(np.frombuffer(data, np.uint8))
    if img is None:
        fmt = image_format(data)
        kind = "not a recognised image format" if fmt is None else f"corrupt or truncated {fmt} data"
        raise ImageError(p, f"cannot decode: {kind} ({len(data)} bytes)")
    if img.ndim >= 2 and img.shape[0] * img.shape[1] > max_pixels:
        raise ImageError(p, f"image of {img.shape[1]}x{img.shape[0]} pixels exceeds the limit of {max_pixels}")
    return to_gray_uint8(img, p)


@dataclass
class ImageList:
    """The items of a data set, listed without decoding any pixel.

    Attributes
    ----------
    names : (n,) file paths, or keys that ``read`` understands.
    labels : (n,) class names.
    subjects : (n,) subject ids.
    read : ``read(name) -> (H, W) uint8`` gray image, raising :class:`ImageError` for an
        unusable item; :func:`read_image` for files.  It must be picklable (a module-level
        function or an instance of a module-level class) to run in worker processes.
    fingerprints : (n,) strings that change when an item's content may have (file size
        and modification time for files), or None.
    """

    names: list[str]
    labels: list[str]
    subjects: list[str]
    read: Callable[[str], np.ndarray] = read_image
    fingerprints: list[str] | None = None

    def __len__(self) -> int:
        return len(self.names)

    def __post_init__(self) -> None:
        if not (len(self.names) == len(self.labels) == len(self.subjects)):
            raise ValueError(f"{len(self.names)} names, {len(self.labels)} labels and "
                             f"{len(self.subjects)} subjects")
        if self.fingerprints is not None and len(self.fingerprints) != len(self.names):
            raise ValueError(f"{len(self.fingerprints)} fingerprints for {len(self.names)} names")


def _read_all(paths: Sequence[str], progress: bool) -> tuple[list[np.ndarray | None], list[ImageError]]:
    from .progress import progress_bar

    images: list[np.ndarray | None] = []
    errors: list[ImageError] = []
    for p in progress_bar(paths, desc="loading", disable=not progress):
        try:
            images.append(read_image(p))
        except ImageError as exc:
            images.append(None)
            errors.append(exc)
    return images, errors


def _collect(
    paths: list[str], labels: list[str], subjects: list[str], progress: bool
) -> Dataset:
    imgs, errors = _read_all(paths, progress)
    keep = [i for i, im in enumerate(imgs) if im is not None]
    return Dataset(
        images=[imgs[i] for i in keep],  # type: ignore[misc]
        labels=np.array([labels[i] for i in keep], dtype=object).astype(str),
        subjects=np.array([subjects[i] for i in keep], dtype=object).astype(str),
        paths=[paths[i] for i in keep],
        errors=errors,
    )


def jaffe_label(name: str) -> tuple[str, str] | None:
    """(expression, subject) from a JAFFE file name ``SUBJECT.EXPRN.ID.tiff``, else None."""
    m = _JAFFE_NAME.match(name)
    if not m or m.group("code").upper() not in JAFFE_CODES:
        return None
    return JAFFE_CODES[m.group("code").upper()], m.group("subject").upper()


def path_problem(path: str | os.PathLike[str]) -> str | None:
    """Why ``path`` cannot be opened ("symlink loop ...", "no such file or folder", ...), or None.

    A symbolic link that points back to itself (directly or through other links) is
    named as such, not reported as a missing file.
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


def _check_folder(root: Path) -> None:
    if not root.is_dir():
        problem = path_problem(root)
        if problem is None or problem.startswith("no such"):
            raise FileNotFoundError(f"{root}: not a folder" + (f" ({problem})" if problem else ""))
        raise FileNotFoundError(f"{root}: {problem}")


def _list_jaffe(root: Path) -> tuple[list[str], list[str], list[str]]:
    _check_folder(root)
    paths, labels, subjects = [], [], []
    for f in sorted(root.iterdir()):
        lab = jaffe_label(f.name)
        if lab is None:
            continue
        paths.append(str(f))
        labels.append(lab[0])
        subjects.append(lab[1])
    if not paths:
        raise FileNotFoundError(f"{root}: no JAFFE files (SUBJECT.EXPRN.ID.tiff) found")
    return paths, labels, subjects


def load_jaffe(path: str | os.PathLike[str], progress: bool = False) -> Dataset:
    """Load JAFFE: 213 gray images, labels from the file names, subject ids.

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder or holds no JAFFE-named files.
    """
    return _collect(*_list_jaffe(Path(path)), progress)


def _image_files(folder: Path) -> Iterable[Path]:
    return sorted(f for f in folder.iterdir() if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES)


def load_folder(path: str | os.PathLike[str], progress: bool = False,
                subject_pattern: str | re.Pattern[str] | None = None) -> Dataset:
    """Load a folder-per-class data set: ``path/<class>/<image>``.

    The subject id of an image is its file name's stem up to the first '_' or '.'
    (so ``anna_01.png`` belongs to subject ``anna``), or the group of the regular
    expression ``subject_pattern`` (see :func:`dlfers.subjects.subject_of`).

    Raises
    ------
    FileNotFoundError
        If ``path`` is not a folder or has no class folders with images.
    ValueError
        If ``subject_pattern`` is invalid or does not match some file names (named).
    """
    return _collect(*_list_folder(Path(path), subject_pattern), progress)


def _list_folder(root: Path, subject_pattern: str | re.Pattern[str] | None = None
                 ) -> tuple[list[str], list[str], list[str]]:
    from .subjects import compile_subject_pattern, subject_of

    rx = compile_subject_pattern(subject_pattern)
    _check_folder(root)
    paths, labels, subjects, unmatched = [], [], [], []
    for cls in sorted(d for d in root.iterdir() if d.is_dir()):
        for f in _image_files(cls):
            sub = subject_of(f.name, rx)
            if sub is None:
                unmatched.append(str(f))
                continue
            paths.append(str(f))
            labels.append(cls.name)
            subjects.append(sub)
    if unmatched and rx is not None:
        raise ValueError(f"subject pattern {rx.pattern!r} does not match {len(unmatched)} file name(s) in {root}, "
                         f"e.g. {', '.join(unmatched[:3])}")
    if not paths:
        raise FileNotFoundError(f"{root}: no class folders with images found")
    return paths, labels, subjects


def _is_jaffe(root: Path) -> bool:
    return root.is_dir() and any(jaffe_label(f.name) for f in root.iterdir())


def load_dataset(path: str | os.PathLike[str], progress: bool = False,
                 subject_pattern: str | re.Pattern[str] | None = None) -> Dataset:
    """Load JAFFE if the folder holds JAFFE-named files, else a folder-per-class set
    (``subject_pattern``: see :func:`load_folder`; JAFFE keeps its own naming rule)."""
    root = Path(path)
    if _is_jaffe(root):
        return load_jaffe(root, progress)
    return load_folder(root, progress, subject_pattern)


def _fingerprint(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError:
        return "missing"
    return f"{st.st_size}:{st.st_mtime_ns}"


def list_dataset(path: str | os.PathLike[str], subject_pattern: str | re.Pattern[str] | None = None) -> ImageList:
    """The files of a data set as :func:`load_dataset` finds them, without reading any pixel.

    Labels and subjects come from the names (JAFFE) or the folders (folder per class);
    each file's fingerprint is its size and modification time.

    Raises
    ------
    FileNotFoundError
        As :func:`load_dataset`.
    """
    root = Path(path)
    paths, labels, subjects = _list_jaffe(root) if _is_jaffe(root) else _list_folder(root, subject_pattern)
    return ImageList(paths, labels, subjects, read_image, [_fingerprint(p) for p in paths])
