"""Subject ids of folder-per-class data sets, from the file names.

The default rule takes the file name up to its first ``_`` or ``.`` (``S010_004_17.png``
-> ``S010``); a user-given regular expression with one group (or a group named
``subject``) replaces it.  :func:`subject_summary` says what came out, so a user can check it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

import numpy as np

__all__ = ["DEFAULT_SUBJECT_RULE", "compile_subject_pattern", "subject_of", "subject_summary"]

#: how the default subject id is found (for reports)
DEFAULT_SUBJECT_RULE = "the file name up to its first '_' or '.'"


def compile_subject_pattern(pattern: str | re.Pattern[str] | None) -> re.Pattern[str] | None:
    """The compiled pattern (None: the default rule).

    Parameters
    ----------
    pattern : str or re.Pattern or None
        A regular expression with a group (None: the default rule).

    Returns
    -------
    re.Pattern or None
        The compiled pattern.

    Raises
    ------
    ValueError
        If ``pattern`` is not a valid regular expression or has no group.
    """
    if pattern is None or isinstance(pattern, re.Pattern):
        rx = pattern
    else:
        try:
            rx = re.compile(pattern)
        except re.error as exc:
            raise ValueError(f"subject pattern {pattern!r} is not a valid regular expression: {exc}") from None
    if rx is not None and rx.groups < 1:
        raise ValueError(f"subject pattern {rx.pattern!r} needs a group that captures the subject id, "
                         r"e.g. '^(S\d+)_' or '(?P<subject>[a-z]+)-'")
    return rx


def subject_of(name: str, pattern: re.Pattern[str] | None = None) -> str | None:
    """The subject id in file name ``name`` (no folder), or None when ``pattern`` does not match it.

    With a pattern: its group ``subject`` if it has one, else its first group, of the
    first match (``re.search``).  Without: :data:`DEFAULT_SUBJECT_RULE`.

    Parameters
    ----------
    name : str
        A file name without folder.
    pattern : re.Pattern or None, default=None
        A compiled pattern (None: the default rule).

    Returns
    -------
    str or None
        The subject id.
    """
    if pattern is None:
        return re.split(r"[_.]", name, maxsplit=1)[0]
    m = pattern.search(name)
    if m is None:
        return None
    sub = m.group("subject") if "subject" in pattern.groupindex else m.group(1)
    return sub or None


def subject_summary(subjects: Sequence[str] | np.ndarray, examples: int = 4) -> str:
    """``"118 subjects (2 to 15 images each), e.g. S010 (9), S011 (6), ..."``.

    Parameters
    ----------
    subjects : sequence of str
        Subject id of each image.
    examples : int, default=4
        How many subjects to name.

    Returns
    -------
    str
        One line.
    """
    counts = Counter(np.asarray(subjects).astype(str).tolist())
    if not counts:
        return "0 subjects"
    few = ", ".join(f"{s} ({n})" for s, n in sorted(counts.items())[:examples])
    more = ", ..." if len(counts) > examples else ""
    lo, hi = min(counts.values()), max(counts.values())
    each = f"{lo} images each" if lo == hi else f"{lo} to {hi} images each"
    return f"{len(counts)} subject{'s' if len(counts) != 1 else ''} ({each}), e.g. {few}{more}"
