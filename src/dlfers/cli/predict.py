"""``dlfers predict MODEL PATH...``: the expression of every face in images and folders.

Prints a table, or with ``--json`` one JSON object per line per file and face (schema
in :mod:`dlfers.predict.files`).  A file that fails gives an error record and the others go
on; the exit code is 1 only when no file could be processed.  The label of a face is the
most probable class of the probabilities printed with it.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..image.read import MAX_IMAGE_PIXELS
from ._options import (
    add_detector_overrides,
    add_jobs_option,
    add_model_argument,
    add_progress_options,
    detector_overrides,
    load_model,
    positive_int,
    report_records,
    split_model,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``predict`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "predict",
        help="predict the expression of the faces in images or folders",
        description="Predict with a saved model (from 'dlfers train'; default: the pretrained FER2013 model). "
        "Folders are searched recursively for image files. Exit code 1 only when no file could be processed.",
    )
    p.add_argument("paths", metavar="[MODEL] PATH", nargs="+",
                   help="image files or folders, after an optional model file (or use --model)")
    add_model_argument(p)
    p.add_argument("--json", action="store_true", help="JSON lines on stdout: one record per file and face")
    p.add_argument("--max-pixels", type=positive_int, default=MAX_IMAGE_PIXELS,
                   help=f"refuse images over this many pixels, from the header (default {MAX_IMAGE_PIXELS})")
    p.add_argument("--max-faces", type=positive_int, default=None, metavar="N",
                   help="classify only the N largest faces per image (N >= 1; default all)")
    add_detector_overrides(p)
    add_jobs_option(p, what="threads predicting files at once (-1: all cores, the default; 1: serial); "
                    "the output is the same, in the same order")
    add_progress_options(p)
    p.set_defaults(func=run)


def _found(rec: dict[str, Any]) -> str:
    p = rec["probabilities"][str(rec["label"])]
    return f"face {rec['face']} {tuple(rec['box'])}  {rec['label']} ({p:.2f})"


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers predict``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from ..predict.files import predict_files

    args.model, args.paths = split_model(args.model, args.paths)
    if not args.paths:
        raise SystemExit("dlfers predict: error: no image file or folder given")
    model = load_model(args.model)
    records = predict_files(model, args.paths, max_pixels=args.max_pixels, max_faces=args.max_faces,
                            **detector_overrides(args), n_jobs=args.jobs)
    return report_records(records, args, _found, "predict", "processed")
