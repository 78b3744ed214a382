"""Saving and loading fitted :class:`~dlfers.DLFERS` models without pickle.

File format (version 1)
-----------------------
A ZIP archive of ``.npy`` members, readable by ``numpy.load(path, allow_pickle=False)``
(an ``.npz``).  No member holds Python objects; loading never executes code.

``header.npy``
    1-D uint8 array: UTF-8 JSON object with

    - ``format``: ``"dlfers-model"``; ``format_version``: 1 (a reader refuses newer versions);
    - ``dlfers_version``: the package version that wrote the file;
    - ``params``: the full :meth:`DLFERS.get_params` configuration;
    - ``classes``: the class labels (for people; the model uses the ``classes`` array);
    - ``codebooks``: descriptor kinds, one ``codebook__<kind>`` array each;
    - ``svms``: list of ``{"name", "meta"}``, SVM ``i``'s arrays are ``svm<i>__<key>``
      (see :meth:`dlfers.model.classify.KernelSVC.get_state`), ``meta`` its scalars
      (kernel, C, fitted width ``gamma_``, ...);
    - ``texture_scales``: texture channel (``texture``: "lbp", "gabor") -> its weight, learned in
      ``fit``; files written before the Gabor channel, with the LBP channel alone, have ``texture_scale`` instead, and
      files with neither were written before texture channels existed (their ``texture`` is "none");
    - ``arrays``: name -> ``{"dtype", "shape"}`` of every other member;
    - ``checksum``: ``{"algorithm": "sha256", "value": hex}`` over the header JSON without
      ``checksum`` (sorted keys, compact separators), then every array in name order as
      ``name``, a NUL byte and its C-order bytes.

Arrays: ``classes`` (k,) labels (unicode, integer or boolean), ``codebook__<kind>``
(K, dim) float32, and per SVM ``support_vectors`` (n_SV, F) float32, ``support`` and
``n_support`` int64, ``ovo_coef`` (k-1, n_SV), ``ovo_intercept`` (k(k-1)/2,),
``calib_coef`` (k, k) and ``calib_intercept`` (k,) float64.

Every way a file can be unusable (missing, not a ZIP, truncated, wrong checksum,
newer format, inconsistent arrays, over :data:`MAX_MODEL_BYTES`) raises
:class:`ModelFileError` naming the file and the problem.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import zipfile
from pathlib import Path
from typing import IO, Any, Protocol

import numpy as np

from .._util.files import FileError, atomic_write, read_regular_file
from .._version import __version__

__all__ = ["FORMAT_NAME", "FORMAT_VERSION", "MAX_MODEL_BYTES", "ModelFileError", "read_model_file", "save"]


class Stateful(Protocol):
    """A fitted model that gives its state as JSON-able metadata and plain arrays (:meth:`DLFERS.to_state`)."""

    def to_state(self) -> tuple[dict[str, Any], dict[str, np.ndarray]]: ...

FORMAT_NAME = "dlfers-model"
FORMAT_VERSION = 1
#: largest model file (and total uncompressed arrays) :func:`load` accepts, in bytes
MAX_MODEL_BYTES = 2 * 1024**3
_HEADER = "header"
_MAX_MEMBERS = 1000
#: largest header member, in bytes (a real one is a few kB)
_MAX_HEADER_BYTES = 1 << 24
#: members may inflate to at most this many times the file's size, plus _INFLATE_SLACK bytes: a model's
#: float arrays compress by 1.3 or so, a decompression bomb by up to a thousand
_MAX_INFLATION = 64
_INFLATE_SLACK = 1 << 24
#: largest .npy header of a member (numpy's own reading limit is 10000)
_NPY_HEADER_BYTES = 10000 + 16
_MEMBER_NAME = re.compile(r"[A-Za-z0-9_]{1,200}\.npy")
_ARRAY_KINDS = "fiubU"


class ModelFileError(FileError):
    """A model file that cannot be loaded (or written); ``path`` names it, the message says why."""


# ----------------------------------------------------------------------------- writing
def _label_array(labels: Any, path: Path) -> np.ndarray:
    a = np.asarray(labels)
    if a.dtype == object and all(isinstance(v, str) for v in a.ravel()):
        a = a.astype(str)
    if a.dtype.kind not in "iubU":
        raise ModelFileError(path, f"cannot save class labels of dtype {a.dtype}: use strings or integers")
    return a


def _checksum(header: dict[str, Any], arrays: dict[str, np.ndarray]) -> str:
    h = hashlib.sha256()
    body = {k: v for k, v in header.items() if k != "checksum"}
    h.update(json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode())
    for name in sorted(arrays):
        h.update(name.encode() + b"\0")
        h.update(np.ascontiguousarray(arrays[name]).tobytes())
    return h.hexdigest()


def save(model: Stateful, path: str | os.PathLike[str]) -> None:
    """Write a fitted model to ``path`` (replaced atomically; see the module docstring).

    The model is read through its public state, :meth:`DLFERS.to_state`.  The file gets
    the permissions ``open()`` would give it (0644 under the usual umask 022).

    Parameters
    ----------
    model : Stateful
        A fitted model (a :class:`~dlfers.DLFERS`).
    path : str or os.PathLike
        The file to write.

    Raises
    ------
    sklearn.exceptions.NotFittedError
        If the model is not fitted.
    ModelFileError
        If a parameter or the class labels cannot be stored.
    """
    p = Path(path)
    meta, state = model.to_state()
    try:
        json.dumps(meta["params"])
    except TypeError as exc:
        raise ModelFileError(p, f"a model parameter cannot be stored: {exc}") from None
    arrays = {name: _label_array(a, p) if name == "classes" or name.endswith("__classes") else a
              for name, a in state.items()}
    header: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "dlfers_version": __version__,
        "params": meta["params"],
        "classes": arrays["classes"].tolist(),
        "codebooks": meta["codebooks"],
        "svms": meta["svms"],
        "n_features_in": meta["n_features_in"],
        "texture_scales": meta["texture_scales"],
        "arrays": {n: {"dtype": a.dtype.str, "shape": list(a.shape)} for n, a in arrays.items()},
    }
    if meta.get("provenance"):  # how the model was made (data, command, figures): shown by `dlfers config`
        try:
            json.dumps(meta["provenance"])
        except TypeError as exc:
            raise ModelFileError(p, f"the model's provenance cannot be stored: {exc}") from None
        header["provenance"] = meta["provenance"]
    header["checksum"] = {"algorithm": "sha256", "value": _checksum(header, arrays)}
    text = np.frombuffer(json.dumps(header, indent=1, ensure_ascii=False).encode("utf-8"), np.uint8)

    def write(f: IO[bytes]) -> None:
        with zipfile.ZipFile(f, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, arr in [(_HEADER, text), *arrays.items()]:
                with zf.open(name + ".npy", "w", force_zip64=arr.nbytes > 2**31) as m:
                    np.lib.format.write_array(m, arr, allow_pickle=False)

    atomic_write(p, write)


# ----------------------------------------------------------------------------- reading
def _read_npy(data: bytes, name: str) -> np.ndarray:
    """Parse one ``.npy`` member; no object dtypes, exact size, no allocation before the check."""
    f = io.BytesIO(data)
    version = np.lib.format.read_magic(f)
    if version == (1, 0):
        shape, fortran, dtype = np.lib.format.read_array_header_1_0(f, max_header_size=10000)
    elif version in ((2, 0), (3, 0)):
        shape, fortran, dtype = np.lib.format.read_array_header_2_0(f, max_header_size=10000)
    else:
        raise ValueError(f"unsupported .npy version {version}")
    if dtype.hasobject or dtype.kind not in _ARRAY_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise ValueError(f"array {name!r} has disallowed dtype {dtype}")
    count = math.prod(shape)
    body = data[f.tell():]
    if len(body) != count * dtype.itemsize:
        raise ValueError(f"array {name!r} should hold {count * dtype.itemsize} bytes, the member holds {len(body)}")
    arr = np.frombuffer(body, dtype=dtype, count=count).reshape(shape, order="F" if fortran else "C")
    return np.array(arr, order="C", copy=True)  # aligned, writable, C-ordered as the fitted arrays


def _declared_bytes(spec: Any) -> int | None:
    """Bytes of the array a header entry ``{"dtype", "shape"}`` declares, or None if it is malformed."""
    try:
        dtype = np.dtype(spec["dtype"])
        shape = spec["shape"]
        if dtype.hasobject or not isinstance(shape, list) or not all(
                isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape):
            return None
        return int(math.prod(shape)) * int(dtype.itemsize)
    except (TypeError, KeyError, ValueError):
        return None


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int) -> bytes:
    """A member's bytes, inflating at most ``limit + 1`` of them whatever its header says."""
    with zf.open(info) as f:
        data = f.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"member {info.filename!r} inflates to more than the {limit} bytes it may hold")
    return data


