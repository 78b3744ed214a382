"""numpydoc ``Parameters`` (and ``Returns``) sections for every public callable (issue 26).

Public: a function, class or method whose name has no leading underscore, defined in a module
none of whose dotted names has one (``dlfers._kernels``, ``dlfers._util`` and
``dlfers.cli._options`` are internal), and every name in ``dlfers.__all__``.  For each one:

- every parameter (``self``/``cls`` aside; ``*args``/``**kwargs`` with or without their stars)
  is named in its ``Parameters`` section, as ``name : type`` (a class's in its own docstring
  or its ``__init__``'s; for a dataclass or NamedTuple, whose parameters are its fields, its
  ``Attributes`` section may hold them instead);
- a parameter with a default says so on its type line (``default=...``, or ``optional``);
- a function or method annotated to return something other than None has a ``Returns``
  (or, for a generator, ``Yields``) section.

Exempt: callables with no parameter besides ``self``/``cls``, properties, ``typing.Protocol``
classes and their stubs, and classes that inherit their constructor (documented where defined).  The checker is
tested on small synthetic functions first, so that it is known to fail where it should.
"""

from __future__ import annotations

import dataclasses
import importlib
import inspect
import pkgutil
import re
import typing
from collections.abc import Callable, Iterator

import pytest

import dlfers

#: modules whose docstrings are not finished yet, skipped by the package test (none: dlfers.face.detect,
#: .haar and .align, rewritten by issue 28, the YuNet detector, are complete since it was merged)
PENDING: set[str] = set()

_HEADER = re.compile(r"^(?P<title>[A-Z][A-Za-z ]+)\n-{3,}\s*$", re.M)
_ENTRY = re.compile(r"^(?P<names>\*{0,2}\w+(?:\s*,\s*\*{0,2}\w+)*)\s*(?::\s*(?P<type>.*))?$")


def sections(doc: str) -> dict[str, str]:
    """The numpydoc sections of a cleaned docstring: title -> body."""
    heads = list(_HEADER.finditer(doc))
    return {m["title"].strip(): doc[m.end(): heads[i + 1].start() if i + 1 < len(heads) else len(doc)]
            for i, m in enumerate(heads)}


def documented(body: str) -> dict[str, str | None]:
    """The entries of a ``Parameters`` (or ``Attributes``) section: name -> type line (None: none)."""
    names: dict[str, str | None] = {}
    for line in body.splitlines():
        if not line.strip() or line[0].isspace():
            continue
        m = _ENTRY.match(line.rstrip())
        if m is None:
            continue
        for name in m["names"].split(","):
            names[name.strip().lstrip("*")] = m["type"]
    return names


def _returns_something(func: Callable[..., object]) -> bool:
    try:
        hints = typing.get_type_hints(func)
    except Exception:  # an annotation that does not resolve at run time: read the string
        ann = inspect.signature(func).return_annotation
        return ann not in (inspect.Signature.empty, None, "None")
    return "return" in hints and hints["return"] is not type(None)


def problems(obj: object, owner: type | None = None) -> list[str]:
    """What the docstring of ``obj`` (a function, method or class) lacks; [] when complete."""
    if owner is not None and getattr(owner, "_is_protocol", False):
        return []  # an interface's stub: documented by what implements it
    if inspect.isclass(obj):
        generated = dataclasses.is_dataclass(obj) or (issubclass(obj, tuple) and hasattr(obj, "_fields"))
        if getattr(obj, "_is_protocol", False) or not (generated or "__init__" in vars(obj)):
            return []  # a Protocol, or a constructor inherited (documented where it is defined)
        doc = inspect.getdoc(obj) or ""
        init = obj.__dict__.get("__init__")
        if init is not None and inspect.getdoc(init) and "Parameters" in sections(inspect.getdoc(init) or ""):
            doc = doc + "\n\n" + (inspect.getdoc(init) or "")
        try:
            params = list(inspect.signature(obj).parameters.values())
        except (TypeError, ValueError):
            return []
        func: Callable[..., object] | None = None
    else:
        func = obj  # type: ignore[assignment]
        doc = inspect.getdoc(obj) or ""
        params = list(inspect.signature(func).parameters.values())  # type: ignore[arg-type]
        if owner is not None and params and params[0].name in ("self", "cls") and not isinstance(
                owner.__dict__.get(func.__name__), staticmethod):  # type: ignore[union-attr]
            params = params[1:]
        generated = False
    params = [p for p in params if p.name not in ("self", "cls")]
    if not params:
        return []
    secs = sections(doc)
    entries = documented(secs.get("Parameters", ""))
    if generated:
        entries = {**documented(secs.get("Attributes", "")), **entries}
    out = []
    for p in params:
        if p.name not in entries:
            out.append(f"parameter {p.name!r} not in Parameters")
        elif not entries[p.name]:
            out.append(f"parameter {p.name!r} has no type")
        elif p.default is not inspect.Parameter.empty and not re.search(r"default|optional", entries[p.name] or ""):
            out.append(f"parameter {p.name!r} has a default its type line does not name")
    if func is not None and _returns_something(func) and not ({"Returns", "Yields"} & set(secs)):
        out.append("no Returns section")
    return out


