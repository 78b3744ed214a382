"""Command-line options that say how data set folders are read: aliases, subjects, pre-cropped faces."""

from __future__ import annotations

import argparse
from typing import Any

from ..data.sources import PRECROPPED_SIDE


def add_dataset_options(parser: argparse.ArgumentParser) -> None:
    """``--alias``, ``--aliases``, ``--subject-pattern``, ``--precropped-side``."""
    g = parser.add_argument_group("data sets")
    g.add_argument("--alias", action="append", default=[], metavar="FROM=TO",
                   help="rename class FROM to TO in every data set (repeatable), on top of the built-in table "
                   "angry=anger, sadness=sad, happiness=happy, surprised=surprise; X=X undoes a built-in one")
    g.add_argument("--aliases", metavar="FILE.json", help='more aliases from a JSON object, e.g. {"mad": "anger"}')
    g.add_argument("--subject-pattern", metavar="REGEX",
                   help="regular expression whose group (or group named 'subject') is the subject id in the file "
                   "names of folder-per-class sets, e.g. '^(S[0-9]+)_' (default: the name up to its first '_' or "
                   "'.'; JAFFE keeps its own naming rule)")
    g.add_argument("--precropped-side", type=int, default=PRECROPPED_SIDE, metavar="PX",
                   help="a data set whose every image is at most PX pixels on its longer side is taken as "
                   f"pre-cropped faces, without face detection (default {PRECROPPED_SIDE}; 0: never)")


def input_files(args: argparse.Namespace, *more: Any) -> tuple[Any, ...]:
    """Every file and folder a data set command reads (``data``, ``--test-data``, ``--aliases``, ``--model``
    and ``more``): no output may be one of them or lie inside one of the folders."""
    found: list[Any] = []
    for name in ("data", "test_data", "aliases", "model"):
        v = getattr(args, name, None)
        if v:
            found += list(v) if isinstance(v, (list, tuple)) else [v]
    if getattr(args, "model", None) == "pretrained":  # the shipped file, never an output
        from ..model.pretrained import PRETRAINED_FILE

        found[found.index("pretrained")] = str(PRETRAINED_FILE)
    return (*found, *more)


def dataset_kwargs(args: argparse.Namespace) -> dict[str, Any]:
    """``aliases``, ``subject_pattern``, ``precropped_side`` for :func:`dlfers.data.sources.load_datasets`."""
    from ..data.labels import parse_alias, read_aliases
    from ..data.subjects import compile_subject_pattern

    aliases: dict[str, str] = read_aliases(args.aliases) if args.aliases else {}
    aliases.update(parse_alias(a) for a in args.alias)
    if args.precropped_side < 0:
        raise ValueError(f"--precropped-side must be >= 0, got {args.precropped_side}")
    return dict(aliases=aliases, subject_pattern=compile_subject_pattern(args.subject_pattern),
                precropped_side=args.precropped_side)
