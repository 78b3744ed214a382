"""Data set folders: JAFFE and folder-per-class data sets, listed and loaded image by image.

Every image comes back as a 2-D uint8 gray array.  A file that cannot be used
raises :class:`ImageError`, which names the file and the problem; batch loaders
collect such errors per item instead of stopping.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .._util.progress import progress_bar
from ..image.read import IMAGE_SUFFIXES, ImageError, path_problem, read_image
from .subjects import compile_subject_pattern, subject_of

__all__ = [
    "EXPRESSIONS",
    "JAFFE_CODES",
    "Dataset",
    "ImageList",
    "load_jaffe",
    "load_folder",
    "load_dataset",
    "list_dataset",
    "default_data_dir",
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

_JAFFE_NAME = re.compile(r"^(?P<subject>[A-Z]{2})\.(?P<code>[A-Z]{2})\d*\.(?P<id>\d+)\.tiff?$", re.IGNORECASE)


@dataclass
class Dataset:
    """Images with their labels and subject ids.

    Attributes
    ----------
    images : list of (H, W) uint8 arrays.
    labels : ndarray
        (n,) str array of class names.
    subjects : ndarray
        (n,) str array of subject ids (from the file names; see :func:`load_folder`).
    paths : list of the source files.
    errors : list of ImageError, default=[]
        Files that could not be read (skipped).
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


@dataclass
class ImageList:
    """The items of a data set, listed without decoding any pixel.

    Attributes
    ----------
    names : (n,) file paths, or keys that ``read`` understands.
    labels : (n,) class names.
    subjects : (n,) subject ids.
    read : callable, default=read_image
        ``read(name) -> (H, W) uint8`` gray image, raising :class:`ImageError` for an
        unusable item; :func:`read_image` for files.  It must be picklable (a module-level
        function or an instance of a module-level class) to run in worker processes.
    fingerprints : list of str or None, default=None
        (n,) strings that change when an item's content may have (file size
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
    """(expression, subject) from a JAFFE file name ``SUBJECT.EXPRN.ID.tiff``, else None.

    Parameters
    ----------
    name : str
        A file name.

    Returns
    -------
    (str, str) or None
        (expression, subject).
    """
    m = _JAFFE_NAME.match(name)
    if not m or m.group("code").upper() not in JAFFE_CODES:
        return None
    return JAFFE_CODES[m.group("code").upper()], m.group("subject").upper()


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

    Parameters
    ----------
    path : str or os.PathLike
        The JAFFE folder.
    progress : bool, default=False
        Show a progress bar.

    Returns
    -------
    Dataset
        The images, labels and subjects.

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
    expression ``subject_pattern`` (see :func:`dlfers.data.subjects.subject_of`).

    Parameters
    ----------
    path : str or os.PathLike
        The data set's folder.
    progress : bool, default=False
        Show a progress bar.
    subject_pattern : str or re.Pattern or None, default=None
        Regular expression whose group gives the subject id in file names (None: the default
        rule, :func:`dlfers.data.subjects.subject_of`).

    Returns
    -------
    Dataset
        The images, labels and subjects.

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


def empty_class_folders(path: str | os.PathLike[str]) -> list[str]:
    """The class folders of a folder-per-class data set that hold no image file (skipped when it is loaded).

    Parameters
    ----------
    path : str or os.PathLike
        The data set folder.

    Returns
    -------
    list of str
        Their names; none for JAFFE or a missing folder.
    """
    root = Path(path)
    if not root.is_dir() or _is_jaffe(root):
        return []
    return [d.name for d in sorted(root.iterdir()) if d.is_dir() and not any(True for _ in _image_files(d))]


def duplicate_files(paths: Sequence[str]) -> list[list[str]]:
    """Groups of byte-identical files among ``paths`` (compared by size, then SHA-256), each sorted.

    A copy in a data set can land in a training fold and a test fold at once: cross-validation then
    scores it through the leak.

    Parameters
    ----------
    paths : sequence of str
        Files (unreadable ones are left out).

    Returns
    -------
    list of list of str
        Each group of two or more identical files.
    """
    import hashlib

    by_size: dict[int, list[str]] = {}
    for p in paths:
        try:
            st = os.stat(p)
        except OSError:
            continue
        if stat.S_ISREG(st.st_mode):  # a FIFO or a device is never opened here (it fails at reading, by name)
            by_size.setdefault(st.st_size, []).append(p)
    groups: dict[str, list[str]] = {}
    for same in by_size.values():
        if len(same) < 2:
            continue
        for p in same:
            try:
                h = hashlib.sha256()
                with open(p, "rb") as fh:
                    for chunk in iter(lambda: fh.read(1 << 20), b""):
                        h.update(chunk)
                digest = h.hexdigest()
            except OSError:
                continue
            groups.setdefault(digest, []).append(p)
    return sorted(sorted(g) for g in groups.values() if len(g) > 1)


def _is_jaffe(root: Path) -> bool:
    return root.is_dir() and any(jaffe_label(f.name) for f in root.iterdir())


def load_dataset(path: str | os.PathLike[str], progress: bool = False,
                 subject_pattern: str | re.Pattern[str] | None = None) -> Dataset:
    """Load JAFFE if the folder holds JAFFE-named files, else a folder-per-class set
    (``subject_pattern``: see :func:`load_folder`; JAFFE keeps its own naming rule).

    Parameters
    ----------
    path : str or os.PathLike
        The data set's folder.
    progress : bool, default=False
        Show a progress bar.
    subject_pattern : str or re.Pattern or None, default=None
        Regular expression whose group gives the subject id in file names (None: the default
        rule, :func:`dlfers.data.subjects.subject_of`).

    Returns
    -------
    Dataset
        The images, labels and subjects.
    """
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

    Parameters
    ----------
    path : str or os.PathLike
        The data set's folder.
    subject_pattern : str or re.Pattern or None, default=None
        Regular expression whose group gives the subject id in file names (None: the default
        rule, :func:`dlfers.data.subjects.subject_of`).

    Returns
    -------
    ImageList
        The items, no pixel read.

    Raises
    ------
    FileNotFoundError
        As :func:`load_dataset`.
    """
    root = Path(path)
    paths, labels, subjects = _list_jaffe(root) if _is_jaffe(root) else _list_folder(root, subject_pattern)
    return ImageList(paths, labels, subjects, read_image, [_fingerprint(p) for p in paths])
