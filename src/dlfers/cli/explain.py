"""``dlfers explain [MODEL] IMAGE... --out DIR``: why each face got its label, region by region.

Per face a PNG (the face and the fused eyes+mouth image with the predicted class's
evidence map, and the regions most for and against it) and a JSON file of the numbers
(:mod:`dlfers.explain.files`).  A file that fails gives an error and the others go on; the
exit code is 1 only when no file could be processed.  Existing outputs are kept unless
``--overwrite``.
"""

from __future__ import annotations

import argparse
from typing import Any

from ..image.read import MAX_IMAGE_PIXELS
from ._options import (
    add_detector_overrides,
    add_model_argument,
    add_progress_options,
    detector_overrides,
    load_model,
    model_input,
    positive_int,
    report_records,
    split_model,
)


def register(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    """Add the ``explain`` subcommand, its flags and its help to ``sub``.

    Parameters
    ----------
    sub : argparse._SubParsersAction
        The subparsers of the ``dlfers`` parser.
    """
    p = sub.add_parser(
        "explain",
        help="explain each face's expression: per-region evidence as a picture and numbers",
        description="For every face of the images, write OUT/<name>.face<i>.png (evidence map on the face and "
        "on the fused eyes+mouth image, top regions for and against the predicted class) and "
        "OUT/<name>.face<i>.json (every region's evidence for every class, the intercepts and the decision "
        "values they add up to). Needs a model with the intersection, chi2 or linear kernel. The map is "
        "evidence for the classifier's decision, not a measurement of facial muscles.",
    )
    p.add_argument("paths", metavar="[MODEL] IMAGE", nargs="+",
                   help="image files or folders, after an optional model file (or use --model)")
    add_model_argument(p)
    p.add_argument("--out", "-o", required=True, metavar="DIR", help="output folder (created)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    p.add_argument("--json", action="store_true", help="JSON lines on stdout: one record per file and face")
    p.add_argument("--top", type=positive_int, default=6, metavar="N",
                   help="regions for and against shown in each bar chart (default 6)")
    p.add_argument("--max-faces", type=positive_int, default=None, metavar="N",
                   help="explain only the N largest faces per image (default all)")
    p.add_argument("--max-pixels", type=positive_int, default=MAX_IMAGE_PIXELS,
                   help=f"refuse images over this many pixels, from the header (default {MAX_IMAGE_PIXELS})")
    add_detector_overrides(p)
    add_progress_options(p)
    p.set_defaults(func=run)


def _found(rec: dict[str, Any]) -> str:
    return f"face {rec['face']}  {rec['label']}  -> {rec['png']}, {rec['json']}"


def run(args: argparse.Namespace) -> int:
    """Run ``dlfers explain``.

    Parameters
    ----------
    args : argparse.Namespace
        The parsed command line.

    Returns
    -------
    int
        The exit status (0: success).
    """
    from ..explain.files import explain_files

    args.model, args.paths = split_model(args.model, args.paths)
    if not args.paths:
        raise SystemExit("dlfers explain: error: no image file or folder given")
    model = load_model(args.model)
    records = explain_files(model, args.paths, args.out, overwrite=args.overwrite, max_faces=args.max_faces,
                            top=args.top, max_pixels=args.max_pixels, model_path=model_input(args.model),
                            **detector_overrides(args))
    return report_records(records, args, _found, "explain", "explained")
