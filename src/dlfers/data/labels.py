"""Label aliases: one class vocabulary for data sets that spell their classes differently.

JAFFE's codes map to ``happy, sad, surprise, disgust, fear, anger, neutral``
(:data:`dlfers.data.folders.JAFFE_CODES`); other data sets name their class folders
``angry``, ``sadness``, ``happiness``, ``surprised``...  :data:`DEFAULT_ALIASES` maps
those onto JAFFE's names so that data sets meet on one vocabulary; users extend the
table (``--alias FROM=TO``, ``--aliases FILE.json``, or a dict in Python).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

__all__ = ["DEFAULT_ALIASES", "alias_table", "parse_alias", "read_aliases", "apply_aliases"]

#: spelling -> class name used by dlfers (JAFFE's vocabulary); ``neutral`` and ``contempt`` stay as they are
DEFAULT_ALIASES: dict[str, str] = {
    "angry": "anger",
    "sadness": "sad",
    "happiness": "happy",
    "surprised": "surprise",
}


def parse_alias(text: str) -> tuple[str, str]:
    """``"FROM=TO"`` -> ``("FROM", "TO")``.

    Parameters
    ----------
    text : str
        ``FROM=TO``.

    Returns
    -------
    (str, str)
        (FROM, TO).

    Raises
    ------
    ValueError
        Without exactly one '=' or with an empty side.
    """
    parts = text.split("=")
    if len(parts) != 2 or not parts[0].strip() or not parts[1].strip():
        raise ValueError(f"an alias is FROM=TO, e.g. angry=anger; got {text!r}")
    return parts[0].strip(), parts[1].strip()


def read_aliases(path: str | os.PathLike[str]) -> dict[str, str]:
    """A JSON object ``{"FROM": "TO", ...}`` from ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        A JSON file.

    Returns
    -------
    dict of str to str
        The aliases.

    Raises
    ------
    ValueError
        If the file is not JSON or not an object of strings to strings (the message names the file).
    FileNotFoundError
        If the file does not exist.
    """
    p = Path(path)
    try:
        obj = json.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise FileNotFoundError(f"{p}: alias file does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ValueError(f"{p}: not a JSON file of aliases ({exc})") from None
    if not isinstance(obj, dict) or not all(isinstance(k, str) and isinstance(v, str) and k and v
                                            for k, v in obj.items()):
        raise ValueError(f'{p}: expected a JSON object of class names, e.g. {{"angry": "anger"}}')
    return dict(obj)


def alias_table(extra: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
                defaults: bool = True) -> dict[str, str]:
    """The alias table: :data:`DEFAULT_ALIASES` (if ``defaults``) updated by ``extra``.

    Keys are matched case-insensitively (stored lower-case).  Chains are followed
    (``mad -> angry -> anger`` gives ``mad -> anger``); an alias of a name to itself is dropped.

    Parameters
    ----------
    extra : mapping of str to str or iterable of tuple of (str, str) or None, default=None
        Aliases ``{from: to}`` (or (from, to) pairs) on top of the defaults.
    defaults : bool, default=True
        Start from :data:`DEFAULT_ALIASES` (False: only ``extra``).

    Returns
    -------
    dict of str to str
        Lower-case alias -> label.

    Raises
    ------
    ValueError
        For a cycle (``a -> b -> a``).
    """
    table = {k.lower(): v for k, v in DEFAULT_ALIASES.items()} if defaults else {}
    items = extra.items() if isinstance(extra, Mapping) else (extra or ())
    for k, v in items:
        table[str(k).lower()] = str(v)
    resolved: dict[str, str] = {}
    for k in table:
        seen = [k]
        v = table[k]
        while v.lower() in table and v.lower() != seen[-1]:
            if v.lower() in seen:
                raise ValueError("label aliases form a cycle: " + " -> ".join([*seen, v.lower()]))
            seen.append(v.lower())
            v = table[v.lower()]
        if v.lower() != k:
            resolved[k] = v
    return resolved


def apply_aliases(labels: Sequence[str] | np.ndarray, table: Mapping[str, str]) -> tuple[np.ndarray, dict[str, str]]:
    """``labels`` renamed by ``table`` (from :func:`alias_table`), and the renamings applied.

    Parameters
    ----------
    labels : sequence of str or ndarray of shape (n,)
        Class names.
    table : mapping of str to str
        An :func:`alias_table`.

    Returns
    -------
    labels : (n,) str array.
    applied : ``{original: new}`` for every original name that occurred and was renamed.
    """
    lab = np.asarray(labels).astype(str)
    applied: dict[str, str] = {}
    out = lab.copy()
    for name in np.unique(lab).tolist():
        new = table.get(name.lower())
        if new is not None and new != name:
            applied[name] = new
            out[lab == name] = new
    return out, applied