def _is_public_module(name: str) -> bool:
    return not any(part.startswith("_") for part in name.split(".")[1:])


def public_modules() -> list[str]:
    names = ["dlfers"]
    for info in pkgutil.walk_packages(dlfers.__path__, "dlfers."):
        if _is_public_module(info.name):
            names.append(info.name)
    return sorted(names)


def public_callables() -> Iterator[tuple[str, str, object, type | None]]:
    """``(module, qualified name, object, owning class or None)`` of every public callable."""
    seen: set[int] = set()

    def walk(module: str, obj: object, qualname: str) -> Iterator[tuple[str, str, object, type | None]]:
        if id(obj) in seen:
            return
        seen.add(id(obj))
        yield module, qualname, obj, None
        if inspect.isclass(obj):
            for attr, member in vars(obj).items():
                if attr.startswith("_"):
                    continue
                if isinstance(member, (staticmethod, classmethod)):
                    member = member.__func__
                if inspect.isfunction(member):
                    yield module, f"{qualname}.{attr}", member, obj

    for name in public_modules():
        mod = importlib.import_module(name)
        for attr, obj in sorted(vars(mod).items()):
            if attr.startswith("_") or not (inspect.isfunction(obj) or inspect.isclass(obj)):
                continue
            if getattr(obj, "__module__", None) != name:
                continue  # imported: checked where it is defined
            yield from walk(name, obj, attr)
    for attr in dlfers.__all__:  # the public API, wherever it is defined
        obj = getattr(dlfers, attr)
        if inspect.isfunction(obj) or inspect.isclass(obj):
            yield from walk(obj.__module__, obj, attr)


def report() -> dict[str, list[str]]:
    """``"module.name"`` -> its problems, for every public callable with any (PENDING modules too)."""
    return {f"{m}.{q}": p for m, q, obj, owner in public_callables() if (p := problems(obj, owner))}


# ---------------------------------------------------------------------------------------- the checker


def _complete(image, step: int = 4, *, names=None, **options) -> int:
    """Synthetic.

    Parameters
    ----------
    image : ndarray of shape (h, w), dtype uint8
        A face.
    step : int, default=4
        Stride.
    names : list of str, optional
        Names.
    **options : dict
        More.

    Returns
    -------
    int
        Something.
    """
    return 0


def _missing_one(image, step: int = 4) -> int:
    """Synthetic.

    Parameters
    ----------
    image : ndarray of shape (h, w), dtype uint8
        A face.

    Returns
    -------
    int
        Something.
    """
    return 0


def _untyped_and_no_default(image, step: int = 4) -> None:
    """Synthetic.

    Parameters
    ----------
    image
        A face.
    step : int
        Stride.
    """


def _no_returns(image: object) -> int:
    """Synthetic.

    Parameters
    ----------
    image : object
        A face.
    """
    return 0


def _no_sections(image: object) -> None:
    """Synthetic: says what ``image`` is in prose only."""


class _Box:
    """Synthetic.

    Parameters
    ----------
    x : int
        Left.
    """

    def __init__(self, x: int, y: int) -> None:
        self.x, self.y = x, y

    def scaled(self, by: float) -> _Box:
        """Synthetic, no sections."""
        return self


@dataclasses.dataclass
class _Record:
    """Synthetic.

    Attributes
    ----------
    a : int
        A.
    b : str, default="x"
        B.
    """

    a: int
    b: str = "x"


def test_the_checker_passes_a_complete_docstring():
    assert problems(_complete) == []
    assert problems(_Record) == []


@pytest.mark.parametrize("func, expected", [
    (_missing_one, ["parameter 'step' not in Parameters"]),
    (_untyped_and_no_default, ["parameter 'image' has no type",
                               "parameter 'step' has a default its type line does not name"]),
    (_no_returns, ["no Returns section"]),
    (_no_sections, ["parameter 'image' not in Parameters"]),
])
def test_the_checker_fails_an_incomplete_docstring(func, expected):
    assert problems(func) == expected


def test_the_checker_reads_classes_and_methods():
    assert problems(_Box) == ["parameter 'y' not in Parameters"]
    assert problems(_Box.scaled, _Box) == ["parameter 'by' not in Parameters", "no Returns section"]


def test_the_walk_finds_the_public_api_and_skips_internal_modules():
    found = {f"{m}.{q}" for m, q, _, _ in public_callables()}
    assert "dlfers.model.estimator.DLFERS" in found
    assert "dlfers.model.estimator.DLFERS.fit" in found
    assert "dlfers.image.read.read_image" in found
    assert not any(".cli._options." in f or "dlfers._kernels" in f or "dlfers._util" in f for f in found)
    assert not any(f.rsplit(".", 1)[-1].startswith("_") for f in found)


# ---------------------------------------------------------------------------------------- the package


def test_every_public_callable_has_numpydoc_parameters_and_returns():
    missing = {name: p for name, p in report().items() if not any(name.startswith(m + ".") for m in PENDING)}
    assert not missing, "\n".join(f"{name}: {'; '.join(p)}" for name, p in sorted(missing.items()))


def test_the_pending_modules_still_exist():
    """The whitelist names real modules, so that it is emptied, not forgotten, after they are done."""
    for name in PENDING:
        importlib.import_module(name)