def _peek_arrays(header_member: bytes) -> Any:
    """The ``arrays`` entry of a header member's JSON, or None if it cannot be read (the full check follows)."""
    try:
        text = _read_npy(header_member, _HEADER)
        obj = json.loads(text.tobytes().decode("utf-8"))
        return obj.get("arrays") if isinstance(obj, dict) else None
    except Exception:  # noqa: BLE001 - a damaged header is reported by the full check
        return None


def _read_container(p: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """Header and arrays of a model file, checked against the header and the checksum.

    Before a member is inflated, its name and its uncompressed size (as the ZIP directory says and
    as the header's array list implies) are checked; inflation stops at that size.
    """
    try:
        data = read_regular_file(p, MAX_MODEL_BYTES)  # a FIFO or a device is refused before reading
    except FileNotFoundError:
        raise ModelFileError(p, "no such file") from None
    except IsADirectoryError:
        raise ModelFileError(p, "is a folder, not a model file") from None
    except FileError as exc:
        raise ModelFileError(p, "is a folder, not a model file" if "a folder" in exc.problem else exc.problem) from None
    except OSError as exc:
        raise ModelFileError(p, f"cannot read: {exc.strerror or exc}") from None
    if not data:
        raise ModelFileError(p, "file is empty (0 bytes)")
    if not data.startswith(b"PK\x03\x04"):
        raise ModelFileError(p, f"not a dlfers model file (no ZIP/.npz signature; starts with {data[:8]!r})")
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
        raise ModelFileError(p, f"truncated or corrupt model file ({len(data)} bytes): {exc}") from None
    budget = min(MAX_MODEL_BYTES, _MAX_INFLATION * len(data) + _INFLATE_SLACK)
    with zf:
        infos = zf.infolist()
        if len(infos) > _MAX_MEMBERS or sum(i.file_size for i in infos) > budget:
            raise ModelFileError(p, f"container declares too many or too large members ({len(infos)} members, "
                                 f"{sum(i.file_size for i in infos)} bytes uncompressed; at most {budget} for a "
                                 f"file of {len(data)} bytes)")
        bad = [i.filename for i in infos if not _MEMBER_NAME.fullmatch(i.filename)]
        if bad:
            raise ModelFileError(p, f"not a dlfers model file (unexpected member {bad[0][:80]!r})")
        members = {i.filename[:-4]: i for i in infos}
        if len(members) != len(infos):
            raise ModelFileError(p, "container holds a member twice")
        if _HEADER not in members:
            raise ModelFileError(p, "not a dlfers model file (a ZIP without header.npy)")
        raw: dict[str, bytes] = {}
        try:
            if members[_HEADER].file_size > _MAX_HEADER_BYTES:
                raise ValueError(f"header member of {members[_HEADER].file_size} bytes (at most {_MAX_HEADER_BYTES})")
            raw[_HEADER] = _read_member(zf, members[_HEADER], _MAX_HEADER_BYTES)
            peek = _peek_arrays(raw[_HEADER])
            for name, info in members.items():
                if name == _HEADER:
                    continue
                size = _declared_bytes(peek.get(name)) if isinstance(peek, dict) else None
                if size is None:  # not in the header's list: reported below, never inflated
                    continue
                limit = size + _NPY_HEADER_BYTES
                if info.file_size > limit:
                    raise ValueError(f"member {info.filename!r} declares {info.file_size} bytes, its array "
                                     f"{size} (+ a .npy header)")
                budget -= size
                if budget < 0:
                    raise ValueError("the arrays the header declares exceed the size limit for this file")
                raw[name] = _read_member(zf, info, limit)
        except ValueError as exc:
            raise ModelFileError(p, f"refused before inflating: {exc}") from None
        except Exception as exc:  # zipfile raises many types on damaged data (CRC, zlib, EOF, ...)
            raise ModelFileError(p, f"truncated or corrupt model file: {type(exc).__name__}: {exc}") from None
        raw.update({name: b"" for name in members if name not in raw})  # named in the check below
    try:
        text = _read_npy(raw.pop(_HEADER), _HEADER)
        if text.dtype != np.uint8 or text.ndim != 1:
            raise ValueError("header is not a 1-D uint8 array")
        header = json.loads(text.tobytes().decode("utf-8"))
        if not isinstance(header, dict):
            raise ValueError("header is not a JSON object")
    except Exception as exc:  # any damage to the header: numpy, UTF-8 and JSON errors
        raise ModelFileError(p, f"unreadable header: {type(exc).__name__}: {exc}") from None
    if header.get("format") != FORMAT_NAME:
        raise ModelFileError(p, f"not a dlfers model file (format {header.get('format')!r})")
    version = header.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ModelFileError(p, f"invalid format_version {version!r}")
    if version > FORMAT_VERSION:
        raise ModelFileError(
            p, f"written by dlfers {header.get('dlfers_version', '?')} in model format {version}; this dlfers "
            f"{__version__} reads formats up to {FORMAT_VERSION}: upgrade dlfers to load it"
        )
    declared = header.get("arrays")
    if not isinstance(declared, dict) or set(declared) != set(raw):
        got = sorted(raw)
        want = sorted(declared) if isinstance(declared, dict) else declared
        raise ModelFileError(p, f"arrays in the file {got} do not match the header's list {want}")
    arrays: dict[str, np.ndarray] = {}
    for name, spec in declared.items():
        try:
            arr = _read_npy(raw[name], name)
            if not isinstance(spec, dict) or arr.dtype.str != spec.get("dtype") or list(arr.shape) != spec.get("shape"):
                raise ValueError(f"array {name!r} is {arr.dtype.str}{list(arr.shape)}, the header says {spec}")
        except Exception as exc:  # malformed .npy member
            raise ModelFileError(p, f"bad array member: {type(exc).__name__}: {exc}") from None
        arrays[name] = arr
    check = header.get("checksum")
    if not isinstance(check, dict) or check.get("algorithm") != "sha256":
        raise ModelFileError(p, f"missing or unsupported checksum {check!r}")
    if check.get("value") != _checksum(header, arrays):
        raise ModelFileError(p, "checksum mismatch: the file is corrupt or was modified after saving")
    return header, arrays


def read_model_file(path: str | os.PathLike[str], known_params: Any) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The checked header and arrays of a model file, whose parameters are all in ``known_params``.

    Parameters
    ----------
    path : str or os.PathLike
        The model file.
    known_params : object
        Collection of str
        The parameter names this version knows.

    Returns
    -------
    meta : dict
        The checked header.
    arrays : dict of str to ndarray
        The arrays.

    Raises
    ------
    ModelFileError
        Missing, non-model, truncated, corrupt, modified or newer-format files, and files
        written with parameters this version does not know.
    """
    p = Path(path)
    header, arrays = _read_container(p)
    params = header.get("params")
    if isinstance(params, dict):
        unknown = sorted(set(params) - set(known_params))
        if unknown:
            raise ModelFileError(
                p, f"written by dlfers {header.get('dlfers_version', '?')} with parameters {unknown} that this "
                f"dlfers {__version__} does not know: upgrade dlfers to load it")
    return header, arrays
